-- Read models of one generation (SPEC.md sections 2 and 6).
-- Applied inside a generation schema (search_path = that schema only): names are unqualified.
-- Every read-model table leads with platform_id (the tenant). Columns ending in *_event_at
-- hold the CloudEvents `time` of the event whose state the row carries (last writer wins,
-- SPEC.md section 3); a NULL there means the entity is only known from a reference so far
-- (a placeholder row, completed when its own event arrives).

CREATE TABLE users (
    platform_id      text        NOT NULL,
    user_id          text        NOT NULL,
    first_name       text,
    last_name        text,
    email            text,
    registered_at    timestamptz,
    custom_fields    jsonb       NOT NULL DEFAULT '{}'::jsonb,
    group_ids        text[]      NOT NULL DEFAULT '{}',
    state_event_at   timestamptz,
    status           text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deleted')),
    status_event_at  timestamptz,
    PRIMARY KEY (platform_id, user_id)
);
CREATE INDEX users_registered_at ON users (platform_id, registered_at);

-- Direct memberships, derived from users.group_ids (rewritten with each applied user state).
CREATE TABLE group_memberships (
    platform_id  text NOT NULL,
    group_id     text NOT NULL,
    user_id      text NOT NULL,
    PRIMARY KEY (platform_id, group_id, user_id)
);
CREATE INDEX group_memberships_user ON group_memberships (platform_id, user_id);

CREATE TABLE groups (
    platform_id      text        NOT NULL,
    group_id         text        NOT NULL,
    name             text,
    parent_group_id  text,
    state_event_at   timestamptz,
    deleted          boolean     NOT NULL DEFAULT false,
    PRIMARY KEY (platform_id, group_id)
);
CREATE INDEX groups_parent ON groups (platform_id, parent_group_id);

CREATE TABLE group_roles (
    platform_id    text        NOT NULL,
    group_id       text        NOT NULL,
    user_id        text        NOT NULL,
    role           text        NOT NULL CHECK (role IN ('admin', 'coach')),
    granted        boolean     NOT NULL,
    role_event_at  timestamptz NOT NULL,
    PRIMARY KEY (platform_id, group_id, user_id, role)
);
CREATE INDEX group_roles_user ON group_roles (platform_id, user_id);

CREATE TABLE certificates (
    platform_id      text        NOT NULL,
    certificate_id   text        NOT NULL,
    title            text,
    owner_group_id   text,
    validity_months  integer,
    state_event_at   timestamptz,
    deleted          boolean     NOT NULL DEFAULT false,
    PRIMARY KEY (platform_id, certificate_id)
);

CREATE TABLE paths (
    platform_id      text        NOT NULL,
    path_id          text        NOT NULL,
    name             text,
    certificate_id   text,
    author_ids       text[]      NOT NULL DEFAULT '{}',
    state_event_at   timestamptz,
    deleted          boolean     NOT NULL DEFAULT false,
    PRIMARY KEY (platform_id, path_id)
);
CREATE INDEX paths_certificate ON paths (platform_id, certificate_id);

CREATE TABLE path_sessions (
    platform_id             text        NOT NULL,
    session_id              text        NOT NULL,
    path_id                 text,
    name                    text,
    starts_at               timestamptz,
    ends_at                 timestamptz,
    instructor_ids          text[]      NOT NULL DEFAULT '{}',
    automatic_reenrollment  boolean     NOT NULL DEFAULT false,
    state_event_at          timestamptz,
    archived                boolean     NOT NULL DEFAULT false,
    archive_event_at        timestamptz,
    deleted                 boolean     NOT NULL DEFAULT false,
    PRIMARY KEY (platform_id, session_id)
);
CREATE INDEX path_sessions_path ON path_sessions (platform_id, path_id);

CREATE TABLE enrollments (
    platform_id             text        NOT NULL,
    enrollment_id           text        NOT NULL,
    user_id                 text        NOT NULL,
    session_id              text,
    enrolled_at             timestamptz,
    method                  text,
    automatic_reenrollment  boolean     NOT NULL DEFAULT false,
    previous_enrollment_id  text,
    state_event_at          timestamptz,
    path_status             text,
    path_status_changed_at  timestamptz,
    deleted                 boolean     NOT NULL DEFAULT false,
    PRIMARY KEY (platform_id, enrollment_id)
);
CREATE INDEX enrollments_session ON enrollments (platform_id, session_id);
CREATE INDEX enrollments_user ON enrollments (platform_id, user_id);

CREATE TABLE certificate_grants (
    platform_id     text        NOT NULL,
    grant_id        text        NOT NULL,
    certificate_id  text,
    user_id         text        NOT NULL,
    enrollment_id   text,
    session_id      text,
    delivered_at    timestamptz,
    expires_at      timestamptz,
    state_event_at  timestamptz,
    revoked         boolean     NOT NULL DEFAULT false,
    PRIMARY KEY (platform_id, grant_id)
);
CREATE INDEX certificate_grants_certificate ON certificate_grants (platform_id, certificate_id, user_id);
CREATE INDEX certificate_grants_user ON certificate_grants (platform_id, user_id);

-- Tracking: written in the same transaction as the read-model changes (exactly-once effect).
-- Not per platform: a topic partition carries many platforms.
CREATE TABLE consumer_offsets (
    topic        text        NOT NULL,
    partition    integer     NOT NULL,
    next_offset  bigint      NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (topic, partition)
);

-- Event ids already applied: the same id delivered twice is the same event (SPEC.md section 3).
CREATE TABLE applied_events (
    platform_id  text NOT NULL,
    event_id     text NOT NULL,
    PRIMARY KEY (platform_id, event_id)
);

-- Projection watermark per platform: CloudEvents time of the newest applied event.
CREATE TABLE watermarks (
    platform_id     text        NOT NULL PRIMARY KEY,
    data_as_of      timestamptz NOT NULL,
    applied_events  bigint      NOT NULL DEFAULT 0
);
