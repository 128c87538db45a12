"""Synthetic read models of one big platform for the query API benchmark (SPEC.md §2, §5).

Fills the read-model tables of a migrated generation schema directly with set-based
``INSERT ... SELECT FROM generate_series`` (no events, no projector), with the columns the
projector writes (``projection/*.py``): ``*_event_at`` versions set (no placeholders),
``group_memberships`` derived from ``users.group_ids`` as ``UPSERT_USER_STATE_SQL`` does, and a
watermark row. The projector keeps no summary tables, so there is nothing else to fill.

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

from certstats_projector.generations import migrate

PLATFORM = "bench"
ANCHOR = datetime(2026, 11, 1, tzinfo=UTC)
DATA_VERSION = "certstats query bench data v1"
"""Stored as the database comment once a build completes; a different comment means rebuild."""

LEARNERS = 1_000_000
ENROLLMENTS = 5_000_000

FIRST_NAMES = ["Ada", "Ben", "Chloe", "Dan", "Emma", "Farid", "Grace", "Hugo", "Ines", "Jon"]
LAST_NAMES = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand"]
GENDERS = ["Female", "Female", "Male", "Male", "Non-binary"]
AGE_BANDS = ["18-25", "26-35", "26-35", "36-45", "46-55", "55+"]
DEPARTMENTS = ["Sales", "Support", "Engineering", "Finance", "HR", "Legal", "Operations"]
OPEN_STATUSES = ["notYetStarted", "onTime", "awaitingCorrection", "late", "toRetake"]

_U01_SQL = """
CREATE OR REPLACE FUNCTION pg_temp.u01(n bigint, seed bigint) RETURNS float8
LANGUAGE sql IMMUTABLE AS $$ SELECT (hashint8extended(n, seed) & 2147483647)::float8 / 2147483648 $$
"""
"""Uniform [0, 1) pseudo-random number of row ``n`` for draw ``seed`` (deterministic)."""

_GROUPS_SQL = """
INSERT INTO groups (platform_id, group_id, name, parent_group_id, state_event_at, deleted)
SELECT $1, 'g-root', 'Bench Corp', NULL, $2::timestamptz - interval '5 years', false
UNION ALL
SELECT $1, 'g-d' || d, 'Division ' || d, 'g-root', $2::timestamptz - interval '5 years', false
FROM generate_series(1, 12) d
UNION ALL
SELECT $1, 'g-t' || t, 'Team ' || t, 'g-d' || (1 + (t - 1) / 24),
       $2::timestamptz - interval '5 years',
       t IN (100, 200)
FROM generate_series(1, 288) t
"""

_USERS_SQL = """
INSERT INTO users (platform_id, user_id, first_name, last_name, email, registered_at,
                   custom_fields, group_ids, state_event_at, status, status_event_at)
SELECT $1, 'u-' || n, ($3::text[])[1 + n % cardinality($3)],
       ($4::text[])[1 + (n / 10) % cardinality($4)], 'u' || n || '@learners.example', reg,
       jsonb_strip_nulls(jsonb_build_object(
           'Gender', ($5::text[])[1 + floor(pg_temp.u01(n, 11) * cardinality($5))::int],
           'Age band', ($6::text[])[1 + floor(pg_temp.u01(n, 12) * cardinality($6))::int],
           'Department', CASE WHEN pg_temp.u01(n, 13) < 0.95
               THEN ($7::text[])[1 + floor(pg_temp.u01(n, 14) * cardinality($7))::int] END)),
       CASE WHEN pg_temp.u01(n, 15) < 0.1 AND t2 <> t1
            THEN ARRAY['g-t' || t1, 'g-t' || t2] ELSE ARRAY['g-t' || t1] END,
       reg, CASE WHEN pg_temp.u01(n, 16) < 0.02 THEN 'deleted' ELSE 'active' END,
       CASE WHEN pg_temp.u01(n, 16) < 0.02 THEN $2::timestamptz - interval '30 days' END
FROM generate_series(0, $8::int - 1) n,
     LATERAL (SELECT $2::timestamptz - pg_temp.u01(n, 10) * interval '1500 days' AS reg,
                     1 + floor(pg_temp.u01(n, 17) * 288)::int AS t1,
                     1 + floor(pg_temp.u01(n, 18) * 288)::int AS t2) x
UNION ALL
SELECT $1, 'staff-' || n, 'Staff', 'Member ' || n, 'staff-' || n || '@staff.example',
       $2::timestamptz - interval '5 years', '{}', ARRAY['g-root'],
       $2::timestamptz - interval '5 years', 'active', NULL
FROM generate_series(1, 300) n
"""

_MEMBERSHIPS_SQL = """
INSERT INTO group_memberships (platform_id, group_id, user_id)
SELECT u.platform_id, g.group_id, u.user_id
FROM users u CROSS JOIN LATERAL unnest(u.group_ids) AS g (group_id)
WHERE u.platform_id = $1
"""

_ROLES_SQL = """
INSERT INTO group_roles (platform_id, group_id, user_id, role, granted, role_event_at)
SELECT $1, 'g-d' || d, 'staff-' || d, 'admin', true, $2::timestamptz - interval '5 years'
FROM generate_series(1, 12) d
UNION ALL
SELECT $1, 'g-t' || t, 'staff-' || (12 + t), 'coach', true, $2::timestamptz - interval '5 years'
FROM generate_series(1, 288) t
"""

_CERTIFICATES_SQL = """
INSERT INTO certificates (platform_id, certificate_id, title, owner_group_id, validity_months,
                          state_event_at, deleted)
SELECT $1, 'c-' || c, 'Certificate ' || lpad(c::text, 4, '0'),
       CASE WHEN c % 10 < 7 THEN 'g-d' || (1 + c % 12) END,
       (ARRAY[NULL, 6, 12, 12, 24, 36])[1 + c % 6], $2::timestamptz - interval '5 years',
       c % 500 = 499
FROM generate_series(0, 1999) c
"""

_PATHS_SQL = """
INSERT INTO paths (platform_id, path_id, name, certificate_id, author_ids, state_event_at,
                   deleted)
SELECT $1, 'p-' || p, 'Path ' || p, CASE WHEN p < 3960 THEN 'c-' || p % 2000 END,
       ARRAY['staff-' || (1 + p % 300)], $2::timestamptz - interval '5 years', p % 1000 = 999
FROM generate_series(0, 3999) p
"""

_SESSIONS_SQL = """
INSERT INTO path_sessions (platform_id, session_id, path_id, name, starts_at, ends_at,
                           instructor_ids, automatic_reenrollment, state_event_at, archived,
                           archive_event_at, deleted)
SELECT $1, 's-' || s, 'p-' || s % 4000, 'Session ' || s, starts_at,
       CASE WHEN s % 20 <> 7 THEN starts_at + interval '90 days' END,
       ARRAY['staff-' || (1 + s % 300)], s % 7 = 0, starts_at - interval '30 days',
       s < 4000 AND s % 2 = 0, CASE WHEN s < 4000 AND s % 2 = 0 THEN $2::timestamptz END,
       s % 100 = 50
FROM generate_series(0, 19999) s,
     LATERAL (SELECT $2::timestamptz - ((4 - s / 4000) * 200 - 30 + s % 60) * interval '1 day'
                     AS starts_at) x
"""

_ENROLLMENTS_SQL = """
INSERT INTO enrollments (platform_id, enrollment_id, user_id, session_id, enrolled_at, method,
                         automatic_reenrollment, previous_enrollment_id, state_event_at,
                         path_status, path_status_changed_at, deleted)
SELECT $1, 'e-' || j, 'u-' || pick.learner, s.session_id, enrolled_at,
       CASE WHEN pg_temp.u01(j, 24) < 0.7 THEN 'assigned' ELSE 'self_enrolled' END,
       s.automatic_reenrollment AND pg_temp.u01(j, 25) < 0.3, NULL, enrolled_at,
       status.code, CASE WHEN status.code IS NOT NULL THEN least($2::timestamptz, t.ends_at) END,
       pg_temp.u01(j, 26) < 0.01
FROM generate_series(0, $3::int - 1) j
CROSS JOIN LATERAL (
    SELECT CASE WHEN j < $4::int THEN j
                ELSE floor(pg_temp.u01(j, 20) * $4::int)::int END AS learner,
           CASE WHEN j < $4 THEN 0 WHEN j < $4 + 500000 THEN 1 WHEN j < $4 + 750000 THEN 2
                WHEN j < $4 + 900000 THEN 3
                ELSE 4 + floor(1996 * pg_temp.u01(j, 21) ^ 2)::int END AS cert
) pick
CROSS JOIN LATERAL (
    SELECT 2 * floor(pg_temp.u01(j, 22) * 5)::int
           + CASE WHEN pick.cert < 1960 THEN floor(pg_temp.u01(j, 23) * 2)::int ELSE 0 END AS m
) gen
JOIN path_sessions s ON s.platform_id = $1 AND s.session_id = 's-' || (pick.cert + 2000 * gen.m)
CROSS JOIN LATERAL (
    SELECT s.starts_at - pg_temp.u01(j, 27) * interval '30 days' AS enrolled_at,
           coalesce(s.ends_at, s.starts_at + interval '90 days') AS ends_at
) t
CROSS JOIN LATERAL (
    SELECT CASE
        WHEN s.starts_at > $2::timestamptz THEN NULL
        WHEN t.ends_at <= $2::timestamptz AND pg_temp.u01(j, 28) < 0.5 THEN 'successful'
        WHEN t.ends_at <= $2::timestamptz AND pg_temp.u01(j, 28) < 0.7 THEN 'unsuccessful'
        WHEN pg_temp.u01(j, 29) < 0.2 THEN NULL
        ELSE ($5::text[])[1 + floor(pg_temp.u01(j, 30) * cardinality($5))::int] END AS code
) status
"""

_ENROLLMENT_GRANTS_SQL = """
INSERT INTO certificate_grants (platform_id, grant_id, certificate_id, user_id, enrollment_id,
                                session_id, delivered_at, expires_at, state_event_at, revoked)
SELECT e.platform_id, 'gr-' || e.enrollment_id, p.certificate_id, e.user_id, e.enrollment_id,
       e.session_id, e.path_status_changed_at,
       e.path_status_changed_at + c.validity_months * interval '1 month',
       e.path_status_changed_at, pg_temp.u01(hashtext(e.enrollment_id), 31) < 0.01
FROM enrollments e
JOIN path_sessions s ON s.platform_id = e.platform_id AND s.session_id = e.session_id
JOIN paths p ON p.platform_id = s.platform_id AND p.path_id = s.path_id
JOIN certificates c ON c.platform_id = p.platform_id AND c.certificate_id = p.certificate_id
WHERE e.platform_id = $1 AND e.path_status = 'successful'
"""

_MANUAL_GRANTS_SQL = """
INSERT INTO certificate_grants (platform_id, grant_id, certificate_id, user_id, enrollment_id,
                                session_id, delivered_at, expires_at, state_event_at, revoked)
SELECT $1, 'gm-' || n, c.certificate_id, 'u-' || floor(pg_temp.u01(n, 40) * $3::int)::int, NULL,
       NULL, delivered_at, delivered_at + c.validity_months * interval '1 month', delivered_at,
       false
FROM generate_series(0, 49999) n
CROSS JOIN LATERAL (
    SELECT 'c-' || floor(2000 * pg_temp.u01(n, 41) ^ 2)::int AS certificate_id,
           $2::timestamptz - pg_temp.u01(n, 42) * interval '900 days' AS delivered_at
) pick
JOIN certificates c ON c.platform_id = $1 AND c.certificate_id = pick.certificate_id
"""

_WATERMARK_SQL = """
INSERT INTO watermarks (platform_id, data_as_of, applied_events)
SELECT $1, $2::timestamptz, (SELECT count(*) FROM enrollments WHERE platform_id = $1) * 3
"""

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
    await conn.execute(_U01_SQL)
    steps: list[tuple[str, str, tuple[object, ...]]] = [
        ("groups", _GROUPS_SQL, (PLATFORM, ANCHOR)),
        (
            "users",
            _USERS_SQL,
            (PLATFORM, ANCHOR, FIRST_NAMES, LAST_NAMES, GENDERS, AGE_BANDS, DEPARTMENTS, LEARNERS),
        ),
        ("group_memberships", _MEMBERSHIPS_SQL, (PLATFORM,)),
        ("group_roles", _ROLES_SQL, (PLATFORM, ANCHOR)),
        ("certificates", _CERTIFICATES_SQL, (PLATFORM, ANCHOR)),
        ("paths", _PATHS_SQL, (PLATFORM, ANCHOR)),
        ("path_sessions", _SESSIONS_SQL, (PLATFORM, ANCHOR)),
        ("enrollments", _ENROLLMENTS_SQL, (PLATFORM, ANCHOR, ENROLLMENTS, LEARNERS, OPEN_STATUSES)),
        ("grants of enrollments", _ENROLLMENT_GRANTS_SQL, (PLATFORM,)),
        ("grants without enrollment", _MANUAL_GRANTS_SQL, (PLATFORM, ANCHOR, LEARNERS)),
        ("watermark", _WATERMARK_SQL, (PLATFORM, ANCHOR)),
    ]
    for name, sql, args in steps:
        started = time.perf_counter()
        await conn.execute(sql, *args)
        report.append((name, time.perf_counter() - started))
    started = time.perf_counter()
    for table in _TABLES:
        await conn.execute(f"VACUUM (ANALYZE) {table}")
    report.append(("vacuum analyze", time.perf_counter() - started))
    await conn.execute(f"COMMENT ON DATABASE {await _database(conn)} IS '{DATA_VERSION}'")
    return schema


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
