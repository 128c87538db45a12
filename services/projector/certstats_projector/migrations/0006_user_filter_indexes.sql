-- The statistics' user filters (SPEC.md section 5) with a group or custom field filter start
-- from the matching users instead of scanning every user: the query API tests
-- `group_ids && <filter groups and subgroups>` and `custom_fields @@ <jsonpath predicate>`, and
-- the planner combines these indexes (BitmapAnd) before reading any users row. No platform_id
-- column (GIN): rows of other platforms are dropped by the heap recheck.
CREATE INDEX users_group_ids ON users USING gin (group_ids);
CREATE INDEX users_custom_fields ON users USING gin (custom_fields jsonb_path_ops);

-- Then the matching users' summary rows are counted by an index-only scan: a user's rows lie
-- side by side in this index, while they are spread over one heap page per certificate.
DROP INDEX certificate_learners_user;
CREATE INDEX certificate_learners_user ON certificate_learners (platform_id, user_id)
    INCLUDE (certificate_id, enrolled, grant_id, expires_at);
