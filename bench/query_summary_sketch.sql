-- Sketch, not a migration: summary read models that would bring the query API within its
-- targets at a million learners (SPEC.md §5), measured on the benchmark data of
-- bench/query_data.py. Run: psql -h 127.0.0.1 -U postgres -d certstats_bench -f bench/query_summary_sketch.sql
-- It builds the tables in a scratch schema `sketch` (about 1 minute) and times the queries.
--
-- Measured here (2 shared cores, PostgreSQL 15, jit off, work_mem 32MB), against the API's
-- current whole-platform SQL in brackets:
--   certificate list, active learners, 51 rows sorted by title ... ~20 ms   [~23 s]
--   the same sorted by certified learners ........................ ~18 ms
--   group g-d3 (+ subgroups) + Department=Sales + Gender=Female .. ~0.4 s  [~49 s]
--   first learner page of c-0 (1,000,000 learners) ............... ~6 ms   [~15 s]
--   COPY of the 1,000,000 learner rows of c-0 (CSV) .............. ~2.3 s  [API ~21 s]
--
-- Tables (all lead with platform_id, live in the generation schema, maintained by the
-- projector in the batch transaction, rebuilt by `rebuild` like every read model):
--   certificate_learners: one row per linked (certificate, learner) pair — "enrolled" (a visible
--     enrollment in a non-archived session granting it), the most recent visible grant (id,
--     delivered_at, expires_at), and the learner's status and sort key copied from users.
--   certificate_stats: per (certificate, user status): certified, enrolled and linked counts.
--   certificate_expiry: per (certificate, user status, expires_at): number of certified
--     learners whose latest grant expires then (NULL = never), so valid / expiring soon /
--     expired at any as_of and window are three range sums.
-- Maintenance: after applying a batch, recompute the certificate_learners rows of the touched
-- (platform, user) pairs with the SELECT below restricted to those users (enrollments, grants,
-- user status/profile), or to the touched certificates when a session, path or certificate
-- changes visibility/archival (rare, but c-0 means 1M rows: still one set-based statement);
-- adjust certificate_stats / certificate_expiry by the difference of the old and new rows.
-- Requests with as_of in the past, or pairs holding a grant delivered after now, fall back
-- to the existing SQL over the normalized tables (the summary holds "now" only).

\set ON_ERROR_STOP on
SET search_path = certstats_g1;
DROP SCHEMA IF EXISTS sketch CASCADE;
CREATE SCHEMA sketch;
SET maintenance_work_mem = '512MB';
SET work_mem = '256MB';

CREATE TABLE sketch.certificate_learners AS
WITH enrolled AS (
    SELECT e.platform_id, p.certificate_id, e.user_id, bool_or(NOT s.archived) AS enrolled
    FROM enrollments e
    JOIN path_sessions s ON s.platform_id = e.platform_id AND s.session_id = e.session_id
    JOIN paths p ON p.platform_id = s.platform_id AND p.path_id = s.path_id
    JOIN certificates c ON c.platform_id = p.platform_id AND c.certificate_id = p.certificate_id
    WHERE NOT (e.deleted OR s.deleted OR p.deleted OR c.deleted)
      AND s.state_event_at IS NOT NULL AND p.state_event_at IS NOT NULL
      AND c.state_event_at IS NOT NULL
    GROUP BY 1, 2, 3
),
latest AS (
    SELECT DISTINCT ON (g.platform_id, g.certificate_id, g.user_id)
           g.platform_id, g.certificate_id, g.user_id, g.grant_id, g.delivered_at, g.expires_at
    FROM certificate_grants g
    JOIN certificates c ON c.platform_id = g.platform_id AND c.certificate_id = g.certificate_id
    LEFT JOIN enrollments e ON e.platform_id = g.platform_id AND e.enrollment_id = g.enrollment_id
    LEFT JOIN path_sessions es ON es.platform_id = e.platform_id AND es.session_id = e.session_id
    LEFT JOIN paths ep ON ep.platform_id = es.platform_id AND ep.path_id = es.path_id
    LEFT JOIN path_sessions s ON s.platform_id = g.platform_id AND s.session_id = g.session_id
    LEFT JOIN paths p ON p.platform_id = s.platform_id AND p.path_id = s.path_id
    WHERE NOT g.revoked AND g.delivered_at <= now() AND NOT c.deleted
      AND c.state_event_at IS NOT NULL
      AND NOT coalesce(e.deleted OR es.deleted OR ep.deleted, false)
      AND NOT coalesce(s.deleted OR p.deleted, false)
    ORDER BY g.platform_id, g.certificate_id, g.user_id,
             g.delivered_at DESC, g.expires_at DESC NULLS FIRST, g.grant_id DESC
)
SELECT coalesce(n.platform_id, l.platform_id) AS platform_id,
       coalesce(n.certificate_id, l.certificate_id) AS certificate_id,
       coalesce(n.user_id, l.user_id) AS user_id,
       coalesce(n.enrolled, false) AS enrolled,
       l.grant_id, l.delivered_at, l.expires_at,
       coalesce(u.status, 'active') AS user_status,
       coalesce(u.last_name, '') AS sort_last_name
FROM enrolled n
FULL JOIN latest l ON l.platform_id = n.platform_id AND l.certificate_id = n.certificate_id
                  AND l.user_id = n.user_id
LEFT JOIN users u ON u.platform_id = coalesce(n.platform_id, l.platform_id)
                 AND u.user_id = coalesce(n.user_id, l.user_id);
ALTER TABLE sketch.certificate_learners ADD PRIMARY KEY (platform_id, certificate_id, user_id);
-- learner pages and CSV in last-name order (one index per whitelisted learner sort key)
CREATE INDEX ON sketch.certificate_learners
    (platform_id, certificate_id, user_status, sort_last_name, user_id);
-- population filters (group, custom field, registration date) start from users
CREATE INDEX ON sketch.certificate_learners (platform_id, user_id);

CREATE TABLE sketch.certificate_stats AS
SELECT platform_id, certificate_id, user_status,
       count(*) FILTER (WHERE delivered_at IS NOT NULL) AS certified,
       count(*) FILTER (WHERE enrolled) AS enrolled, count(*) AS linked
FROM sketch.certificate_learners GROUP BY 1, 2, 3;
ALTER TABLE sketch.certificate_stats ADD PRIMARY KEY (platform_id, certificate_id, user_status);

CREATE TABLE sketch.certificate_expiry AS
SELECT platform_id, certificate_id, user_status, expires_at, count(*) AS learners
FROM sketch.certificate_learners WHERE delivered_at IS NOT NULL GROUP BY 1, 2, 3, 4;
CREATE INDEX ON sketch.certificate_expiry
    (platform_id, certificate_id, user_status, expires_at) INCLUDE (learners);

VACUUM ANALYZE sketch.certificate_learners;
VACUUM ANALYZE sketch.certificate_stats;
VACUUM ANALYZE sketch.certificate_expiry;

SET search_path = sketch, certstats_g1;
SET jit = off;
SET work_mem = '32MB';
\timing on
\o /dev/null

\echo certificate list (platform admin, active learners, sorted by title)
SELECT c.certificate_id, c.title, og.name AS owner_group, c.validity_months,
       st.certified, st.enrolled,
       (SELECT count(*) FROM paths p WHERE p.platform_id = c.platform_id
          AND p.certificate_id = c.certificate_id AND NOT p.deleted) AS associated_paths,
       x.valid, x.expiring_soon, x.expired
FROM certificates c
JOIN certificate_stats st ON st.platform_id = c.platform_id
                         AND st.certificate_id = c.certificate_id AND st.user_status = 'active'
LEFT JOIN groups og ON og.platform_id = c.platform_id AND og.group_id = c.owner_group_id
CROSS JOIN LATERAL (
    SELECT coalesce(sum(learners) FILTER (WHERE expires_at IS NULL
                                     OR expires_at > now() + interval '30 days'), 0) AS valid,
           coalesce(sum(learners) FILTER (WHERE expires_at > now()
                                     AND expires_at <= now() + interval '30 days'), 0)
               AS expiring_soon,
           coalesce(sum(learners) FILTER (WHERE expires_at <= now()), 0) AS expired
    FROM certificate_expiry e
    WHERE e.platform_id = c.platform_id AND e.certificate_id = c.certificate_id
      AND e.user_status = 'active') x
WHERE c.platform_id = 'bench' AND NOT c.deleted AND st.linked > 0
ORDER BY coalesce(c.title, ''), c.certificate_id
LIMIT 51;

\echo certificate list filtered by group g-d3 (and subgroups), Department=Sales, Gender=Female
WITH RECURSIVE filter_groups (group_id) AS (
    SELECT 'g-d3'::text
    UNION
    SELECT g.group_id FROM groups g JOIN filter_groups f ON g.parent_group_id = f.group_id
    WHERE g.platform_id = 'bench' AND NOT g.deleted
),
population AS (
    SELECT DISTINCT u.user_id
    FROM group_memberships m JOIN filter_groups USING (group_id)
    JOIN users u ON u.platform_id = m.platform_id AND u.user_id = m.user_id
    WHERE m.platform_id = 'bench' AND u.status = 'active'
      AND u.custom_fields ->> 'Department' = ANY ('{Sales}')
      AND u.custom_fields ->> 'Gender' = ANY ('{Female}')
)
SELECT c.certificate_id, c.title,
       count(*) FILTER (WHERE cl.delivered_at IS NOT NULL) AS certified,
       count(*) FILTER (WHERE cl.enrolled) AS enrolled,
       count(*) FILTER (WHERE cl.delivered_at IS NOT NULL AND (cl.expires_at IS NULL
                        OR cl.expires_at > now() + interval '30 days')) AS valid
FROM population p
JOIN certificate_learners cl ON cl.platform_id = 'bench' AND cl.user_id = p.user_id
JOIN certificates c ON c.platform_id = 'bench' AND c.certificate_id = cl.certificate_id
                   AND NOT c.deleted
GROUP BY c.certificate_id, c.title
ORDER BY coalesce(c.title, ''), c.certificate_id
LIMIT 51;

\echo first learner page of c-0 (1,000,000 learners)
SELECT cl.user_id, u.first_name, u.last_name, u.email, cl.delivered_at, cl.expires_at
FROM certificate_learners cl
JOIN users u ON u.platform_id = cl.platform_id AND u.user_id = cl.user_id
WHERE cl.platform_id = 'bench' AND cl.certificate_id = 'c-0' AND cl.user_status = 'active'
ORDER BY cl.sort_last_name, cl.user_id
LIMIT 51;

\echo CSV of every learner of c-0 (all user statuses)
\copy (SELECT cl.user_id, u.first_name, u.last_name, u.email, cl.delivered_at, cl.expires_at FROM certificate_learners cl JOIN users u ON u.platform_id = cl.platform_id AND u.user_id = cl.user_id WHERE cl.platform_id = 'bench' AND cl.certificate_id = 'c-0' ORDER BY cl.sort_last_name, cl.user_id) TO '/dev/null' CSV
