"""The set-based INSERT statements of the query benchmark's synthetic platform.

Each fills one read-model table of the current generation (``search_path`` set to it) from
``generate_series`` or from tables filled before it; ``bench/query_data.py`` runs them in order
and documents the data's shape. ``$1`` is always the platform id and ``$2`` the anchor instant.
Pseudo-random draws call ``pg_temp.u01(row, draw)`` (created by :data:`U01_SQL`).
"""

U01_SQL = """
CREATE OR REPLACE FUNCTION pg_temp.u01(n bigint, seed bigint) RETURNS float8
LANGUAGE sql IMMUTABLE AS $$ SELECT (hashint8extended(n, seed) & 2147483647)::float8 / 2147483648 $$
"""
"""Uniform [0, 1) pseudo-random number of row ``n`` for draw ``seed`` (deterministic)."""

GROUPS_SQL = """
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

USERS_SQL = """
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

MEMBERSHIPS_SQL = """
INSERT INTO group_memberships (platform_id, group_id, user_id)
SELECT u.platform_id, g.group_id, u.user_id
FROM users u CROSS JOIN LATERAL unnest(u.group_ids) AS g (group_id)
WHERE u.platform_id = $1
"""

ROLES_SQL = """
INSERT INTO group_roles (platform_id, group_id, user_id, role, granted, role_event_at)
SELECT $1, 'g-d' || d, 'staff-' || d, 'admin', true, $2::timestamptz - interval '5 years'
FROM generate_series(1, 12) d
UNION ALL
SELECT $1, 'g-t' || t, 'staff-' || (12 + t), 'coach', true, $2::timestamptz - interval '5 years'
FROM generate_series(1, 288) t
"""

CERTIFICATES_SQL = """
INSERT INTO certificates (platform_id, certificate_id, title, owner_group_id, validity_months,
                          state_event_at, deleted)
SELECT $1, 'c-' || c, 'Certificate ' || lpad(c::text, 4, '0'),
       CASE WHEN c % 10 < 7 THEN 'g-d' || (1 + c % 12) END,
       (ARRAY[NULL, 6, 12, 12, 24, 36])[1 + c % 6], $2::timestamptz - interval '5 years',
       c % 500 = 499
FROM generate_series(0, 1999) c
"""

PATHS_SQL = """
INSERT INTO paths (platform_id, path_id, name, certificate_id, author_ids, state_event_at,
                   deleted)
SELECT $1, 'p-' || p, 'Path ' || p, CASE WHEN p < 3960 THEN 'c-' || p % 2000 END,
       ARRAY['staff-' || (1 + p % 300)], $2::timestamptz - interval '5 years', p % 1000 = 999
FROM generate_series(0, 3999) p
"""

SESSIONS_SQL = """
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

ENROLLMENTS_SQL = """
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

ENROLLMENT_GRANTS_SQL = """
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

MANUAL_GRANTS_SQL = """
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

WATERMARK_SQL = """
INSERT INTO watermarks (platform_id, data_as_of, applied_events)
SELECT $1, $2::timestamptz, (SELECT count(*) FROM enrollments WHERE platform_id = $1) * 3
"""
