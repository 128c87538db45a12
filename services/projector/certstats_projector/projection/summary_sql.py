"""SQL of the summary read models (migration ``0004_summaries.sql``; SPEC.md §2, §5).

A *linked* (certificate, learner) pair is exactly what the query API's ``links`` CTE computes
(``certstats_query_api/sql/scope.py``), without its ``delivered_at <= as_of`` condition:

- ``enrolled``: a visible enrollment (not deleted) in a known, non-deleted session of a known,
  non-deleted path granting a known (``state_event_at`` set), non-deleted certificate; true
  when one such session is not archived (archived sessions still link);
- the most recent visible grant of a known, non-deleted certificate (not revoked; neither its
  enrollment, nor that enrollment's session or path, nor its own session or that session's path
  deleted), in SPEC.md §2 order: ``delivered_at DESC, expires_at DESC NULLS FIRST, grant_id DESC``.

``LINKED_PAIRS_SQL`` gives the pairs of every learner; ``REFRESH_SQL`` recomputes those of the
affected learners, rewrites their rows and adds the differences to the counters, in one
statement.
"""

from __future__ import annotations

CERTIFICATE_STATE = "(NOT c.deleted AND c.state_event_at IS NOT NULL)::text"
"""What of a certificate row ``c`` decides links: known and not deleted."""

PATH_STATE = "ROW(p.deleted, p.state_event_at IS NOT NULL, p.certificate_id)::text"
"""What of a path row ``p`` decides links and grant visibility."""

SESSION_STATE = "ROW(s.deleted, s.state_event_at IS NOT NULL, s.archived, s.path_id)::text"
"""What of a session row ``s`` decides links, ``enrolled`` and grant visibility."""

CATALOG_STATE_SQL = f"""
SELECT 'certificate' AS kind, c.platform_id, c.certificate_id AS id, {CERTIFICATE_STATE} AS state
FROM unnest($1::text[], $2::text[]) AS i (platform_id, id)
JOIN certificates c ON c.platform_id = i.platform_id AND c.certificate_id = i.id
UNION ALL
SELECT 'path', p.platform_id, p.path_id, {PATH_STATE}
FROM unnest($3::text[], $4::text[]) AS i (platform_id, id)
JOIN paths p ON p.platform_id = i.platform_id AND p.path_id = i.id
UNION ALL
SELECT 'path_session', s.platform_id, s.session_id, {SESSION_STATE}
FROM unnest($5::text[], $6::text[]) AS i (platform_id, id)
JOIN path_sessions s ON s.platform_id = i.platform_id AND s.session_id = i.id
"""
"""Link-deciding state of the batch's catalog entities before the handlers write them
(``$1``/``$2`` certificates, ``$3``/``$4`` paths, ``$5``/``$6`` sessions: platform ids, ids).
Rows of unknown entities are absent."""

LOCK_PLATFORMS_SQL = """
SELECT CASE WHEN k.exclusive THEN pg_advisory_xact_lock($1, k.key)
            ELSE pg_advisory_xact_lock_shared($1, k.key) END
FROM (SELECT hashtext($2 || '/' || p.platform_id) AS key, bool_or(p.exclusive) AS exclusive
      FROM unnest($3::text[], $4::boolean[]) AS p (platform_id, exclusive)
      GROUP BY 1 ORDER BY 1) AS k
"""
"""Per (generation ``$2``, platform) advisory transaction locks, two-int key space ``$1``, in
key order: exclusive where ``$4`` (the batch changed the platform's link-deciding catalog
state), else shared."""


def catalog_ctes(affected: str) -> str:
    """``WITH`` items (materialized: scanned once, then hashed) of the catalog facts links
    depend on, for the platforms of relation ``affected`` (``platform_id``, ...):

    - ``granting_sessions (platform_id, session_id, archived, certificate_id)``: known,
      non-deleted sessions of known, non-deleted paths granting a known, non-deleted certificate;
    - ``hiding_sessions (platform_id, session_id)``: sessions that hide the grants naming them
      or their enrollments: deleted, or of a deleted path;
    - ``known_certificates (platform_id, certificate_id)``: known and not deleted.
    """
    only = f" AND {{t}}.platform_id IN (SELECT platform_id FROM {affected})"
    return f"""
granting_sessions AS MATERIALIZED (
    SELECT s.platform_id, s.session_id, s.archived, p.certificate_id
    FROM path_sessions s
    JOIN paths p ON p.platform_id = s.platform_id AND p.path_id = s.path_id
    JOIN certificates c ON c.platform_id = p.platform_id AND c.certificate_id = p.certificate_id
    WHERE NOT (s.deleted OR p.deleted OR c.deleted)
      AND s.state_event_at IS NOT NULL AND p.state_event_at IS NOT NULL
      AND c.state_event_at IS NOT NULL{only.format(t="s")}
),
hiding_sessions AS MATERIALIZED (
    SELECT s.platform_id, s.session_id
    FROM path_sessions s
    LEFT JOIN paths p ON p.platform_id = s.platform_id AND p.path_id = s.path_id
    WHERE (s.deleted OR coalesce(p.deleted, false)){only.format(t="s")}
),
known_certificates AS MATERIALIZED (
    SELECT c.platform_id, c.certificate_id FROM certificates c
    WHERE NOT c.deleted AND c.state_event_at IS NOT NULL{only.format(t="c")}
)"""


def _linked_pairs_sql(platforms: str | None) -> str:
    """:data:`LINKED_PAIRS_SQL` over every platform (``platforms`` None) or over those of the
    ``text[]`` parameter ``platforms`` (e.g. ``"$1"``).

    Written for the planner's estimates (the catch-up runs it after ``ANALYZE``): plain joins
    of the tables, each big table restricted by ``platform_id = ANY (platforms)`` itself, and
    visibility as ``IS NOT TRUE`` of outer-joined columns, so every row count is estimated
    from column statistics and the planner hashes the platform's rows (the earlier shape, CTEs
    joined through ``IN (SELECT .. FROM rebuilt)`` and ``NOT EXISTS`` with ``OR``, was
    estimated at a few rows and looped over indexes: docs/DECISIONS.md "Deferred summaries").
    Pairs come out in the primary key's order (platform, learner, certificate, migration
    0010), so the ``INSERT`` that takes them writes its index from left to right (a quarter
    cheaper than in hash order, measured with the earlier key and index)."""

    def only(t: str) -> str:
        return "" if platforms is None else f" AND {t}.platform_id = ANY ({platforms}::text[])"

    return f"""
SELECT k.platform_id, k.certificate_id, k.user_id, k.enrolled, k.grant_id, k.delivered_at,
       k.expires_at, coalesce(u.status, 'active') AS user_status,
       coalesce(u.last_name, '') AS last_name, u.first_name, u.email
FROM (
    SELECT coalesce(n.platform_id, l.platform_id) AS platform_id,
           coalesce(n.certificate_id, l.certificate_id) AS certificate_id,
           coalesce(n.user_id, l.user_id) AS user_id, coalesce(n.enrolled, false) AS enrolled,
           l.grant_id, l.delivered_at, l.expires_at
    FROM (
        SELECT e.platform_id, p.certificate_id, e.user_id, bool_or(NOT s.archived) AS enrolled
        FROM enrollments e
        JOIN path_sessions s ON s.platform_id = e.platform_id AND s.session_id = e.session_id
        JOIN paths p ON p.platform_id = s.platform_id AND p.path_id = s.path_id
        JOIN certificates c ON c.platform_id = p.platform_id
                           AND c.certificate_id = p.certificate_id
        WHERE NOT e.deleted{only("e")}
          AND NOT s.deleted AND s.state_event_at IS NOT NULL
          AND NOT p.deleted AND p.state_event_at IS NOT NULL
          AND NOT c.deleted AND c.state_event_at IS NOT NULL
        GROUP BY e.platform_id, p.certificate_id, e.user_id
    ) AS n
    FULL JOIN (
        SELECT DISTINCT ON (g.platform_id, g.certificate_id, g.user_id)
               g.platform_id, g.certificate_id, g.user_id, g.grant_id, g.delivered_at,
               g.expires_at
        FROM certificate_grants g
        JOIN certificates c ON c.platform_id = g.platform_id
                           AND c.certificate_id = g.certificate_id
        LEFT JOIN enrollments ge ON ge.platform_id = g.platform_id
                                AND ge.enrollment_id = g.enrollment_id{only("ge")}
        LEFT JOIN path_sessions es ON es.platform_id = ge.platform_id
                                  AND es.session_id = ge.session_id
        LEFT JOIN paths ep ON ep.platform_id = es.platform_id AND ep.path_id = es.path_id
        LEFT JOIN path_sessions gs ON gs.platform_id = g.platform_id
                                  AND gs.session_id = g.session_id
        LEFT JOIN paths gp ON gp.platform_id = gs.platform_id AND gp.path_id = gs.path_id
        WHERE NOT g.revoked AND g.delivered_at IS NOT NULL{only("g")}
          AND NOT c.deleted AND c.state_event_at IS NOT NULL
          AND ge.deleted IS NOT TRUE AND es.deleted IS NOT TRUE AND ep.deleted IS NOT TRUE
          AND gs.deleted IS NOT TRUE AND gp.deleted IS NOT TRUE
        ORDER BY g.platform_id, g.certificate_id, g.user_id,
                 g.delivered_at DESC, g.expires_at DESC NULLS FIRST, g.grant_id DESC
    ) AS l ON l.platform_id = n.platform_id AND l.certificate_id = n.certificate_id
          AND l.user_id = n.user_id
    ORDER BY 1, 3, 2
) AS k
LEFT JOIN users u ON u.platform_id = k.platform_id AND u.user_id = k.user_id{only("u")}
"""


LINKED_PAIRS_SQL = _linked_pairs_sql(None)
"""Every linked pair of the generation (``search_path``) with its ``certificate_learners``
columns, set-based: the truth the summary maintains (and its rebuild). Rows in no order."""

_LEARNER_PAIRS_CTES = f"""
{catalog_ctes("affected")},
learner_enrollments AS MATERIALIZED (
    SELECT a.platform_id, a.user_id, e.session_id
    FROM affected a
    CROSS JOIN LATERAL (
        SELECT e.session_id FROM enrollments e
        WHERE e.platform_id = a.platform_id AND e.user_id = a.user_id AND NOT e.deleted
        OFFSET 0
    ) AS e
),
learner_grants AS MATERIALIZED (
    SELECT a.platform_id, a.user_id, g.*, ge.deleted AS enrollment_deleted,
           ge.session_id AS enrollment_session_id
    FROM affected a
    CROSS JOIN LATERAL (
        SELECT g.grant_id, g.certificate_id, g.enrollment_id, g.session_id, g.delivered_at,
               g.expires_at
        FROM certificate_grants g
        WHERE g.platform_id = a.platform_id AND g.user_id = a.user_id
          AND NOT g.revoked AND g.delivered_at IS NOT NULL
        OFFSET 0
    ) AS g
    LEFT JOIN LATERAL (
        SELECT ge.deleted, ge.session_id FROM enrollments ge
        WHERE ge.platform_id = a.platform_id AND ge.enrollment_id = g.enrollment_id
        OFFSET 0
    ) AS ge ON true
),
learner_pairs AS (
    SELECT coalesce(n.platform_id, l.platform_id) AS platform_id,
           coalesce(n.certificate_id, l.certificate_id) AS certificate_id,
           coalesce(n.user_id, l.user_id) AS user_id,
           coalesce(n.enrolled, false) AS enrolled, l.grant_id, l.delivered_at, l.expires_at
    FROM (
        SELECT le.platform_id, gs.certificate_id, le.user_id,
               bool_or(NOT gs.archived) AS enrolled
        FROM learner_enrollments le
        JOIN granting_sessions gs ON gs.platform_id = le.platform_id
                                 AND gs.session_id = le.session_id
        GROUP BY le.platform_id, gs.certificate_id, le.user_id
    ) AS n
    FULL JOIN (
        SELECT DISTINCT ON (lg.platform_id, lg.certificate_id, lg.user_id)
               lg.platform_id, lg.certificate_id, lg.user_id, lg.grant_id, lg.delivered_at,
               lg.expires_at
        FROM learner_grants lg
        JOIN known_certificates kc ON kc.platform_id = lg.platform_id
                                  AND kc.certificate_id = lg.certificate_id
        WHERE NOT coalesce(lg.enrollment_deleted, false)
          AND NOT EXISTS (
              SELECT 1 FROM hiding_sessions h
              WHERE h.platform_id = lg.platform_id AND h.session_id = lg.enrollment_session_id)
          AND NOT EXISTS (
              SELECT 1 FROM hiding_sessions h
              WHERE h.platform_id = lg.platform_id AND h.session_id = lg.session_id)
        ORDER BY lg.platform_id, lg.certificate_id, lg.user_id,
                 lg.delivered_at DESC, lg.expires_at DESC NULLS FIRST, lg.grant_id DESC
    ) AS l ON l.platform_id = n.platform_id AND l.certificate_id = n.certificate_id
          AND l.user_id = n.user_id
),
fresh AS (
    SELECT k.*, u.user_status, u.last_name, u.first_name, u.email
    FROM learner_pairs k
    CROSS JOIN LATERAL (
        SELECT coalesce(max(u.status), 'active') AS user_status,
               coalesce(max(u.last_name), '') AS last_name, max(u.first_name) AS first_name,
               max(u.email) AS email
        FROM users u WHERE u.platform_id = k.platform_id AND u.user_id = k.user_id
    ) AS u
),
old AS (
    SELECT cl.* FROM affected a
    CROSS JOIN LATERAL (
        SELECT l.ctid AS row_id, l.* FROM certificate_learners l
        WHERE l.platform_id = a.platform_id AND l.user_id = a.user_id
        OFFSET 0
    ) AS cl
)"""
"""The linked pairs of the ``affected`` learners (``fresh``) and their current rows (``old``,
with their ``row_id``). Rows of the big tables are read learner by learner, row by row
through the ``*_user`` indexes and primary keys (``OFFSET 0`` keeps each lookup apart); the
catalog facts are scanned once and hashed. So the plan does not depend on statistics: a fresh
generation has none, and the estimated joins then took seconds per batch. The rules are those
of ``LINKED_PAIRS_SQL``, which applies them set-based to every learner."""


def _changed(kind: str, table: str, id_column: str, state: str, first_param: int) -> str:
    """``SELECT (kind, platform_id, id)`` of the entities of ``table`` (``"<name> <alias>"``)
    given as parameters ``$first_param`` .. ``+2`` (platform ids, ids, states read before the
    handlers) whose link-deciding ``state`` (SQL over the alias) differs now."""
    alias = table.split()[1]
    a, b, c = first_param, first_param + 1, first_param + 2
    return f"""SELECT '{kind}' AS kind, b.platform_id, b.id
    FROM unnest(${a}::text[], ${b}::text[], ${c}::text[]) AS b (platform_id, id, state)
    LEFT JOIN {table} ON {alias}.platform_id = b.platform_id AND {alias}.{id_column} = b.id
    WHERE b.state IS DISTINCT FROM {state}"""


CHANGED_CATALOG_SQL = f"""
{_changed("certificate", "certificates c", "certificate_id", CERTIFICATE_STATE, 1)}
UNION ALL
{_changed("path", "paths p", "path_id", PATH_STATE, 4)}
UNION ALL
{_changed("path_session", "path_sessions s", "session_id", SESSION_STATE, 7)}
"""
"""After the handlers: the catalog entities of the batch (``$1``-``$9``: platform ids, ids and
states read before the handlers, of certificates, paths, sessions) whose link-deciding state
differs now, as (kind, platform_id, id). Only the entity's own partition (one commit lane)
writes it, other lanes at most insert an unknown placeholder: the answer stays true until the
batch commits."""

_CHANGED_CATALOG_CTES = """
certificates_changed AS (
    SELECT * FROM unnest($4::text[], $5::text[]) AS c (platform_id, certificate_id)
),
paths_changed AS (
    SELECT * FROM unnest($6::text[], $7::text[]) AS p (platform_id, path_id)
    UNION
    SELECT p.platform_id, p.path_id FROM certificates_changed cc
    JOIN paths p ON p.platform_id = cc.platform_id AND p.certificate_id = cc.certificate_id
),
sessions_changed AS (
    SELECT * FROM unnest($8::text[], $9::text[]) AS s (platform_id, session_id)
    UNION
    SELECT s.platform_id, s.session_id FROM paths_changed pc
    JOIN path_sessions s ON s.platform_id = pc.platform_id AND s.path_id = pc.path_id
),
affected AS (
    SELECT * FROM (
    SELECT * FROM unnest($1::text[], $2::text[]) AS a (platform_id, user_id)
    UNION
    SELECT e.platform_id, e.user_id FROM sessions_changed sc
    JOIN enrollments e ON e.platform_id = sc.platform_id AND e.session_id = sc.session_id
    UNION
    SELECT g.platform_id, g.user_id FROM sessions_changed sc
    JOIN certificate_grants g ON g.platform_id = sc.platform_id AND g.session_id = sc.session_id
    UNION
    SELECT g.platform_id, g.user_id FROM certificates_changed cc
    JOIN certificate_grants g ON g.platform_id = cc.platform_id
                             AND g.certificate_id = cc.certificate_id
    ) AS a
    WHERE NOT EXISTS (SELECT 1 FROM summary_deferred d WHERE d.platform_id = a.platform_id)
)"""
"""The learners whose links may have changed: ``$1``/``$2`` (platform ids, user ids of the
batch's learner facts and user events), and those reached from the catalog entities whose
link-deciding state changed (``$4``-``$9``: platform ids, ids of certificates, paths, sessions;
see ``CHANGED_CATALOG_SQL``). A changed certificate reaches its paths, a changed path its
sessions (read here, under the lock: another lane may have moved them); a changed session
reaches its enrollments' learners and the learners of the grants naming it; a changed
certificate, the learners of its grants. Learners of a platform whose summaries are deferred
(``summary_deferred``) are left out: its catch-up rebuild recomputes them."""

REFRESH_PLANNER_SQL = """
SELECT set_config('jit', 'off', true), set_config('join_collapse_limit', '1', true),
       set_config('plan_cache_mode', 'force_custom_plan', true)
"""
"""Planner settings of the rest of the batch transaction, for ``REFRESH_SQL``: joins in the
written order, no JIT (its compilation alone took ~300 ms per batch), and a plan made for each
batch's arguments (the prepared statement's generic plan, chosen at its sixth run from that
moment's estimates, cost 82-129 µs of PostgreSQL per event instead of 56-74:
bench/PROJECTOR_BENCHMARK.md, ninth session)."""

REFRESH_SQL = f"""
WITH {_CHANGED_CATALOG_CTES},
{_LEARNER_PAIRS_CTES},
changes AS (
    SELECT coalesce(f.platform_id, o.platform_id) AS platform_id,
           coalesce(f.certificate_id, o.certificate_id) AS certificate_id,
           coalesce(f.user_id, o.user_id) AS user_id,
           f.user_id IS NOT NULL AS linked_now, o.user_id IS NOT NULL AS linked_before,
           f.enrolled, f.grant_id, f.delivered_at, f.expires_at, f.user_status, f.last_name,
           f.first_name, f.email, o.row_id, o.enrolled AS old_enrolled, o.grant_id AS old_grant_id,
           o.expires_at AS old_expires_at, o.user_status AS old_user_status
    FROM fresh f
    FULL JOIN old o ON o.platform_id = f.platform_id AND o.certificate_id = f.certificate_id
                   AND o.user_id = f.user_id
    WHERE (f.enrolled, f.grant_id, f.delivered_at, f.expires_at, f.user_status, f.last_name,
           f.first_name, f.email)
          IS DISTINCT FROM
          (o.enrolled, o.grant_id, o.delivered_at, o.expires_at, o.user_status, o.last_name,
           o.first_name, o.email)
),
removed AS (
    DELETE FROM certificate_learners
    WHERE ctid = ANY (ARRAY(SELECT row_id FROM changes WHERE NOT linked_now))
),
written AS (
    INSERT INTO certificate_learners AS cl (platform_id, certificate_id, user_id, enrolled,
                                            grant_id, delivered_at, expires_at, user_status,
                                            last_name, first_name, email)
    SELECT platform_id, certificate_id, user_id, enrolled, grant_id, delivered_at, expires_at,
           user_status, last_name, first_name, email
    FROM changes WHERE linked_now
    ORDER BY platform_id, user_id, certificate_id
    ON CONFLICT (platform_id, user_id, certificate_id) DO UPDATE
    SET enrolled = EXCLUDED.enrolled, grant_id = EXCLUDED.grant_id,
        delivered_at = EXCLUDED.delivered_at, expires_at = EXCLUDED.expires_at,
        user_status = EXCLUDED.user_status, last_name = EXCLUDED.last_name,
        first_name = EXCLUDED.first_name, email = EXCLUDED.email
),
counts AS (
    SELECT platform_id, certificate_id, user_status, 1 AS linked,
           (grant_id IS NOT NULL)::integer AS certified, enrolled::integer AS enrolled,
           expires_at
    FROM changes WHERE linked_now
    UNION ALL
    SELECT platform_id, certificate_id, old_user_status, -1,
           -(old_grant_id IS NOT NULL)::integer, -old_enrolled::integer, old_expires_at
    FROM changes WHERE linked_before
),
stats AS (
    INSERT INTO certificate_stats AS t (platform_id, certificate_id, user_status, slot,
                                        linked, certified, enrolled)
    SELECT platform_id, certificate_id, user_status, $3::integer,
           sum(linked), sum(certified), sum(enrolled)
    FROM counts
    GROUP BY platform_id, certificate_id, user_status
    HAVING sum(linked) <> 0 OR sum(certified) <> 0 OR sum(enrolled) <> 0
    ORDER BY platform_id, certificate_id, user_status
    ON CONFLICT (platform_id, certificate_id, user_status, slot) DO UPDATE
    SET linked = t.linked + EXCLUDED.linked, certified = t.certified + EXCLUDED.certified,
        enrolled = t.enrolled + EXCLUDED.enrolled
),
expiry AS (
    INSERT INTO certificate_expiry AS t (platform_id, certificate_id, user_status, slot,
                                         expires_on, learners)
    SELECT platform_id, certificate_id, user_status, $3::integer,
           (expires_at AT TIME ZONE 'UTC')::date AS expires_on, sum(certified)
    FROM counts
    WHERE certified <> 0 AND expires_at IS NOT NULL
    GROUP BY platform_id, certificate_id, user_status, expires_on
    HAVING sum(certified) <> 0
    ORDER BY platform_id, certificate_id, user_status, expires_on
    ON CONFLICT (platform_id, certificate_id, user_status, expires_on, slot) DO UPDATE
    SET learners = t.learners + EXCLUDED.learners
),
horizon AS (
    INSERT INTO summary_horizon AS h (platform_id, slot, delivered_until)
    SELECT platform_id, $3::integer, max(delivered_at)
    FROM changes WHERE linked_now AND delivered_at IS NOT NULL
    GROUP BY platform_id ORDER BY platform_id
    ON CONFLICT (platform_id, slot) DO UPDATE SET delivered_until = EXCLUDED.delivered_until
    WHERE h.delivered_until < EXCLUDED.delivered_until
)
SELECT count(*) FROM changes
"""
"""Recompute the ``certificate_learners`` rows of the affected learners (see
``_CHANGED_CATALOG_CTES``; ``$1``/``$2``, ``$4``-``$9``): delete the pairs no longer linked,
write the changed ones; add the differences (new - old) to ``certificate_stats`` and
``certificate_expiry`` under slot ``$3``, in key order; raise ``summary_horizon`` of the slot
to the newest ``delivered_at`` written. Returns the number of pairs changed."""


def _rebuild_sql(platforms: str | None) -> tuple[str, ...]:
    """Statements recomputing the summaries of every platform (``platforms`` None) or of those
    of the ``text[]`` parameter ``platforms``, counters in slot 0, in order."""
    if platforms is None:
        tables = "certificate_learners, certificate_stats, certificate_expiry, summary_horizon"
        clear: tuple[str, ...] = (f"TRUNCATE {tables}, summary_deferred",)
        where = ""
    else:
        where = f"platform_id = ANY ({platforms}::text[])"
        clear = tuple(
            f"DELETE FROM {table} WHERE {where}"
            for table in (
                "certificate_learners",
                "certificate_stats",
                "certificate_expiry",
                "summary_horizon",
                "summary_deferred",
            )
        )
        where = f" AND {where}"
    return (
        *clear,
        f"INSERT INTO certificate_learners {_linked_pairs_sql(platforms)}",
        f"""
INSERT INTO certificate_stats (platform_id, certificate_id, user_status, slot,
                               linked, certified, enrolled)
SELECT platform_id, certificate_id, user_status, 0, count(*),
       count(*) FILTER (WHERE grant_id IS NOT NULL), count(*) FILTER (WHERE enrolled)
FROM certificate_learners WHERE true{where} GROUP BY platform_id, certificate_id, user_status
""",
        f"""
INSERT INTO certificate_expiry (platform_id, certificate_id, user_status, slot, expires_on,
                                learners)
SELECT platform_id, certificate_id, user_status, 0, (expires_at AT TIME ZONE 'UTC')::date,
       count(*)
FROM certificate_learners WHERE grant_id IS NOT NULL AND expires_at IS NOT NULL{where}
GROUP BY 1, 2, 3, 5
""",
        f"""
INSERT INTO summary_horizon (platform_id, slot, delivered_until)
SELECT platform_id, 0, max(delivered_at) FROM certificate_learners
WHERE delivered_at IS NOT NULL{where} GROUP BY platform_id
""",
    )


REBUILD_SQL = _rebuild_sql(None)
"""Statements recomputing every summary from scratch (slot 0), in order; the first one also
empties ``summary_deferred`` (every platform's summaries are then exact)."""

REBUILD_PLATFORMS_SQL = _rebuild_sql("$1")
""":data:`REBUILD_SQL` for the platforms of ``$1`` (``text[]``) only, which it also deletes from
``summary_deferred``: the catch-up of deferred summaries (``catch_up_summaries``)."""

DEFERRED_PLATFORMS_SQL = "SELECT platform_id FROM summary_deferred ORDER BY platform_id"
"""The platforms whose summaries are deferred, in key order."""

EVERY_PLATFORM_LISTED_SQL = """
SELECT EXISTS (SELECT FROM summary_deferred) AND NOT EXISTS (
    SELECT FROM watermarks w
    WHERE NOT EXISTS (SELECT FROM summary_deferred d WHERE d.platform_id = w.platform_id))
"""
"""Whether some platform is listed, and every platform with applied events is."""

DEFER_SQL = """
INSERT INTO summary_deferred (platform_id)
SELECT DISTINCT unnest($1::text[]) ORDER BY 1
ON CONFLICT (platform_id) DO NOTHING
"""
"""List the platforms of ``$1`` (``text[]``) as deferred (a batch in catch-up mode)."""

SUMMED_COUNTERS_SQL = {
    "certificate_stats": (
        "SELECT platform_id, certificate_id, user_status, sum(linked), sum(certified),"
        " sum(enrolled) FROM {schema}.certificate_stats GROUP BY 1, 2, 3"
        " HAVING sum(linked) <> 0 OR sum(certified) <> 0 OR sum(enrolled) <> 0"
    ),
    "certificate_expiry": (
        "SELECT platform_id, certificate_id, user_status, expires_on, sum(learners)"
        " FROM {schema}.certificate_expiry GROUP BY 1, 2, 3, 4 HAVING sum(learners) <> 0"
    ),
}
"""The summary counters summed over their slots, zero counts left out (slots depend on which
commit lane applied what)."""
