"""The statistics queries of SPEC.md §5, one static SQL text per whitelisted sort key.

Every query below starts with :data:`SCOPE_CTES` and binds its $1-$11 (see that module);
the extra parameters of each query are listed in its docstring. Lists end with a keyset
page: ``$k`` cursor sort key (text, cast back to the key's type), ``$k+1`` cursor row id,
``$k+2`` limit (NULL = all rows, for CSV exports). Sort keys and their SQL come from
:data:`SORTS` only, so the SQL texts form a small fixed set (asyncpg caches them prepared).
"""

from __future__ import annotations

from dataclasses import dataclass

from certstats_query_api.sql.scope import GRANT_RECENCY_SQL, SCOPE_CTES, STATUS_SQL, scope_ctes

_ONE_LEARNER_CTES = scope_ctes("$12::text")
"""Scope prefix of the queries about the learner $12 (history and its access check)."""


@dataclass(frozen=True)
class SortKey:
    """A whitelisted sort key: its SQL expression over ``rows`` and the SQL type of its value."""

    expression: str
    sql_type: str


_NO_EXPIRY = "'infinity'::timestamptz"
_NEVER = "'-infinity'::timestamptz"

SORTS: dict[str, dict[str, SortKey]] = {
    "certificates": {
        "title": SortKey("coalesce(title, '')", "text"),
        "owner_group": SortKey("coalesce(owner_group_name, '')", "text"),
        "validity_months": SortKey("coalesce(validity_months, 2147483647)", "integer"),
        "certified_learners": SortKey("certified_learners", "bigint"),
        "enrolled_learners": SortKey("enrolled_learners", "bigint"),
        "associated_paths": SortKey("associated_paths", "bigint"),
    },
    "learners": {
        "last_name": SortKey("coalesce(last_name, '')", "text"),
        "first_name": SortKey("coalesce(first_name, '')", "text"),
        "email": SortKey("coalesce(email, '')", "text"),
        "latest_status": SortKey("latest_status", "text"),
        "delivery_date": SortKey(f"coalesce(delivered_at, {_NEVER})", "timestamptz"),
        "expiration_date": SortKey(f"coalesce(expires_at, {_NO_EXPIRY})", "timestamptz"),
    },
    "paths": {"name": SortKey("coalesce(name, '')", "text")},
    "history": {"enrolled_at": SortKey(f"coalesce(sort_at, {_NEVER})", "timestamptz")},
}
"""Whitelisted sort keys per list (``-key`` sorts descending; ties broken by the row id)."""

DEFAULT_SORTS = {
    "certificates": "title",
    "learners": "last_name",
    "paths": "name",
    "history": "-enrolled_at",
}
"""Sort used when the request gives none (history: newest first, SPEC.md §5.3)."""


def _page(rows_sql: str, key: SortKey, descending: bool, row_id: str, first_param: int) -> str:
    """Wrap ``rows_sql`` (a CTE list ending in ``rows``) into a keyset-paginated SELECT."""
    order, compare = ("DESC", "<") if descending else ("ASC", ">")
    k, i, n = first_param, first_param + 1, first_param + 2
    return f"""{rows_sql}
SELECT rows.*, ({key.expression})::text AS sort_key, {row_id} AS row_id FROM rows
WHERE ${k}::text IS NULL
   OR ({key.expression}, {row_id}) {compare} (${k}::{key.sql_type}, ${i}::text)
ORDER BY {key.expression} {order}, {row_id} {order}
LIMIT ${n}::bigint
"""


_CERTIFICATE_ROWS = f"""{SCOPE_CTES},
certificate_counts AS (
    SELECT pl.certificate_id,
           count(*) FILTER (WHERE pl.certified) AS certified_learners,
           count(*) FILTER (WHERE pl.enrolled) AS enrolled_learners,
           count(*) FILTER (WHERE pl.status = 'valid') AS valid_learners,
           count(*) FILTER (WHERE pl.status = 'expiring_soon') AS expiring_soon_learners,
           count(*) FILTER (WHERE pl.status = 'expired') AS expired_learners
    FROM population_links pl GROUP BY pl.certificate_id
),
rows AS (
    SELECT sc.certificate_id, sc.title, sc.owner_group_id, og.name AS owner_group_name,
           sc.validity_months,
           coalesce(cc.certified_learners, 0) AS certified_learners,
           coalesce(cc.enrolled_learners, 0) AS enrolled_learners,
           (SELECT count(*) FROM paths p
            WHERE p.platform_id = $1 AND p.certificate_id = sc.certificate_id
              AND NOT p.deleted AND p.state_event_at IS NOT NULL) AS associated_paths,
           coalesce(cc.valid_learners, 0) AS valid_learners,
           coalesce(cc.expiring_soon_learners, 0) AS expiring_soon_learners,
           coalesce(cc.expired_learners, 0) AS expired_learners
    FROM scope_certificates sc
    LEFT JOIN groups og ON og.platform_id = $1 AND og.group_id = sc.owner_group_id
    LEFT JOIN certificate_counts cc ON cc.certificate_id = sc.certificate_id
    WHERE ($12::text IS NULL OR strpos(lower(sc.title), lower($12)) > 0)
      AND (cc.certificate_id IS NOT NULL OR $11::text IS NOT NULL
           OR ($9 = 'all' AND $5::timestamptz IS NULL AND $6::timestamptz IS NULL
               AND $7::text[] IS NULL AND $8::jsonb IS NULL))
)"""
"""Counts per certificate are aggregated before the join: one hash aggregate of the links,
no sort of them."""

_LEARNER_ROWS = f"""{SCOPE_CTES},
rows AS (
    SELECT pl.user_id, pl.first_name, pl.last_name, pl.email,
           coalesce(pl.status, 'not_obtained') AS latest_status, pl.delivered_at, pl.expires_at
    FROM population_links pl
    WHERE pl.certificate_id = $11 AND (NOT $12::boolean OR pl.certified)
      AND ($13::text IS NULL
           OR strpos(lower(concat(pl.first_name, ' ', pl.last_name)), lower($13)) > 0
           OR strpos(lower(pl.email), lower($13)) > 0)
)"""

_HISTORY_ROWS = f"""{_ONE_LEARNER_CTES},
enrollment_rows AS (
    SELECT 'e:' || ce.enrollment_id AS history_id, ce.enrolled_at AS sort_at, ce.enrollment_id,
           coalesce(g.status, 'not_obtained') AS certification_status,
           g.delivered_at, g.expires_at, ce.path_id, ce.path_name, ce.session_id, ce.session_name,
           coalesce(ce.path_status, CASE WHEN ce.starts_at > $4 THEN 'sessionNotOpened'
                                         ELSE 'notYetStarted' END) AS path_status,
           ce.automatic_reenrollment
    FROM cert_enrollments ce
    LEFT JOIN LATERAL (
        SELECT cg.delivered_at, cg.expires_at, {STATUS_SQL.format(g="cg")} AS status
        FROM cert_grants cg
        WHERE cg.certificate_id = ce.certificate_id AND cg.enrollment_id = ce.enrollment_id
        ORDER BY {GRANT_RECENCY_SQL.format(g="cg")} LIMIT 1
    ) g ON true
    WHERE ce.certificate_id = $11 AND ce.user_id = $12::text
),
rows AS (
    SELECT * FROM enrollment_rows
    UNION ALL
    SELECT 'g:' || cg.grant_id, cg.delivered_at, NULL, {STATUS_SQL.format(g="cg")},
           cg.delivered_at, cg.expires_at, s.path_id, p.name, s.session_id, s.name, NULL, NULL
    FROM cert_grants cg
    LEFT JOIN path_sessions s ON s.platform_id = $1 AND s.session_id = cg.session_id
                             AND s.state_event_at IS NOT NULL
    LEFT JOIN paths p ON p.platform_id = $1 AND p.path_id = s.path_id
    WHERE cg.certificate_id = $11 AND cg.user_id = $12::text
      AND NOT EXISTS (SELECT 1 FROM enrollment_rows er WHERE er.enrollment_id = cg.enrollment_id)
)"""

_PATH_ROWS = """WITH rows AS (
    SELECT p.path_id, p.name FROM paths p
    WHERE p.platform_id = $1 AND p.certificate_id = $2 AND NOT p.deleted
      AND p.state_event_at IS NOT NULL
)"""

_LISTS = {
    "certificates": (_CERTIFICATE_ROWS, "certificate_id", 13),
    "learners": (_LEARNER_ROWS, "user_id", 14),
    "history": (_HISTORY_ROWS, "history_id", 13),
    "paths": (_PATH_ROWS, "path_id", 3),
}


LIST_SQL: dict[tuple[str, str], str] = {
    (kind, f"{sign}{name}"): _page(rows, key, sign == "-", row_id, first)
    for kind, (rows, row_id, first) in _LISTS.items()
    for name, key in SORTS[kind].items()
    for sign in ("", "-")
}
"""SQL per (list kind, sort): certificates bind $12 q, $13-$15 page; learners bind
$11 certificate_id, $12 certified_only, $13 q, $14-$16 page; history binds $11
certificate_id, $12 user_id, $13-$15 page; paths bind $1 platform_id, $2 certificate_id,
$3-$5 page."""

ACCESS_SQL = f"""{_ONE_LEARNER_CTES}
SELECT ($3 OR EXISTS (SELECT 1 FROM role_groups) OR EXISTS (SELECT 1 FROM taught_paths)
        OR EXISTS (SELECT 1 FROM paths p WHERE p.platform_id = $1 AND NOT p.deleted
                   AND $2 = ANY (p.author_ids))) AS has_role,
       $11::text IS NOT NULL AND EXISTS (
           SELECT 1 FROM scope_certificates WHERE certificate_id = $11) AS certificate_in_scope,
       $12::text IS NOT NULL AND EXISTS (
           SELECT 1 FROM scoped_links
           WHERE certificate_id = $11 AND user_id = $12::text) AS learner_in_scope
"""
"""Binds $1-$11 and $12 user_id (nullable): one row (has_role, certificate_in_scope,
learner_in_scope) deciding 403/404 (SPEC.md §4, §5.3)."""

WATERMARK_SQL = "SELECT data_as_of FROM watermarks WHERE platform_id = $1"
"""The platform's projection watermark (SPEC.md §5.6); no row before its first event."""
