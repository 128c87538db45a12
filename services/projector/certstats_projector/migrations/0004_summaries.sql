-- Summary read models of the statistics (SPEC.md sections 2 and 5), maintained by the projector
-- in every batch transaction (certstats_projector/projection/summaries.py) and recomputed from
-- scratch by summaries.rebuild_summaries. They hold the links of "now": every visible grant,
-- whatever its delivered_at (docs/DECISIONS.md, "Summary read models").

-- one row per linked (certificate, learner) pair (SPEC.md 5.1/5.2 "linked"): a visible enrollment
-- in a session granting the certificate (archived sessions included) or a visible grant of it.
CREATE TABLE certificate_learners (
    platform_id    text NOT NULL,
    certificate_id text NOT NULL,
    user_id        text NOT NULL,
    enrolled       boolean NOT NULL,   -- a visible enrollment in a NON-archived session granting it
    grant_id       text,               -- most recent visible grant (SPEC.md 2 order); NULL = none
    delivered_at   timestamptz,        -- of that grant
    expires_at     timestamptz,        -- of that grant (NULL = never, or no grant)
    user_status    text NOT NULL,      -- copied from users.status ('active' for placeholders)
    last_name      text NOT NULL,      -- coalesce(users.last_name, ''): the default sort key
    PRIMARY KEY (platform_id, certificate_id, user_id)
);
CREATE INDEX certificate_learners_by_last_name
    ON certificate_learners (platform_id, certificate_id, user_status, last_name, user_id);
CREATE INDEX certificate_learners_user ON certificate_learners (platform_id, user_id);
CREATE INDEX certificate_learners_expiry
    ON certificate_learners (platform_id, certificate_id, user_status, expires_at)
    WHERE grant_id IS NOT NULL;

-- additive counters; one row per writer "slot" so concurrent commit lanes never wait on the
-- same row; readers sum over slots.
CREATE TABLE certificate_stats (
    platform_id text NOT NULL, certificate_id text NOT NULL, user_status text NOT NULL,
    slot integer NOT NULL,
    linked bigint NOT NULL, certified bigint NOT NULL, enrolled bigint NOT NULL,
    PRIMARY KEY (platform_id, certificate_id, user_status, slot)
);

-- certified learners whose latest grant expires on a UTC day (non-NULL expires_at only):
-- count(expires_at <= x) = sum(learners of days < day(x)) + exact count in certificate_learners
-- of day(x)'s start .. x (the expiry index). Days bound the rows per certificate.
CREATE TABLE certificate_expiry (
    platform_id text NOT NULL, certificate_id text NOT NULL, user_status text NOT NULL,
    slot integer NOT NULL, expires_on date NOT NULL, learners bigint NOT NULL,
    PRIMARY KEY (platform_id, certificate_id, user_status, expires_on, slot)
);

-- greatest delivered_at of any row ever written to certificate_learners, per slot: the API uses
-- the summary only when as_of >= max over slots (else every visible grant is not yet "delivered"
-- at as_of and it falls back to its normalized SQL).
CREATE TABLE summary_horizon (
    platform_id text NOT NULL, slot integer NOT NULL, delivered_until timestamptz NOT NULL,
    PRIMARY KEY (platform_id, slot)
);

-- A session deleted (or moved to a deleted path) hides the grants naming it: the projector
-- finds their learners through this index.
CREATE INDEX certificate_grants_session ON certificate_grants (platform_id, session_id);
