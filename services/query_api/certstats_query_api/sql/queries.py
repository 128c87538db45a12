"""The statistics queries of SPEC.md §5, one static SQL text per whitelisted sort key.

Two sets: :data:`LIST_SQL` over the normalized tables (exact at any ``as_of``) and
:data:`SUMMARY_LIST_SQL` over the projector's summary read models (exact when
:data:`FRESHNESS_SQL` says so; docs/DECISIONS.md "Query API on the summaries").
Every query below starts with a scope prefix and binds its $1-$11 (see that module);
the extra parameters of each query are listed in its docstring. Lists end with a keyset
page: ``$k`` cursor sort key (text, cast back to the key's type), ``$k+1`` cursor row id,
``$k+2`` limit (NULL = all rows, for CSV exports). Sort keys and their SQL come from
:data:`SORTS` only, so the SQL texts form a small fixed set (asyncpg caches them prepared).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from certstats_query_api.rows import LEARNER_CSV_SQL
from certstats_query_api.sql.scope import (
    GRANT_RECENCY_SQL,
    SCOPE_CTES,
    STATUS_SQL,
    SUMMARY_SCOPE_CTES,
    USER_FILTERS_SQL,
    USER_STATUSES_SQL,
    scope_ctes,
)

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


def _page(
    rows_sql: str,
    key: SortKey,
    descending: bool,
    row_id: str,
    first_param: int,
    per_row: str | None = None,
    head: str | None = None,
    columns: str | None = None,
) -> str:
    """Wrap ``rows_sql`` (a CTE list ending in ``rows``) into a keyset-paginated SELECT.

    ``per_row``: a SELECT over the page row ``page`` joined LATERAL to each row of the page
    (after the LIMIT), for columns that are no sort key and cost a lookup per row.

    ``columns``: the select list over ``rows`` (default: every column, ``sort_key`` and
    ``row_id``, for JSON pages and their cursors).

    ``head``: a one-row SELECT with a boolean ``allowed`` column, computed once and carried by
    every row; the page joins it only when ``allowed``, and an empty (or not allowed) page is
    that one row with NULL page columns (``row_id`` NULL)."""
    order, compare = ("DESC", "<") if descending else ("ASC", ">")
    k, i, n = first_param, first_param + 1, first_param + 2
    columns = columns or f"rows.*, ({key.expression})::text AS sort_key, {row_id} AS row_id"
    page = f"""SELECT {columns} FROM rows
WHERE ${k}::text IS NULL
   OR ({key.expression}, {row_id}) {compare} (${k}::{key.sql_type}, ${i}::text)
ORDER BY {key.expression} {order}, {row_id} {order}
LIMIT ${n}::bigint"""
    if head is not None:
        return f"""{rows_sql},
page AS ({page})
SELECT head.*, page.* FROM ({head}) head LEFT JOIN page ON head.allowed
ORDER BY {key.expression} {order}, page.row_id {order}
"""
    if per_row is None:
        return f"{rows_sql}\n{page}\n"
    return f"""{rows_sql},
page AS ({page})
SELECT page.*, per_row.* FROM page CROSS JOIN LATERAL ({per_row}) per_row
ORDER BY {key.expression} {order}, page.row_id {order}
"""


def _certificate_rows(head: str, population: str = "population_links pl") -> str:
    """The certificate list's ``rows`` after the CTEs ``head`` (a scope prefix), counting the
    links of ``population``: SQL of the population's links as ``pl``.

    Counts per certificate are aggregated before the join: one hash aggregate of the links,
    no sort of them."""
    return f"""{head},
certificate_counts AS (
    SELECT pl.certificate_id,
           count(*) FILTER (WHERE pl.certified) AS certified_learners,
           count(*) FILTER (WHERE pl.enrolled) AS enrolled_learners,
           count(*) FILTER (WHERE pl.status = 'valid') AS valid_learners,
           count(*) FILTER (WHERE pl.status = 'expiring_soon') AS expiring_soon_learners,
           count(*) FILTER (WHERE pl.status = 'expired') AS expired_learners
    FROM {population} GROUP BY pl.certificate_id
),
rows AS (
    SELECT sc.certificate_id, sc.title, sc.owner_group_id, og.name AS owner_group_name,
           sc.validity_months,
           coalesce(cc.certified_learners, 0) AS certified_learners,
           coalesce(cc.enrolled_learners, 0) AS enrolled_learners,
           {_ASSOCIATED_PATHS.format(c="sc")} AS associated_paths,
           coalesce(cc.valid_learners, 0) AS valid_learners,
           coalesce(cc.expiring_soon_learners, 0) AS expiring_soon_learners,
           coalesce(cc.expired_learners, 0) AS expired_learners
    FROM scope_certificates sc
    LEFT JOIN groups og ON og.platform_id = $1 AND og.group_id = sc.owner_group_id
    LEFT JOIN certificate_counts cc ON cc.certificate_id = sc.certificate_id
    WHERE {_TITLE_SEARCH.format(c="sc")}
      AND (cc.certificate_id IS NOT NULL OR $11::text IS NOT NULL
           OR ($9 = 'all' AND $5::timestamptz IS NULL AND $6::timestamptz IS NULL
               AND $7::text[] IS NULL AND $8::jsonpath IS NULL))
)"""


_ASSOCIATED_PATHS = """(SELECT count(*) FROM paths p
            WHERE p.platform_id = $1 AND p.certificate_id = {c}.certificate_id
              AND NOT p.deleted AND p.state_event_at IS NOT NULL)"""
_TITLE_SEARCH = "($12::text IS NULL OR strpos(lower({c}.title), lower($12)) > 0)"

_CERTIFICATE_ROWS = _certificate_rows(SCOPE_CTES)


_FILTERED_CERTIFICATE_ROWS = _certificate_rows(
    f"""{SUMMARY_SCOPE_CTES},
filtered_users AS (
    SELECT u.user_id FROM users u
    WHERE u.platform_id = $1 AND u.status = ANY ({USER_STATUSES_SQL})
      AND {USER_FILTERS_SQL.format(u="u")}
)""",
    """filtered_users fu JOIN links pl ON pl.user_id = fu.user_id
    WHERE $3 OR pl.user_id IN (SELECT user_id FROM group_learners)
       OR (pl.certificate_id, pl.user_id) IN (
           SELECT certificate_id, user_id FROM path_scope_pairs)""",
)
"""The certificate list from the summary under user filters (registration dates, groups,
custom fields): the population's users first, then their ``certificate_learners`` rows
(an index-only scan of its primary key, learner first, which covers the counted columns). Users
with no ``users`` row never match a user filter."""

_COUNTER_CERTIFICATE_ROWS = f"""{SUMMARY_SCOPE_CTES},
rows AS (
    SELECT kc.certificate_id, kc.title, kc.owner_group_id, og.name AS owner_group_name,
           kc.validity_months,
           coalesce(st.certified, 0)::bigint AS certified_learners,
           coalesce(st.enrolled, 0)::bigint AS enrolled_learners,
           {_ASSOCIATED_PATHS.format(c="kc")} AS associated_paths
    FROM known_certificates kc
    LEFT JOIN groups og ON og.platform_id = $1 AND og.group_id = kc.owner_group_id
    LEFT JOIN LATERAL (
        SELECT sum(s.certified) AS certified, sum(s.enrolled) AS enrolled,
               sum(s.linked) AS linked
        FROM certificate_stats s
        WHERE s.platform_id = $1 AND s.certificate_id = kc.certificate_id
          AND s.user_status = ANY ({USER_STATUSES_SQL})
    ) st ON true
    WHERE {_TITLE_SEARCH.format(c="kc")}
      AND (st.linked > 0 OR $11::text IS NOT NULL OR $9 = 'all')
)"""
"""The certificate list of a platform admin without user filters, from the summary's
counters (``certificate_stats`` summed over writer slots and the selected user statuses)."""


def _expired_by(instant: str) -> str:
    """SQL of the number of certified learners of the page row's certificate whose latest grant
    expires at or before ``instant`` (SQL of a timestamptz): the learners of the UTC days
    before ``instant``'s day (``certificate_expiry``) plus the exact count of that day up to
    ``instant`` (``certificate_learners_expiry`` index)."""
    return f"""(SELECT coalesce(sum(x.learners), 0) FROM certificate_expiry x
            WHERE x.platform_id = $1 AND x.certificate_id = page.certificate_id
              AND x.user_status = ANY ({USER_STATUSES_SQL})
              AND x.expires_on < ({instant} AT TIME ZONE 'UTC')::date)
         + (SELECT count(*) FROM certificate_learners cl
            WHERE cl.platform_id = $1 AND cl.certificate_id = page.certificate_id
              AND cl.user_status = ANY ({USER_STATUSES_SQL}) AND cl.grant_id IS NOT NULL
              AND cl.expires_at >= date_trunc('day', {instant}, 'UTC')
              AND cl.expires_at <= {instant})"""


_COUNTER_BREAKDOWN = f"""
    SELECT (page.certified_learners - by_window.learners)::bigint AS valid_learners,
           (by_window.learners - by_as_of.learners)::bigint AS expiring_soon_learners,
           by_as_of.learners::bigint AS expired_learners
    FROM (SELECT {_expired_by("$4")} AS learners) by_as_of,
         (SELECT {_expired_by("$10")} AS learners) by_window"""
"""Latest status breakdown of a page row of :data:`_COUNTER_CERTIFICATE_ROWS` (SPEC.md §2):
expired = F(as_of), expiring soon = F(as_of + W) - F(as_of), valid = certified - F(as_of + W),
F(x) = certified learners whose latest grant expires at or before x."""

_LEARNER_SEARCH = """($13::text IS NULL
           OR strpos(lower(concat({u}.first_name, ' ', {u}.last_name)), lower($13)) > 0
           OR strpos(lower({u}.email), lower($13)) > 0)"""

_LEARNER_ROWS = f"""{SCOPE_CTES},
rows AS (
    SELECT pl.user_id, pl.first_name, pl.last_name, pl.email,
           coalesce(pl.status, 'not_obtained') AS latest_status, pl.delivered_at, pl.expires_at
    FROM population_links pl
    WHERE pl.certificate_id = $11 AND (NOT $12::boolean OR pl.certified)
      AND {_LEARNER_SEARCH.format(u="pl")}
)"""


def _summary_learner_rows(last_name_order: str | None, *, user_filters: bool) -> str:
    """The learner list's ``rows`` from ``certificate_learners`` (in scope, matching the
    filters), with the copied names and ``sort_last_name``.

    One branch per user status, each in ``last_name_order`` (``ASC``/``DESC``, None for the
    other sort keys): pages sorted by last name then read ``certificate_learners_by_last_name``
    in order (a merge of the two index scans under ``user_status=all``) and stop at the LIMIT;
    the keyset condition reaches the index, and a whole-certificate CSV streams in that order.
    ``users`` is joined (after the merge) only with ``user_filters``: the registration and
    custom field filters $5, $6, $8 read it; without, the text must not be used with them.
    ``last_name`` is NULL when the learner has no profile (``first_name`` NULL), as in
    ``users``; the summary stores ``''`` then (migration 0005)."""
    order = (
        ""
        if last_name_order is None
        else f" ORDER BY cl.last_name {last_name_order}, cl.user_id {last_name_order}"
    )
    branches = "\n        UNION ALL\n        ".join(
        f"""(SELECT cl.user_id, cl.grant_id, cl.delivered_at, cl.expires_at, cl.last_name,
                cl.first_name, cl.email
         FROM certificate_learners cl
         WHERE cl.platform_id = $1 AND cl.certificate_id = $11 AND cl.user_status = '{status}'
           AND $9 IN ('{status}', 'all'){order})"""
        for status in ("active", "deleted")
    )
    users = (
        f"""
    LEFT JOIN users u ON u.platform_id = $1 AND u.user_id = cl.user_id
    WHERE {USER_FILTERS_SQL.format(u="u")} AND"""
        if user_filters
        else "\n    WHERE"
    )
    return f"""{SUMMARY_SCOPE_CTES},
rows AS (
    SELECT cl.user_id, cl.first_name,
           CASE WHEN cl.first_name IS NOT NULL THEN cl.last_name END AS last_name, cl.email,
           CASE WHEN cl.grant_id IS NULL THEN 'not_obtained' ELSE {STATUS_SQL.format(g="cl")}
           END AS latest_status, cl.delivered_at, cl.expires_at, cl.last_name AS sort_last_name
    FROM (
        {branches}
    ) cl{users} (NOT $12::boolean OR cl.grant_id IS NOT NULL)
      AND ($3 OR cl.user_id IN (SELECT user_id FROM group_learners)
           OR ($11, cl.user_id) IN (SELECT certificate_id, user_id FROM path_scope_pairs))
      AND {_LEARNER_SEARCH.format(u="cl")}
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


@dataclass(frozen=True)
class _List:
    """How to build one list's SQL texts: its ``rows`` CTEs, row id, first page parameter,
    sort keys, optional per-row columns and head row (see :func:`_page`)."""

    rows: str | Callable[[str, bool], str]
    row_id: str
    first_param: int
    sorts: dict[str, SortKey]
    per_row: str | None = None
    head: str | None = None

    def rows_sql(self, sort: str, descending: bool) -> str:
        """The ``rows`` CTEs for this sort key and direction."""
        return self.rows if isinstance(self.rows, str) else self.rows(sort, descending)


def _texts(lists: dict[str, _List], columns: str | None = None) -> dict[tuple[str, str], str]:
    """The SQL text of every (list kind, sort) of ``lists``, selecting ``columns`` (see
    :func:`_page`)."""
    return {
        (kind, f"{sign}{name}"): _page(
            spec.rows_sql(name, sign == "-"),
            key,
            sign == "-",
            spec.row_id,
            spec.first_param,
            spec.per_row,
            spec.head,
            columns,
        )
        for kind, spec in lists.items()
        for name, key in spec.sorts.items()
        for sign in ("", "-")
    }


def _summary_learners(*, user_filters: bool) -> _List:
    return _List(
        lambda sort, descending: _summary_learner_rows(
            None if sort != "last_name" else "DESC" if descending else "ASC",
            user_filters=user_filters,
        ),
        "user_id",
        14,
        {**SORTS["learners"], "last_name": SortKey("sort_last_name", "text")},
    )


_LEARNERS = {"learners": _List(_LEARNER_ROWS, "user_id", 14, SORTS["learners"])}
_SUMMARY_LEARNERS = {
    "learners": _summary_learners(user_filters=False),
    "filtered_learners": _summary_learners(user_filters=True),
}

LIST_SQL = _texts(
    {
        "certificates": _List(_CERTIFICATE_ROWS, "certificate_id", 13, SORTS["certificates"]),
        **_LEARNERS,
        "history": _List(_HISTORY_ROWS, "history_id", 13, SORTS["history"]),
        "paths": _List(_PATH_ROWS, "path_id", 3, SORTS["paths"]),
    }
)
"""SQL per (list kind, sort) over the normalized tables, exact at any ``as_of``: certificates
bind $12 q, $13-$15 page; learners bind $11 certificate_id, $12 certified_only, $13 q,
$14-$16 page; history binds $11 certificate_id, $12 user_id, $13-$15 page; paths bind
$1 platform_id, $2 certificate_id, $3-$5 page."""

SUMMARY_LIST_SQL = _texts(
    {
        "certificate_counters": _List(
            _COUNTER_CERTIFICATE_ROWS,
            "certificate_id",
            13,
            SORTS["certificates"],
            _COUNTER_BREAKDOWN,
        ),
        "certificates": _List(
            _certificate_rows(SUMMARY_SCOPE_CTES), "certificate_id", 13, SORTS["certificates"]
        ),
        "filtered_certificates": _List(
            _FILTERED_CERTIFICATE_ROWS, "certificate_id", 13, SORTS["certificates"]
        ),
        **_SUMMARY_LEARNERS,
    }
)
"""SQL per (list kind, sort) reading the summary read models, with the parameters of
:data:`LIST_SQL`; exact only when the platform's summary horizon is at or before ``as_of``
(:data:`FRESHNESS_SQL`). ``certificate_counters`` is the certificate list of a platform admin
without user filters; ``learners`` is the learner list without user filters (no ``users``
join), ``filtered_learners`` with them. The learners' ``sort_last_name`` is
``coalesce(last_name, '')`` copied into the summary, so cursors are the same on both sides."""

CSV_LIST_SQL = _texts(_LEARNERS, LEARNER_CSV_SQL)
"""The learner lists of :data:`LIST_SQL` selecting their CSV cells (:data:`LEARNER_CSV_SQL`,
same parameters)."""

SUMMARY_CSV_LIST_SQL = _texts(_SUMMARY_LEARNERS, LEARNER_CSV_SQL)
"""The learner lists of :data:`SUMMARY_LIST_SQL` selecting their CSV cells (as
:data:`CSV_LIST_SQL`)."""


_ACCESS_COLUMNS = """($3 OR EXISTS (SELECT 1 FROM role_groups)
        OR EXISTS (SELECT 1 FROM taught_paths)
        OR EXISTS (SELECT 1 FROM paths p WHERE p.platform_id = $1 AND NOT p.deleted
                   AND $2 = ANY (p.author_ids))) AS has_role,
       $11::text IS NOT NULL AND EXISTS (
           SELECT 1 FROM scope_certificates WHERE certificate_id = $11) AS certificate_in_scope,
       $12::text IS NOT NULL AND EXISTS (
           SELECT 1 FROM scoped_links
           WHERE certificate_id = $11 AND user_id = $12::text) AS learner_in_scope"""

_WATERMARK_SQL = "(SELECT data_as_of FROM watermarks WHERE platform_id = $1)"


def _access_sql(scope_prefix: str) -> str:
    return f"{scope_prefix}\nSELECT {_ACCESS_COLUMNS}\n"


ACCESS_SQL = _access_sql(_ONE_LEARNER_CTES)
"""Binds $1-$11 and $12 user_id (nullable): one row (has_role, certificate_in_scope,
learner_in_scope) deciding 403/404 (SPEC.md §4, §5.3)."""

SUMMARY_ACCESS_SQL = _access_sql(scope_ctes("$12::text", summary=True))
""":data:`ACCESS_SQL` reading the links from the summary (same parameters and row)."""

WATERMARK_SQL = f"SELECT {_WATERMARK_SQL}"
"""Binds $1 platform_id: the platform's projection watermark (SPEC.md §5.6; NULL before its
first event)."""

FRESHNESS_SQL = f"""SELECT
    {_WATERMARK_SQL} AS data_as_of,
    $2::timestamptz >= coalesce(
        (SELECT max(delivered_until) FROM summary_horizon WHERE platform_id = $1),
        '-infinity')
    AND NOT EXISTS (SELECT 1 FROM summary_deferred WHERE platform_id = $1) AS summary_exact"""
"""Binds $1 platform_id, $2 as_of. ``data_as_of``: the platform's projection watermark
(SPEC.md §5.6; NULL before its first event). ``summary_exact``: whether the summary read models
answer at ``as_of`` exactly, i.e. no grant they hold is delivered after ``as_of`` (they hold
every visible grant whatever its ``delivered_at``; docs/DECISIONS.md "Query API on the
summaries"), and the projector has not deferred them (catch-up mode, docs/DECISIONS.md
"Deferred summaries")."""

CHECKED_HISTORY_SQL = _texts(
    {
        "history": _List(
            _HISTORY_ROWS,
            "history_id",
            13,
            SORTS["history"],
            head=f"""SELECT access.*, {_WATERMARK_SQL} AS data_as_of,
           access.has_role AND access.certificate_in_scope AND access.learner_in_scope AS allowed
    FROM (SELECT {_ACCESS_COLUMNS}) access""",
        )
    }
)
"""A history page (normalized SQL, exact at any ``as_of``; the parameters of
:data:`LIST_SQL`), its access check (the columns of :data:`ACCESS_SQL`) and the platform's
watermark ``data_as_of`` in one statement: rows carry those columns, page columns are NULL on
the one row of an empty or forbidden page. One round trip and one plan of the shared scope
CTEs instead of three statements (freshness, access, list)."""
