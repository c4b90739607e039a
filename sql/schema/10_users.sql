-- Users and what belongs to one user alone: streaks, login days, goals, notifications.
-- Every other table refers to a user by clerk_id (the identity provider's id), ON UPDATE CASCADE.

CREATE TABLE users (
    id               uuid        NOT NULL DEFAULT uuidv7(),
    clerk_id         text        NOT NULL,
    email            text,
    first_name       text,
    last_name        text,
    avatar_url       text,
    bio              text,
    timezone         text        NOT NULL DEFAULT 'UTC',
    clerk_updated_at timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_pkey PRIMARY KEY (id),
    CONSTRAINT users_clerk_id_key UNIQUE (clerk_id),
    CONSTRAINT users_clerk_id_format CHECK (is_not_blank(clerk_id) AND char_length(clerk_id) <= 64),
    CONSTRAINT users_email_format CHECK (char_length(email) <= 320 AND email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
    CONSTRAINT users_first_name_length CHECK (char_length(first_name) <= 200),
    CONSTRAINT users_last_name_length CHECK (char_length(last_name) <= 200),
    CONSTRAINT users_avatar_url_format CHECK (char_length(avatar_url) <= 2048 AND avatar_url ~ '^https?://'),
    CONSTRAINT users_bio_length CHECK (char_length(bio) <= 5000),
    CONSTRAINT users_timezone_valid CHECK (is_time_zone(timezone))
);
COMMENT ON TABLE users IS 'A person, identified by the identity provider (Clerk). No passwords are stored.';
COMMENT ON COLUMN users.clerk_id IS 'The identity provider''s user id; every other table refers to users by it.';
COMMENT ON COLUMN users.timezone IS 'IANA time zone: the user''s calendar days (streaks) are counted in it.';
COMMENT ON COLUMN users.clerk_updated_at IS 'The identity provider''s version of this row: an older event never overwrites a newer one.';
-- Emails are unique whatever their case.
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE TRIGGER users_set_updated_at BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE user_streaks (
    id               uuid        NOT NULL DEFAULT uuidv7(),
    user_clerk_id    text        NOT NULL,
    current_streak   integer     NOT NULL DEFAULT 0,
    longest_streak   integer     NOT NULL DEFAULT 0,
    last_active_date date,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT user_streaks_pkey PRIMARY KEY (id),
    CONSTRAINT user_streaks_user_clerk_id_key UNIQUE (user_clerk_id),
    CONSTRAINT user_streaks_user_clerk_id_fkey FOREIGN KEY (user_clerk_id)
        REFERENCES users (clerk_id) ON UPDATE CASCADE ON DELETE CASCADE,
    CONSTRAINT user_streaks_current_streak_non_negative CHECK (current_streak >= 0),
    CONSTRAINT user_streaks_longest_streak_non_negative CHECK (longest_streak >= 0),
    CONSTRAINT user_streaks_longest_at_least_current CHECK (longest_streak >= current_streak)
);
COMMENT ON TABLE user_streaks IS 'A user''s current and longest run of consecutive active local days.';
CREATE TRIGGER user_streaks_set_updated_at BEFORE UPDATE ON user_streaks
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE login_days (
    id            uuid        NOT NULL DEFAULT uuidv7(),
    user_clerk_id text        NOT NULL,
    day           date        NOT NULL,
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT login_days_pkey PRIMARY KEY (id),
    CONSTRAINT login_days_user_day_key UNIQUE (user_clerk_id, day),
    CONSTRAINT login_days_user_clerk_id_fkey FOREIGN KEY (user_clerk_id)
        REFERENCES users (clerk_id) ON UPDATE CASCADE ON DELETE CASCADE
);
COMMENT ON TABLE login_days IS 'One row per user per local calendar day on which the user was active.';
CREATE TRIGGER login_days_set_updated_at BEFORE UPDATE ON login_days
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE learning_goals (
    id            uuid        NOT NULL DEFAULT uuidv7(),
    user_clerk_id text        NOT NULL,
    title         text        NOT NULL,
    description   text,
    target_date   date,
    progress      integer     NOT NULL DEFAULT 0,
    completed_at  timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT learning_goals_pkey PRIMARY KEY (id),
    CONSTRAINT learning_goals_user_clerk_id_fkey FOREIGN KEY (user_clerk_id)
        REFERENCES users (clerk_id) ON UPDATE CASCADE ON DELETE CASCADE,
    CONSTRAINT learning_goals_title_not_blank CHECK (is_not_blank(title) AND char_length(title) <= 200),
    CONSTRAINT learning_goals_description_length CHECK (char_length(description) <= 5000),
    CONSTRAINT learning_goals_progress_range CHECK (progress BETWEEN 0 AND 100),
    CONSTRAINT learning_goals_completed_at_full CHECK (completed_at IS NULL OR progress = 100)
);
COMMENT ON TABLE learning_goals IS 'A personal milestone with a target date, progress 0-100 and completion.';
CREATE INDEX learning_goals_user_clerk_id_idx ON learning_goals (user_clerk_id, target_date);
CREATE TRIGGER learning_goals_set_updated_at BEFORE UPDATE ON learning_goals
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE notifications (
    id            uuid        NOT NULL DEFAULT uuidv7(),
    user_clerk_id text        NOT NULL,
    type          text        NOT NULL,
    message       text        NOT NULL,
    source_id     uuid,
    source_type   text,
    metadata      jsonb       NOT NULL DEFAULT '{}',
    read_at       timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT notifications_pkey PRIMARY KEY (id),
    CONSTRAINT notifications_user_clerk_id_fkey FOREIGN KEY (user_clerk_id)
        REFERENCES users (clerk_id) ON UPDATE CASCADE ON DELETE CASCADE,
    CONSTRAINT notifications_type_valid CHECK (type IN ('reply', 'mention', 'like', 'system')),
    CONSTRAINT notifications_message_not_blank CHECK (is_not_blank(message) AND char_length(message) <= 2000),
    CONSTRAINT notifications_source_type_valid CHECK (
        source_type IN ('course', 'lesson', 'forum_post', 'forum_reply', 'achievement', 'suggested_edit')),
    CONSTRAINT notifications_metadata_object CHECK (jsonb_typeof(metadata) = 'object')
);
COMMENT ON TABLE notifications IS 'An alert for one user; read_at is NULL until the user reads it.';
-- Newest-first keyset pagination per user.
CREATE INDEX notifications_user_created_idx ON notifications (user_clerk_id, created_at DESC, id DESC);
CREATE INDEX notifications_user_unread_idx ON notifications (user_clerk_id) WHERE read_at IS NULL;
CREATE TRIGGER notifications_set_updated_at BEFORE UPDATE ON notifications
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
