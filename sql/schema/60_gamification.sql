-- Gamification: achievements with a typed JSONB rule, and each user's progress toward them.

-- True when `p_rule` is a rule of the requirement language (learnstore.achievement_rules): a
-- counter {"kind", "threshold": 1..2^31-1} with its optional fields (lessons_completed: course_id;
-- streak_days: streak current|longest; cards_mastered: level 1..5), or all_of / any_of with 1-20
-- "rules", nested at most 4 levels deep. No other keys.
CREATE FUNCTION achievement_requirement_is_valid(p_rule jsonb, p_depth integer DEFAULT 1) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    rule_kind text := p_rule ->> 'kind';
    allowed text[];
BEGIN
    IF jsonb_typeof(p_rule) IS DISTINCT FROM 'object' OR p_depth > 4
       OR jsonb_typeof(p_rule -> 'kind') IS DISTINCT FROM 'string' THEN
        RETURN false;
    END IF;
    IF rule_kind IN ('all_of', 'any_of') THEN
        IF jsonb_typeof(p_rule -> 'rules') IS DISTINCT FROM 'array'
           OR EXISTS (SELECT FROM jsonb_object_keys(p_rule) AS k (key) WHERE k.key NOT IN ('kind', 'rules')) THEN
            RETURN false;
        END IF;
        RETURN jsonb_array_length(p_rule -> 'rules') BETWEEN 1 AND 20
            AND NOT EXISTS (SELECT FROM jsonb_array_elements(p_rule -> 'rules') AS r (rule)
                            WHERE NOT achievement_requirement_is_valid(r.rule, p_depth + 1));
    END IF;
    allowed := CASE
        WHEN rule_kind = 'lessons_completed' THEN ARRAY['kind', 'threshold', 'course_id']
        WHEN rule_kind = 'streak_days' THEN ARRAY['kind', 'threshold', 'streak']
        WHEN rule_kind = 'cards_mastered' THEN ARRAY['kind', 'threshold', 'level']
        WHEN rule_kind IN ('courses_completed', 'flashcards_reviewed', 'quizzes_passed', 'forum_posts',
                           'forum_replies', 'likes_received', 'goals_completed') THEN ARRAY['kind', 'threshold']
    END;
    -- Separate steps: AND does not promise an order, and a cast must not see a non-number.
    IF allowed IS NULL OR jsonb_typeof(p_rule -> 'threshold') IS DISTINCT FROM 'number'
       OR EXISTS (SELECT FROM jsonb_object_keys(p_rule) AS k (key) WHERE k.key <> ALL (allowed)) THEN
        RETURN false;
    END IF;
    IF (p_rule ->> 'threshold')::numeric NOT BETWEEN 1 AND 2147483647
       OR (p_rule ->> 'threshold')::numeric <> trunc((p_rule ->> 'threshold')::numeric) THEN
        RETURN false;
    END IF;
    IF p_rule ? 'course_id' AND jsonb_typeof(p_rule -> 'course_id') <> 'null' THEN
        IF jsonb_typeof(p_rule -> 'course_id') <> 'string' OR (p_rule ->> 'course_id')
           !~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$' THEN
            RETURN false;
        END IF;
    END IF;
    RETURN coalesce(p_rule -> 'streak', '"longest"') IN ('"current"', '"longest"')
        AND coalesce(p_rule -> 'level', '4') IN ('1', '2', '3', '4', '5');
END
$$;

CREATE TABLE achievements (
    id          uuid        NOT NULL DEFAULT uuidv7(),
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
    -- The requirement language of learnstore.achievement_rules, checked again here so that plain
    -- SQL cannot store a rule the evaluator would not understand.
    CONSTRAINT achievements_requirement_shape CHECK (
        jsonb_typeof(requirement) = 'object' AND achievement_requirement_is_valid(requirement))
);
COMMENT ON TABLE achievements IS 'A badge, earned when its requirement rule is met.';
CREATE TRIGGER achievements_set_updated_at BEFORE UPDATE ON achievements
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE user_achievements (
    id             uuid        NOT NULL DEFAULT uuidv7(),
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

CREATE TABLE user_points (
    id             uuid        NOT NULL DEFAULT uuidv7(),
    user_clerk_id  text        NOT NULL,
    points         integer     NOT NULL DEFAULT 0,
    achievements   integer     NOT NULL DEFAULT 0,
    reached_at     timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT user_points_pkey PRIMARY KEY (id),
    CONSTRAINT user_points_user_clerk_id_key UNIQUE (user_clerk_id),
    CONSTRAINT user_points_user_clerk_id_fkey FOREIGN KEY (user_clerk_id)
        REFERENCES users (clerk_id) ON UPDATE CASCADE ON DELETE CASCADE,
    CONSTRAINT user_points_points_non_negative CHECK (points >= 0),
    CONSTRAINT user_points_achievements_non_negative CHECK (achievements >= 0)
);
COMMENT ON TABLE user_points IS 'A learner''s points and achievements earned, kept by triggers: the leaderboards read it.';
COMMENT ON COLUMN user_points.reached_at IS 'When the points last changed: among equal points, who reached them first ranks first.';
-- The leaderboard, read in rank order; and "how many have more points than me".
CREATE INDEX user_points_rank_idx ON user_points (points DESC, reached_at, user_clerk_id);
CREATE TRIGGER user_points_set_updated_at BEFORE UPDATE ON user_points
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
