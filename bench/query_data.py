"""Synthetic read models of one big platform for the query API benchmark (SPEC.md §2, §5).

Fills the read-model tables of a migrated generation schema directly with set-based
``INSERT ... SELECT FROM generate_series`` (no events, no projector), with the columns the
projector writes (``projection/*.py``): ``*_event_at`` versions set (no placeholders),
``group_memberships`` derived from ``users.group_ids`` as ``UPSERT_USER_STATE_SQL`` does, and a
watermark row. The summary read models (``certificate_learners`` and its counters) are then
computed from those tables by the projector's own ``rebuild_summaries``, as a rebuild would.

Shape (platform ``bench``, anchored at :data:`ANCHOR`; pseudo-random choices are
``hashint8extended`` of the row number, so every build is identical):

- 301 groups: root, 12 divisions ``g-d1..12``, 288 teams ``g-t1..288`` (2 teams deleted);
- 1,000,000 learners ``u-<n>`` (2 % deleted), each in one team (10 % in two), custom fields
  ``Gender``, ``Age band`` and ``Department`` (5 % lack it); 300 staff with admin/coach roles;
- 2,000 certificates ``c-<n>`` (validity none/6/12/24/36 months, 4 deleted), 4,000 paths
  (path ``p`` grants ``c-(p mod 2000)``; the last 40 grant nothing; 4 deleted), 20,000 sessions
  (session ``s`` of path ``s mod 4000``; generation ``s div 4000`` starts 200 days after the
  previous one, the newest around :data:`ANCHOR`; 10 % archived, 1 % deleted);
- 5,000,000 enrollments (1 % deleted), skewed: ``c-0`` is taken by every learner once, then
  ``c-1``/``c-2``/``c-3`` get 500k/250k/150k enrollments, the rest follow ``c = 4 + 1996 u²``;
- about 2,000,000 grants: one per successful enrollment of an ended session (half of them),
  delivered at the session's end, expiring by the certificate's validity, 1 % revoked; plus
  50,000 grants without an enrollment.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import asyncpg

from bench import query_data_sql as inserts
from certstats_projector.generations import migrate
from certstats_projector.projection import rebuild_summaries

PLATFORM = "bench"
ANCHOR = datetime(2026, 11, 1, tzinfo=UTC)
DATA_VERSION = "certstats query bench data v2 (with summaries)"
"""Stored as the database comment once a build completes; a different comment means rebuild."""

LEARNERS = 1_000_000
ENROLLMENTS = 5_000_000

FIRST_NAMES = ["Ada", "Ben", "Chloe", "Dan", "Emma", "Farid", "Grace", "Hugo", "Ines", "Jon"]
LAST_NAMES = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand"]
GENDERS = ["Female", "Female", "Male", "Male", "Non-binary"]
AGE_BANDS = ["18-25", "26-35", "26-35", "36-45", "46-55", "55+"]
DEPARTMENTS = ["Sales", "Support", "Engineering", "Finance", "HR", "Legal", "Operations"]
OPEN_STATUSES = ["notYetStarted", "onTime", "awaitingCorrection", "late", "toRetake"]

_TABLES = (
    "groups",
    "users",
    "group_memberships",
    "group_roles",
    "certificates",
    "paths",
    "path_sessions",
    "enrollments",
    "certificate_grants",
    "watermarks",
)
_SUMMARY_TABLES = ("certificate_learners", "certificate_stats", "certificate_expiry")
"""Vacuumed after their rebuild so that index-only scans skip the heap, as on a long-running
database after autovacuum."""


async def data_is_loaded(conn: asyncpg.Connection) -> bool:
    """True when this database holds a completed build of :data:`DATA_VERSION`."""
    comment = await conn.fetchval(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database"
        " WHERE datname = current_database()"
    )
    return bool(comment == DATA_VERSION)


async def load(conn: asyncpg.Connection, report: list[tuple[str, float]]) -> str:
    """Migrate, fill every read-model table of the current generation and analyze it.

    ``conn`` must be on an empty database. Appends ``(step, seconds)`` to ``report``;
    returns the generation schema name. Takes a few minutes on two cores.
    """
    schema = await migrate(conn)
    await conn.execute(f"SET search_path TO {schema}")
    await conn.execute("SET work_mem = '256MB'; SET synchronous_commit = off")
    await conn.execute(inserts.U01_SQL)
    for name, sql, args in _steps():
        started = time.perf_counter()
        await conn.execute(sql, *args)
        report.append((name, time.perf_counter() - started))
    started = time.perf_counter()
    for table in _TABLES:
        await conn.execute(f"VACUUM (ANALYZE) {table}")
    report.append(("vacuum analyze", time.perf_counter() - started))
    started = time.perf_counter()
    await rebuild_summaries(conn, schema)
    for table in _SUMMARY_TABLES:
        await conn.execute(f"VACUUM (ANALYZE) {table}")
    report.append(("summaries", time.perf_counter() - started))
    await conn.execute(f"COMMENT ON DATABASE {await _database(conn)} IS '{DATA_VERSION}'")
    return schema


def _steps() -> list[tuple[str, str, tuple[object, ...]]]:
    """The load steps in order: (name, INSERT statement, arguments)."""
    return [
        ("groups", inserts.GROUPS_SQL, (PLATFORM, ANCHOR)),
        (
            "users",
            inserts.USERS_SQL,
            (PLATFORM, ANCHOR, FIRST_NAMES, LAST_NAMES, GENDERS, AGE_BANDS, DEPARTMENTS, LEARNERS),
        ),
        ("group_memberships", inserts.MEMBERSHIPS_SQL, (PLATFORM,)),
        ("group_roles", inserts.ROLES_SQL, (PLATFORM, ANCHOR)),
        ("certificates", inserts.CERTIFICATES_SQL, (PLATFORM, ANCHOR)),
        ("paths", inserts.PATHS_SQL, (PLATFORM, ANCHOR)),
        ("path_sessions", inserts.SESSIONS_SQL, (PLATFORM, ANCHOR)),
        (
            "enrollments",
            inserts.ENROLLMENTS_SQL,
            (PLATFORM, ANCHOR, ENROLLMENTS, LEARNERS, OPEN_STATUSES),
        ),
        ("grants of enrollments", inserts.ENROLLMENT_GRANTS_SQL, (PLATFORM,)),
        ("grants without enrollment", inserts.MANUAL_GRANTS_SQL, (PLATFORM, ANCHOR, LEARNERS)),
        ("watermark", inserts.WATERMARK_SQL, (PLATFORM, ANCHOR)),
    ]


async def _database(conn: asyncpg.Connection) -> str:
    name: str = await conn.fetchval("SELECT quote_ident(current_database())")
    return name


async def ensure_database(admin_dsn: str, database: str, *, rebuild: bool) -> str:
    """The DSN of ``database`` holding the benchmark data, building it when missing,
    incomplete or ``rebuild`` is set; otherwise only new migrations (e.g. indexes) are applied.
    Prints the load steps' durations."""
    admin = await asyncpg.connect(admin_dsn)
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        dsn = _with_database(admin_dsn, database)
        if exists and not rebuild and await _loaded(dsn):
            conn = await asyncpg.connect(dsn)
            try:
                print(f"reusing {database} ({await migrate(conn)})")
            finally:
                await conn.close()
            return dsn
        quoted = await admin.fetchval("SELECT quote_ident($1)", database)
        await admin.execute(f"DROP DATABASE IF EXISTS {quoted}")
        await admin.execute(f"CREATE DATABASE {quoted}")
    finally:
        await admin.close()
    await _build(dsn)
    return dsn


async def _loaded(dsn: str) -> bool:
    conn = await asyncpg.connect(dsn)
    try:
        return await data_is_loaded(conn)
    finally:
        await conn.close()


async def _build(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    report: list[tuple[str, float]] = []
    try:
        schema = await load(conn, report)
    finally:
        await conn.close()
    print(f"built {schema}: " + ", ".join(f"{name} {seconds:.0f}s" for name, seconds in report))


def _with_database(dsn: str, database: str) -> str:
    """``dsn`` (a ``postgresql://`` URL) pointing at ``database`` instead."""
    head, _, tail = dsn.partition("?")
    base = head.rsplit("/", 1)[0] if head.count("/") > 2 else head
    return f"{base}/{database}" + (f"?{tail}" if tail else "")
