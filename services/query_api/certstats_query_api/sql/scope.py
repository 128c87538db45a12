"""The CTE prefix every statistics query starts with: visibility, scope and population.

SPEC.md §2 (visibility, statuses), §4 (scopes), §5 (population) and docs/DECISIONS.md
("Statistics and scopes"). The text is static; every query built on it binds the same first
eleven parameters (see :class:`certstats_query_api.params.StatsParams`):

    $1 platform_id text        $2 requester user_id text      $3 platform_admin bool
    $4 as_of timestamptz       $5 registered_from timestamptz $6 registered_before timestamptz
    $7 group_ids text[]        $8 custom_fields jsonpath       $9 user_status text
    $10 expiring_until timestamptz (as_of + W)                 $11 certificate_id text

Nullable filters ($5-$8, $11) mean "no filter". The certificate ($11) is pushed down into the
sessions and grants it restricts, and :func:`scope_ctes` can restrict enrollments and grants to
one learner, so that per-certificate and per-learner queries read through the indexes of
``paths``, ``enrollments`` and ``certificate_grants`` instead of the whole platform (with the
API's custom plans, NULL tests fold away at plan time). CTEs defined here:

- ``role_groups``: groups (and their subgroups) where the requester holds a granted role;
- ``filter_groups``: the ``group_id`` filter groups and their subgroups;
- ``taught_paths``: paths of the non-deleted sessions the requester instructs (a role even
  when the path is deleted or unknown, docs/DECISIONS.md "No role");
- ``my_paths``: non-deleted paths the requester authors or instructs a session of;
- ``cert_enrollments``: visible enrollments in sessions granting a known, non-deleted certificate;
- ``cert_grants``: visible grants delivered at or before ``as_of``;
- ``enrolled_pairs`` / ``latest_grants``: per (certificate, learner), enrolled in a
  non-archived session; the most recent visible grant with its status;
- ``links``: linked (certificate_id, user_id) pairs: ``enrolled``, ``certified`` and the most
  recent grant's ``delivered_at``, ``expires_at``, ``status`` (NULL when not certified). A
  FULL JOIN cannot be planned as a nested loop, which CTE row misestimates otherwise cause;
- ``path_scope_pairs``: (certificate, learner) pairs of the visible enrollments in sessions
  of ``my_paths``;
- ``scoped_links``: the links inside the requester's scope;
- ``population_links``: the scoped links of learners matching the user filters, with the
  learner's ``first_name``, ``last_name`` and ``email`` (one join of ``users``);
- ``scope_certificates``: the certificates in scope.

A group known only from references (no row) counts as a non-deleted root group.

The summary prefix (``scope_ctes(summary=True)``) reads ``links`` from the projector's
``certificate_learners`` instead of the five CTEs computing them; the other CTEs are the same.
"""

from __future__ import annotations

STATUS_SQL = (
    "CASE WHEN {g}.expires_at IS NULL OR {g}.expires_at > $10 THEN 'valid'"
    " WHEN {g}.expires_at > $4 THEN 'expiring_soon' ELSE 'expired' END"
)
"""Certificate status of a grant at ``as_of`` (SPEC.md §2); format ``g`` with the row alias."""

GRANT_RECENCY_SQL = "{g}.delivered_at DESC, {g}.expires_at DESC NULLS FIRST, {g}.grant_id DESC"
"""Most recent grant first (SPEC.md §2 "Latest status": ties by expires_at, null greatest)."""

_NOT_DELETED_GROUP = """NOT EXISTS (
        SELECT 1 FROM groups dg
        WHERE dg.platform_id = $1 AND dg.group_id = {col} AND dg.deleted)"""


USER_STATUSES_SQL = "(CASE WHEN $9 = 'all' THEN ARRAY['active', 'deleted'] ELSE ARRAY[$9] END)"
"""The user statuses ``$9`` selects, as a ``text[]`` (a constant under custom plans), so that
``user_status = ANY (...)`` reads the summary indexes led by ``user_status``."""

USER_FILTERS_SQL = """($5::timestamptz IS NULL OR {u}.registered_at >= $5)
      AND ($6::timestamptz IS NULL OR {u}.registered_at < $6)
      AND ($7::text[] IS NULL OR {u}.group_ids && ARRAY(SELECT group_id FROM filter_groups))
      AND ($8::jsonpath IS NULL OR {u}.custom_fields @@ $8::jsonpath)"""
"""Every user filter of the population, $5-$8 (SPEC.md §5): registration dates, groups (a
direct group of the user in ``filter_groups``; ``users.group_ids`` holds the same groups as
the user's ``group_memberships``) and custom fields (the jsonpath predicate of
:meth:`certstats_query_api.params.Filters.sql_args`). Format ``u`` with the alias of the
learner's ``users`` row (outer-joined: no row matches no filter). Once $7/$8 are constants
(custom plans), the group and custom field tests read the GIN indexes of ``users``."""

_NORMALIZED_LINKS = """
granting_sessions AS (
    SELECT s.session_id, s.name AS session_name, s.starts_at, s.archived,
           p.path_id, p.name AS path_name, p.certificate_id
    FROM path_sessions s
    JOIN paths p ON p.platform_id = s.platform_id AND p.path_id = s.path_id
                AND NOT p.deleted AND p.state_event_at IS NOT NULL
    JOIN known_certificates kc ON kc.certificate_id = p.certificate_id
    WHERE s.platform_id = $1 AND NOT s.deleted AND s.state_event_at IS NOT NULL
      AND ($11::text IS NULL OR p.certificate_id = $11)
),
cert_enrollments AS (
    SELECT e.enrollment_id, e.user_id, e.enrolled_at, e.automatic_reenrollment, e.path_status,
           gs.*
    FROM enrollments e JOIN granting_sessions gs ON gs.session_id = e.session_id
    WHERE e.platform_id = $1 AND NOT e.deleted AND {only_e}
),
cert_grants AS (
    SELECT g.grant_id, g.certificate_id, g.user_id, g.enrollment_id, g.session_id,
           g.delivered_at, g.expires_at
    FROM certificate_grants g JOIN known_certificates kc USING (certificate_id)
    WHERE g.platform_id = $1 AND NOT g.revoked AND g.delivered_at <= $4
      AND ($11::text IS NULL OR g.certificate_id = $11) AND {only_g}
      AND NOT EXISTS (
          SELECT 1 FROM enrollments e
          LEFT JOIN path_sessions s ON s.platform_id = $1 AND s.session_id = e.session_id
          LEFT JOIN paths p ON p.platform_id = $1 AND p.path_id = s.path_id
          WHERE e.platform_id = $1 AND e.enrollment_id = g.enrollment_id
            AND (e.deleted OR coalesce(s.deleted, false) OR coalesce(p.deleted, false)))
      AND NOT EXISTS (
          SELECT 1 FROM path_sessions s
          LEFT JOIN paths p ON p.platform_id = $1 AND p.path_id = s.path_id
          WHERE s.platform_id = $1 AND s.session_id = g.session_id
            AND (s.deleted OR coalesce(p.deleted, false)))
),
enrolled_pairs AS (
    SELECT certificate_id, user_id, bool_or(NOT archived) AS enrolled
    FROM cert_enrollments GROUP BY certificate_id, user_id
),
latest_grants AS (
    SELECT DISTINCT ON (g.certificate_id COLLATE "C", g.user_id COLLATE "C")
           g.certificate_id, g.user_id, g.delivered_at, g.expires_at,
           {status_g} AS status
    FROM cert_grants g
    ORDER BY g.certificate_id COLLATE "C", g.user_id COLLATE "C",
             {recency_g}
),
links AS (
    SELECT coalesce(e.certificate_id, g.certificate_id) AS certificate_id,
           coalesce(e.user_id, g.user_id) AS user_id,
           coalesce(e.enrolled, false) AS enrolled, g.user_id IS NOT NULL AS certified,
           g.delivered_at, g.expires_at, g.status
    FROM enrolled_pairs e
    FULL JOIN latest_grants g ON g.certificate_id = e.certificate_id AND g.user_id = e.user_id
),
path_scope_pairs AS (
    SELECT DISTINCT ce.certificate_id, ce.user_id
    FROM cert_enrollments ce JOIN my_paths mp USING (path_id)
)"""

_SUMMARY_LINKS = """
links AS NOT MATERIALIZED (
    SELECT cl.certificate_id, cl.user_id, cl.enrolled, cl.grant_id IS NOT NULL AS certified,
           cl.delivered_at, cl.expires_at,
           CASE WHEN cl.grant_id IS NOT NULL THEN {status_cl} END AS status
    FROM certificate_learners cl
    WHERE cl.platform_id = $1 AND ($11::text IS NULL OR cl.certificate_id = $11) AND {only_cl}
),
path_scope_pairs AS (
    SELECT mp.certificate_id, e.user_id
    FROM my_paths mp
    JOIN path_sessions s ON s.platform_id = $1 AND s.path_id = mp.path_id
                        AND NOT s.deleted AND s.state_event_at IS NOT NULL
    JOIN enrollments e ON e.platform_id = $1 AND e.session_id = s.session_id AND NOT e.deleted
    WHERE ($11::text IS NULL OR mp.certificate_id = $11) AND {only_e}
)"""


def scope_ctes(learner: str = "NULL", *, summary: bool = False) -> str:
    """The ``WITH RECURSIVE ...`` prefix; append the final ``SELECT`` of a query to it.

    ``learner``: SQL of a text parameter naming the one learner the query is about (e.g.
    ``"$12::text"``), or ``"NULL"`` (the default) for every learner. When not NULL,
    ``cert_enrollments`` and ``cert_grants`` (hence the links) only hold that learner's rows;
    use it only when the query reads nothing else (the certificate's scope check still holds:
    a learner in scope is linked, which puts the certificate in scope).

    ``summary``: read ``links`` from the ``certificate_learners`` summary (one row per linked
    pair, maintained by the projector) instead of computing them from the normalized tables.
    Exact only when no visible grant is delivered after ``as_of`` (docs/DECISIONS.md "Query API
    on the summaries"); the summary prefix has no ``granting_sessions``, ``cert_enrollments``,
    ``cert_grants``, ``enrolled_pairs`` nor ``latest_grants``. Its ``links`` CTE is not
    materialized, so each reader's conditions reach the summary's indexes.
    """
    only_learner = f"({learner} IS NULL OR {{alias}}.user_id = {learner})"
    links = (_SUMMARY_LINKS if summary else _NORMALIZED_LINKS).format(
        only_e=only_learner.format(alias="e"),
        only_g=only_learner.format(alias="g"),
        only_cl=only_learner.format(alias="cl"),
        status_g=STATUS_SQL.format(g="g"),
        status_cl=STATUS_SQL.format(g="cl"),
        recency_g=GRANT_RECENCY_SQL.format(g="g"),
    )
    return f"""
WITH RECURSIVE
role_groups (group_id) AS (
    SELECT gr.group_id FROM group_roles gr
    WHERE gr.platform_id = $1 AND gr.user_id = $2 AND gr.granted
      AND {_NOT_DELETED_GROUP.format(col="gr.group_id")}
    UNION
    SELECT g.group_id FROM groups g JOIN role_groups r ON g.parent_group_id = r.group_id
    WHERE g.platform_id = $1 AND NOT g.deleted
),
filter_groups (group_id) AS (
    SELECT f.group_id FROM unnest($7::text[]) AS f (group_id)
    WHERE {_NOT_DELETED_GROUP.format(col="f.group_id")}
    UNION
    SELECT g.group_id FROM groups g JOIN filter_groups f ON g.parent_group_id = f.group_id
    WHERE g.platform_id = $1 AND NOT g.deleted
),
group_learners AS (
    -- read only through IN: no DISTINCT, whose hash table is sized for the platform's
    -- memberships when the executor starts (~10 ms per query, even when never run)
    SELECT m.user_id FROM group_memberships m JOIN role_groups r USING (group_id)
    WHERE m.platform_id = $1
),
taught_paths AS (
    SELECT s.path_id FROM path_sessions s
    WHERE s.platform_id = $1 AND NOT s.deleted AND $2 = ANY (s.instructor_ids)
),
my_paths AS (
    SELECT p.path_id, p.certificate_id FROM paths p
    WHERE p.platform_id = $1 AND NOT p.deleted AND p.state_event_at IS NOT NULL
      AND ($2 = ANY (p.author_ids) OR p.path_id IN (SELECT path_id FROM taught_paths))
),
known_certificates AS (
    SELECT c.certificate_id, c.title, c.owner_group_id, c.validity_months FROM certificates c
    WHERE c.platform_id = $1 AND NOT c.deleted AND c.state_event_at IS NOT NULL
      AND ($11::text IS NULL OR c.certificate_id = $11)
),{links},
scoped_links AS (
    SELECT l.* FROM links l
    WHERE $3
       OR l.user_id IN (SELECT user_id FROM group_learners)
       OR (l.certificate_id, l.user_id) IN (SELECT certificate_id, user_id FROM path_scope_pairs)
),
population_links AS (
    SELECT sl.*, u.first_name, u.last_name, u.email FROM scoped_links sl
    LEFT JOIN users u ON u.platform_id = $1 AND u.user_id = sl.user_id
    WHERE ($9 = 'all' OR u.status = $9 OR (u.status IS NULL AND $9 = 'active'))
      AND {USER_FILTERS_SQL.format(u="u")}
),
scope_certificates AS (
    SELECT kc.* FROM known_certificates kc
    WHERE $3
       OR kc.certificate_id IN (SELECT certificate_id FROM my_paths)
       OR kc.owner_group_id IN (SELECT group_id FROM role_groups)
       OR kc.certificate_id IN (
           SELECT certificate_id FROM links
           WHERE user_id IN (SELECT user_id FROM group_learners))
)
"""


SCOPE_CTES = scope_ctes()
"""The prefix of queries about every learner (see :func:`scope_ctes`)."""

SUMMARY_SCOPE_CTES = scope_ctes(summary=True)
"""The prefix of queries about every learner reading the summary (see :func:`scope_ctes`)."""
