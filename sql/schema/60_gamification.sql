-- Gamification: achievements with a typed JSONB rule, and each user's progress toward them.

CREATE TABLE achievements (
    id          uuid        NOT NULL DEFAULT gen_random_uuid(),
    code        text        NOT NULL,
    title       text        NOT NULL,
    description text        NOT NULL DEFAULT '',
    icon_url    text,
    points      integer     NOT NULL DEFAULT 0,
    requirement jsonb       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT achievements_pkey PRIMARY KEY (id),
    CONSTRAINT achievements_code_key UNIQUE (code),
    CONSTRAINT achievements_code_format CHECK (code ~ '^[a-z0-9][a-z0-9_-]{0,63}$'),
    CONSTRAINT achievements_title_not_blank CHECK (is_not_blank(title) AND char_length(title) <= 200),
    CONSTRAINT achievements_icon_url_format CHECK (char_length(icon_url) <= 2048 AND icon_url ~ '^https?://'),
    CONSTRAINT achievements_points_non_negative CHECK (points >= 0),
    -- {"kind": <one of the rule kinds>, "threshold": <positive integer>}. IS TRUE: a missing key
    -- makes the test NULL, and a CHECK lets NULL through.
    CONSTRAINT achievements_requirement_shape CHECK ((
        jsonb_typeof(requirement) = 'object'
        AND requirement ->> 'kind' IN (
            'lessons_completed', 'courses_completed', 'streak_days', 'flashcards_reviewed', 'forum_posts')
        AND jsonb_typeof(requirement -> 'threshold') = 'number'
        AND (requirement ->> 'threshold')::numeric >= 1
        AND (requirement ->> 'threshold')::numeric = trunc((requirement ->> 'threshold')::numeric)) IS TRUE)
);
COMMENT ON TABLE achievements IS 'A badge, earned when its requirement rule is met.';
CREATE TRIGGER achievements_set_updated_at BEFORE UPDATE ON achievements
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE user_achievements (
    id             uuid        NOT NULL DEFAULT gen_random_uuid(),
    user_clerk_id  text        NOT NULL,
    achievement_id uuid        NOT NULL,
    progress       integer     NOT NULL DEFAULT 0,
    earned_at      timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT user_achievements_pkey PRIMARY KEY (id),
    CONSTRAINT user_achievements_user_achievement_key UNIQUE (user_clerk_id, achievement_id),
    CONSTRAINT user_achievements_user_clerk_id_fkey FOREIGN KEY (user_clerk_id)
        REFERENCES users (clerk_id) ON UPDATE CASCADE ON DELETE CASCADE,
    CONSTRAINT user_achievements_achievement_id_fkey FOREIGN KEY (achievement_id)
        REFERENCES achievements (id) ON DELETE CASCADE,
    CONSTRAINT user_achievements_progress_non_negative CHECK (progress >= 0)
);
COMMENT ON TABLE user_achievements IS 'A user''s progress toward an achievement; earned once earned_at is set.';
CREATE INDEX user_achievements_achievement_id_idx ON user_achievements (achievement_id);
CREATE TRIGGER user_achievements_set_updated_at BEFORE UPDATE ON user_achievements
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
