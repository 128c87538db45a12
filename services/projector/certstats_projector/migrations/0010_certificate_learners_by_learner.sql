-- certificate_learners keyed by learner first: the primary key (platform_id, user_id,
-- certificate_id), covering the columns the user-filtered statistics count, replaces both the
-- key (platform_id, certificate_id, user_id) and the covering certificate_learners_user index
-- (migration 0006). The refresh reads a learner's rows and upserts them by this key (ON
-- CONFLICT infers a unique index from its column set, not their order); the statistics' user
-- filters count a user's rows by an index-only scan of it, as they did of
-- certificate_learners_user; the certificate lists read certificate_learners_by_last_name and
-- certificate_learners_expiry. One index written per row instead of two: the catch-up's
-- rebuild, which inserts rows in this order, wrote 100k rows in ~0.46 s instead of ~0.98 s of
-- PostgreSQL CPU (bench/PROJECTOR_BENCHMARK.md, ninth session).
ALTER TABLE certificate_learners DROP CONSTRAINT certificate_learners_pkey;
DROP INDEX certificate_learners_user;
ALTER TABLE certificate_learners ADD CONSTRAINT certificate_learners_pkey
    PRIMARY KEY (platform_id, user_id, certificate_id) INCLUDE (enrolled, grant_id, expires_at);
