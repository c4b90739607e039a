-- Baseline: the whole schema of learnstore's first release (sql/schema/00..70 as of this migration).
-- Migrations are history: never edit this file; add a new migration and change sql/schema with it.

-- ---- 00_foundation.sql ----
-- Foundation: the helpers every domain's tables use.

-- Keeps updated_at honest: a caller cannot forget it, or set it to anything but the time of the change.
CREATE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

-- True when tz is an IANA time zone PostgreSQL knows. IMMUTABLE so a CHECK may call it: the zone
-- database changes only with a PostgreSQL upgrade, and a zone is never removed from it.
CREATE FUNCTION is_time_zone(tz text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
BEGIN
    PERFORM now() AT TIME ZONE tz;
    RETURN true;
EXCEPTION WHEN invalid_parameter_value THEN
    RETURN false;
END
$$;

-- True when s holds something other than whitespace.
CREATE FUNCTION is_not_blank(s text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN btrim(s, E' \t\r\n') <> '';

-- ---- 10_users.sql ----
-- Users and what belongs to one user alone: streaks, login days, goals, notifications.
-- Every other table refers to a user by clerk_id (the identity provider's id), ON UPDATE CASCADE.

CREATE TABLE users (
    id               uuid        NOT NULL DEFAULT gen_random_uuid(),
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
    id               uuid        NOT NULL DEFAULT gen_random_uuid(),
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
    id            uuid        NOT NULL DEFAULT gen_random_uuid(),
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
    id            uuid        NOT NULL DEFAULT gen_random_uuid(),
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
    id            uuid        NOT NULL DEFAULT gen_random_uuid(),
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

-- ---- 20_catalog.sql ----
-- The catalog every course is filed under: languages and tags.

CREATE TABLE languages (
    id         uuid        NOT NULL DEFAULT gen_random_uuid(),
    code       text        NOT NULL,
    name       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT languages_pkey PRIMARY KEY (id),
    CONSTRAINT languages_code_key UNIQUE (code),
    CONSTRAINT languages_code_format CHECK (code ~ '^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$'),
    CONSTRAINT languages_name_not_blank CHECK (is_not_blank(name) AND char_length(name) <= 100)
);
COMMENT ON TABLE languages IS 'A language a course is taught in.';
COMMENT ON COLUMN languages.code IS 'BCP 47 language tag, e.g. en, pt-BR.';
CREATE UNIQUE INDEX languages_name_key ON languages (lower(name));
CREATE TRIGGER languages_set_updated_at BEFORE UPDATE ON languages
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE tags (
    id         uuid        NOT NULL DEFAULT gen_random_uuid(),
    name       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tags_pkey PRIMARY KEY (id),
    CONSTRAINT tags_name_not_blank CHECK (is_not_blank(name) AND char_length(name) <= 50)
);
COMMENT ON TABLE tags IS 'A topic courses can be filed under; names are unique whatever their case.';
CREATE UNIQUE INDEX tags_name_key ON tags (lower(name));
CREATE TRIGGER tags_set_updated_at BEFORE UPDATE ON tags
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- ---- 30_content.sql ----
-- Course content: courses, their units, the units' lessons, and each lesson's media and quizzes.
-- Deleting a course deletes everything under it; deleting its author keeps the course (author NULL).

CREATE TABLE courses (
    id                         uuid        NOT NULL DEFAULT gen_random_uuid(),
    author_clerk_id            text,
    title                      text        NOT NULL,
    description                text        NOT NULL DEFAULT '',
    difficulty                 text        NOT NULL DEFAULT 'beginner',
    estimated_duration_minutes integer,
    learning_objectives        text[]      NOT NULL DEFAULT '{}',
    cover_image_url            text,
    language_id                uuid,
    status                     text        NOT NULL DEFAULT 'draft',
    published_at               timestamptz,
    open_to_collaboration      boolean     NOT NULL DEFAULT false,
    created_at                 timestamptz NOT NULL DEFAULT now(),
    updated_at                 timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT courses_pkey PRIMARY KEY (id),
    CONSTRAINT courses_author_clerk_id_fkey FOREIGN KEY (author_clerk_id)
        REFERENCES users (clerk_id) ON UPDATE CASCADE ON DELETE SET NULL,
    CONSTRAINT courses_language_id_fkey FOREIGN KEY (language_id)
        REFERENCES languages (id) ON DELETE RESTRICT,
    CONSTRAINT courses_title_not_blank CHECK (is_not_blank(title) AND char_length(title) <= 200),
    CONSTRAINT courses_description_length CHECK (char_length(description) <= 20000),
    CONSTRAINT courses_difficulty_valid CHECK (difficulty IN ('beginner', 'intermediate', 'advanced')),
    CONSTRAINT courses_estimated_duration_positive CHECK (estimated_duration_minutes > 0),
    CONSTRAINT courses_cover_image_url_format CHECK (
        char_length(cover_image_url) <= 2048 AND cover_image_url ~ '^https?://'),
    CONSTRAINT courses_status_valid CHECK (status IN ('draft', 'published', 'archived')),
    CONSTRAINT courses_published_at_set CHECK ((status = 'published') = (published_at IS NOT NULL))
);
COMMENT ON TABLE courses IS 'A course: a draft until published; learners see published courses only.';
COMMENT ON COLUMN courses.author_clerk_id IS 'NULL once the author has been erased: the course stays.';
CREATE INDEX courses_author_clerk_id_idx ON courses (author_clerk_id);
CREATE INDEX courses_language_id_idx ON courses (language_id);
CREATE INDEX courses_published_idx ON courses (published_at DESC, id DESC) WHERE status = 'published';
CREATE INDEX courses_search_idx ON courses
    USING gin (to_tsvector('simple'::regconfig, title || ' ' || description));
CREATE TRIGGER courses_set_updated_at BEFORE UPDATE ON courses
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE units (
    id          uuid        NOT NULL DEFAULT gen_random_uuid(),
    course_id   uuid        NOT NULL,
    title       text        NOT NULL,
    description text        NOT NULL DEFAULT '',
    position    integer     NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT units_pkey PRIMARY KEY (id),
    CONSTRAINT units_course_id_fkey FOREIGN KEY (course_id) REFERENCES courses (id) ON DELETE CASCADE,
    -- Deferrable so that a reorder can rewrite every position inside one transaction.
    CONSTRAINT units_course_position_key UNIQUE (course_id, position) DEFERRABLE INITIALLY IMMEDIATE,
    CONSTRAINT units_title_not_blank CHECK (is_not_blank(title) AND char_length(title) <= 200),
    CONSTRAINT units_description_length CHECK (char_length(description) <= 20000),
    CONSTRAINT units_position_non_negative CHECK (position >= 0)
);
COMMENT ON TABLE units IS 'A group of lessons; positions in a course are 0, 1, 2, ... with no gaps.';
CREATE TRIGGER units_set_updated_at BEFORE UPDATE ON units
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE lessons (
    id               uuid        NOT NULL DEFAULT gen_random_uuid(),
    unit_id          uuid        NOT NULL,
    title            text        NOT NULL,
    content_type     text        NOT NULL,
    content          jsonb       NOT NULL DEFAULT '{}',
    duration_seconds integer,
    position         integer     NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT lessons_pkey PRIMARY KEY (id),
    CONSTRAINT lessons_unit_id_fkey FOREIGN KEY (unit_id) REFERENCES units (id) ON DELETE CASCADE,
    CONSTRAINT lessons_unit_position_key UNIQUE (unit_id, position) DEFERRABLE INITIALLY IMMEDIATE,
    CONSTRAINT lessons_title_not_blank CHECK (is_not_blank(title) AND char_length(title) <= 200),
    CONSTRAINT lessons_content_type_valid CHECK (content_type IN ('video', 'text', 'audio', 'exercise')),
    -- The key each content type cannot do without; the full shape is validated by learnstore.
    -- IS TRUE: a missing key makes jsonb_typeof NULL, and a CHECK lets NULL through. An unknown
    -- content_type (no branch, NULL) is left to lessons_content_type_valid.
    CONSTRAINT lessons_content_shape CHECK (
        jsonb_typeof(content) = 'object' AND CASE content_type
            WHEN 'video' THEN (jsonb_typeof(content -> 'url') = 'string') IS TRUE
            WHEN 'audio' THEN (jsonb_typeof(content -> 'url') = 'string') IS TRUE
            WHEN 'text' THEN (jsonb_typeof(content -> 'body') = 'string') IS TRUE
            WHEN 'exercise' THEN (jsonb_typeof(content -> 'prompt') = 'string') IS TRUE
        END),
    CONSTRAINT lessons_duration_positive CHECK (duration_seconds > 0),
    CONSTRAINT lessons_position_non_negative CHECK (position >= 0)
);
COMMENT ON TABLE lessons IS 'One piece of content; positions in a unit are 0, 1, 2, ... with no gaps.';
COMMENT ON COLUMN lessons.content IS 'video/audio: {"url": ...}; text: {"body": ...}; exercise: {"prompt": ...}.';
CREATE TRIGGER lessons_set_updated_at BEFORE UPDATE ON lessons
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE media (
    id         uuid        NOT NULL DEFAULT gen_random_uuid(),
    lesson_id  uuid        NOT NULL,
    media_type text        NOT NULL,
    url        text        NOT NULL,
    title      text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT media_pkey PRIMARY KEY (id),
    CONSTRAINT media_lesson_id_fkey FOREIGN KEY (lesson_id) REFERENCES lessons (id) ON DELETE CASCADE,
    CONSTRAINT media_media_type_valid CHECK (media_type IN ('audio', 'image', 'file')),
    CONSTRAINT media_url_format CHECK (char_length(url) <= 2048 AND url ~ '^https?://'),
    CONSTRAINT media_title_length CHECK (char_length(title) <= 200)
);
COMMENT ON TABLE media IS 'A file (audio, image, other) attached to a lesson.';
CREATE INDEX media_lesson_id_idx ON media (lesson_id);
CREATE TRIGGER media_set_updated_at BEFORE UPDATE ON media
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE quizzes (
    id             uuid        NOT NULL DEFAULT gen_random_uuid(),
    lesson_id      uuid        NOT NULL,
    question       text        NOT NULL,
    question_type  text        NOT NULL,
    options        jsonb       NOT NULL DEFAULT '[]',
    correct_answer jsonb       NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT quizzes_pkey PRIMARY KEY (id),
    CONSTRAINT quizzes_lesson_id_fkey FOREIGN KEY (lesson_id) REFERENCES lessons (id) ON DELETE CASCADE,
    CONSTRAINT quizzes_question_not_blank CHECK (is_not_blank(question) AND char_length(question) <= 2000),
    CONSTRAINT quizzes_question_type_valid CHECK (question_type IN ('mcq', 'flashcard', 'fill_blank')),
    CONSTRAINT quizzes_options_array CHECK (jsonb_typeof(options) = 'array'),
    CONSTRAINT quizzes_correct_answer_shape CHECK (jsonb_typeof(correct_answer) IN ('string', 'number', 'array')),
    -- A multiple-choice question needs choices to choose from. CASE rather than OR: jsonb_array_length
    -- raises on a non-array, which must fail quizzes_options_array by name instead.
    CONSTRAINT quizzes_mcq_has_options CHECK (
        CASE WHEN question_type = 'mcq' AND jsonb_typeof(options) = 'array'
            THEN jsonb_array_length(options) >= 2 ELSE true END)
);
COMMENT ON TABLE quizzes IS 'An assessment question on a lesson; options and correct_answer are JSON.';
CREATE INDEX quizzes_lesson_id_idx ON quizzes (lesson_id);
CREATE TRIGGER quizzes_set_updated_at BEFORE UPDATE ON quizzes
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE course_tags (
    id         uuid        NOT NULL DEFAULT gen_random_uuid(),
    course_id  uuid        NOT NULL,
    tag_id     uuid        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT course_tags_pkey PRIMARY KEY (id),
    CONSTRAINT course_tags_course_tag_key UNIQUE (course_id, tag_id),
    CONSTRAINT course_tags_course_id_fkey FOREIGN KEY (course_id) REFERENCES courses (id) ON DELETE CASCADE,
    CONSTRAINT course_tags_tag_id_fkey FOREIGN KEY (tag_id) REFERENCES tags (id) ON DELETE CASCADE
);
COMMENT ON TABLE course_tags IS 'Which tags a course is filed under; a tag once per course.';
CREATE INDEX course_tags_tag_id_idx ON course_tags (tag_id);
CREATE TRIGGER course_tags_set_updated_at BEFORE UPDATE ON course_tags
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- ---- 40_progress.sql ----
-- Enrolment and progress: who is enrolled in what, and how far each learner is in each lesson.
-- Both are private to the learner: erasing a user deletes them.

CREATE TABLE user_courses (
    id            uuid        NOT NULL DEFAULT gen_random_uuid(),
    user_clerk_id text        NOT NULL,
    course_id     uuid        NOT NULL,
    enrolled_at   timestamptz NOT NULL DEFAULT now(),
    progress      integer     NOT NULL DEFAULT 0,
    completed_at  timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT user_courses_pkey PRIMARY KEY (id),
    CONSTRAINT user_courses_user_course_key UNIQUE (user_clerk_id, course_id),
    CONSTRAINT user_courses_user_clerk_id_fkey FOREIGN KEY (user_clerk_id)
        REFERENCES users (clerk_id) ON UPDATE CASCADE ON DELETE CASCADE,
    CONSTRAINT user_courses_course_id_fkey FOREIGN KEY (course_id) REFERENCES courses (id) ON DELETE CASCADE,
    CONSTRAINT user_courses_progress_range CHECK (progress BETWEEN 0 AND 100),
    CONSTRAINT user_courses_completed_at_full CHECK (completed_at IS NULL OR progress = 100)
);
COMMENT ON TABLE user_courses IS 'An enrolment: progress is the percentage of the course''s lessons completed.';
CREATE INDEX user_courses_course_id_idx ON user_courses (course_id);
CREATE TRIGGER user_courses_set_updated_at BEFORE UPDATE ON user_courses
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE user_progress (
    id             uuid        NOT NULL DEFAULT gen_random_uuid(),
    user_clerk_id  text        NOT NULL,
    lesson_id      uuid        NOT NULL,
    status         text        NOT NULL DEFAULT 'not_started',
    started_at     timestamptz,
    completed_at   timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT user_progress_pkey PRIMARY KEY (id),
    CONSTRAINT user_progress_user_lesson_key UNIQUE (user_clerk_id, lesson_id),
    CONSTRAINT user_progress_user_clerk_id_fkey FOREIGN KEY (user_clerk_id)
        REFERENCES users (clerk_id) ON UPDATE CASCADE ON DELETE CASCADE,
    CONSTRAINT user_progress_lesson_id_fkey FOREIGN KEY (lesson_id) REFERENCES lessons (id) ON DELETE CASCADE,
    CONSTRAINT user_progress_status_valid CHECK (status IN ('not_started', 'in_progress', 'completed')),
    CONSTRAINT user_progress_completed_at_set CHECK ((status = 'completed') = (completed_at IS NOT NULL))
);
COMMENT ON TABLE user_progress IS 'A learner''s state in one lesson.';
CREATE INDEX user_progress_lesson_id_idx ON user_progress (lesson_id);
CREATE TRIGGER user_progress_set_updated_at BEFORE UPDATE ON user_progress
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- ---- 50_community.sql ----
-- Community: forum threads, likes, collaborators, suggested edits, feedback and upvotes.
-- What a user wrote for others stays readable when the user is erased (author set NULL);
-- what only records the user's own gesture (a like, an upvote, a collaborator seat) goes with them.

CREATE TABLE forum_posts (
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    course_id       uuid        NOT NULL,
    author_clerk_id text,
    title           text        NOT NULL,
    body            text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT forum_posts_pkey PRIMARY KEY (id),
    CONSTRAINT forum_posts_course_id_fkey FOREIGN KEY (course_id) REFERENCES courses (id) ON DELETE CASCADE,
    CONSTRAINT forum_posts_author_clerk_id_fkey FOREIGN KEY (author_clerk_id)
        REFERENCES users (clerk_id) ON UPDATE CASCADE ON DELETE SET NULL,
    CONSTRAINT forum_posts_title_not_blank CHECK (is_not_blank(title) AND char_length(title) <= 300),
    CONSTRAINT forum_posts_body_not_blank CHECK (is_not_blank(body) AND char_length(body) <= 50000)
);
COMMENT ON TABLE forum_posts IS 'A discussion thread in a course''s forum.';
CREATE INDEX forum_posts_course_id_idx ON forum_posts (course_id, created_at DESC);
CREATE INDEX forum_posts_author_clerk_id_idx ON forum_posts (author_clerk_id);
CREATE TRIGGER forum_posts_set_updated_at BEFORE UPDATE ON forum_posts
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE forum_replies (
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    post_id         uuid        NOT NULL,
    parent_reply_id uuid,
    author_clerk_id text,
    body            text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT forum_replies_pkey PRIMARY KEY (id),
    CONSTRAINT forum_replies_post_id_fkey FOREIGN KEY (post_id) REFERENCES forum_posts (id) ON DELETE CASCADE,
    -- Removing a reply removes the answers nested under it.
    CONSTRAINT forum_replies_parent_reply_id_fkey FOREIGN KEY (parent_reply_id)
        REFERENCES forum_replies (id) ON DELETE CASCADE,
    CONSTRAINT forum_replies_author_clerk_id_fkey FOREIGN KEY (author_clerk_id)
        REFERENCES users (clerk_id) ON UPDATE CASCADE ON DELETE SET NULL,
    CONSTRAINT forum_replies_body_not_blank CHECK (is_not_blank(body) AND char_length(body) <= 50000),
    CONSTRAINT forum_replies_not_own_parent CHECK (parent_reply_id <> id)
);
COMMENT ON TABLE forum_replies IS 'A reply to a post, or (parent_reply_id) to another reply.';
CREATE INDEX forum_replies_post_id_idx ON forum_replies (post_id, created_at);
CREATE INDEX forum_replies_parent_reply_id_idx ON forum_replies (parent_reply_id);
CREATE INDEX forum_replies_author_clerk_id_idx ON forum_replies (author_clerk_id);
CREATE TRIGGER forum_replies_set_updated_at BEFORE UPDATE ON forum_replies
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE forum_post_likes (
    id            uuid        NOT NULL DEFAULT gen_random_uuid(),
    post_id       uuid        NOT NULL,
    user_clerk_id text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT forum_post_likes_pkey PRIMARY KEY (id),
    CONSTRAINT forum_post_likes_post_user_key UNIQUE (post_id, user_clerk_id),
    CONSTRAINT forum_post_likes_post_id_fkey FOREIGN KEY (post_id) REFERENCES forum_posts (id) ON DELETE CASCADE,
    CONSTRAINT forum_post_likes_user_clerk_id_fkey FOREIGN KEY (user_clerk_id)
        REFERENCES users (clerk_id) ON UPDATE CASCADE ON DELETE CASCADE
);
COMMENT ON TABLE forum_post_likes IS 'A user likes a post, at most once.';
CREATE INDEX forum_post_likes_user_clerk_id_idx ON forum_post_likes (user_clerk_id);
CREATE TRIGGER forum_post_likes_set_updated_at BEFORE UPDATE ON forum_post_likes
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE forum_reply_likes (
    id            uuid        NOT NULL DEFAULT gen_random_uuid(),
    reply_id      uuid        NOT NULL,
    user_clerk_id text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT forum_reply_likes_pkey PRIMARY KEY (id),
    CONSTRAINT forum_reply_likes_reply_user_key UNIQUE (reply_id, user_clerk_id),
    CONSTRAINT forum_reply_likes_reply_id_fkey FOREIGN KEY (reply_id)
        REFERENCES forum_replies (id) ON DELETE CASCADE,
    CONSTRAINT forum_reply_likes_user_clerk_id_fkey FOREIGN KEY (user_clerk_id)
        REFERENCES users (clerk_id) ON UPDATE CASCADE ON DELETE CASCADE
);
COMMENT ON TABLE forum_reply_likes IS 'A user likes a reply, at most once.';
CREATE INDEX forum_reply_likes_user_clerk_id_idx ON forum_reply_likes (user_clerk_id);
CREATE TRIGGER forum_reply_likes_set_updated_at BEFORE UPDATE ON forum_reply_likes
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE collaborators (
    id            uuid        NOT NULL DEFAULT gen_random_uuid(),
    course_id     uuid        NOT NULL,
    user_clerk_id text        NOT NULL,
    role          text        NOT NULL DEFAULT 'editor',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT collaborators_pkey PRIMARY KEY (id),
    CONSTRAINT collaborators_course_user_key UNIQUE (course_id, user_clerk_id),
    CONSTRAINT collaborators_course_id_fkey FOREIGN KEY (course_id) REFERENCES courses (id) ON DELETE CASCADE,
    CONSTRAINT collaborators_user_clerk_id_fkey FOREIGN KEY (user_clerk_id)
        REFERENCES users (clerk_id) ON UPDATE CASCADE ON DELETE CASCADE,
    CONSTRAINT collaborators_role_valid CHECK (role IN ('editor', 'reviewer'))
);
COMMENT ON TABLE collaborators IS 'A user who co-manages a course besides its author.';
CREATE INDEX collaborators_user_clerk_id_idx ON collaborators (user_clerk_id);
CREATE TRIGGER collaborators_set_updated_at BEFORE UPDATE ON collaborators
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE suggested_edits (
    id                uuid        NOT NULL DEFAULT gen_random_uuid(),
    course_id         uuid        NOT NULL,
    lesson_id         uuid,
    author_clerk_id   text,
    summary           text        NOT NULL,
    payload           jsonb       NOT NULL,
    status            text        NOT NULL DEFAULT 'pending',
    reviewer_clerk_id text,
    reviewed_at       timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT suggested_edits_pkey PRIMARY KEY (id),
    CONSTRAINT suggested_edits_course_id_fkey FOREIGN KEY (course_id) REFERENCES courses (id) ON DELETE CASCADE,
    CONSTRAINT suggested_edits_lesson_id_fkey FOREIGN KEY (lesson_id) REFERENCES lessons (id) ON DELETE CASCADE,
    CONSTRAINT suggested_edits_author_clerk_id_fkey FOREIGN KEY (author_clerk_id)
        REFERENCES users (clerk_id) ON UPDATE CASCADE ON DELETE SET NULL,
    CONSTRAINT suggested_edits_reviewer_clerk_id_fkey FOREIGN KEY (reviewer_clerk_id)
        REFERENCES users (clerk_id) ON UPDATE CASCADE ON DELETE SET NULL,
    CONSTRAINT suggested_edits_summary_not_blank CHECK (is_not_blank(summary) AND char_length(summary) <= 500),
    CONSTRAINT suggested_edits_payload_object CHECK (jsonb_typeof(payload) = 'object' AND payload <> '{}'),
    CONSTRAINT suggested_edits_status_valid CHECK (status IN ('pending', 'approved', 'rejected')),
    CONSTRAINT suggested_edits_reviewed_at_set CHECK ((status = 'pending') = (reviewed_at IS NULL))
);
COMMENT ON TABLE suggested_edits IS 'A proposed change to a course or lesson, reviewed by its author or a collaborator.';
CREATE INDEX suggested_edits_course_id_idx ON suggested_edits (course_id, status);
CREATE INDEX suggested_edits_lesson_id_idx ON suggested_edits (lesson_id);
CREATE INDEX suggested_edits_author_clerk_id_idx ON suggested_edits (author_clerk_id);
CREATE INDEX suggested_edits_reviewer_clerk_id_idx ON suggested_edits (reviewer_clerk_id);
CREATE TRIGGER suggested_edits_set_updated_at BEFORE UPDATE ON suggested_edits
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE course_feedback (
    id            uuid        NOT NULL DEFAULT gen_random_uuid(),
    course_id     uuid        NOT NULL,
    user_clerk_id text,
    rating        integer     NOT NULL,
    comment       text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT course_feedback_pkey PRIMARY KEY (id),
    CONSTRAINT course_feedback_course_user_key UNIQUE (course_id, user_clerk_id),
    CONSTRAINT course_feedback_course_id_fkey FOREIGN KEY (course_id) REFERENCES courses (id) ON DELETE CASCADE,
    -- A rating stays in the course's summary when its author is erased.
    CONSTRAINT course_feedback_user_clerk_id_fkey FOREIGN KEY (user_clerk_id)
        REFERENCES users (clerk_id) ON UPDATE CASCADE ON DELETE SET NULL,
    CONSTRAINT course_feedback_rating_range CHECK (rating BETWEEN 1 AND 5),
    CONSTRAINT course_feedback_comment_length CHECK (char_length(comment) <= 5000)
);
COMMENT ON TABLE course_feedback IS 'A learner''s 1-5 rating of a course, once per learner per course.';
CREATE INDEX course_feedback_user_clerk_id_idx ON course_feedback (user_clerk_id);
CREATE TRIGGER course_feedback_set_updated_at BEFORE UPDATE ON course_feedback
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE feedback_upvotes (
    id            uuid        NOT NULL DEFAULT gen_random_uuid(),
    feedback_id   uuid        NOT NULL,
    user_clerk_id text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT feedback_upvotes_pkey PRIMARY KEY (id),
    CONSTRAINT feedback_upvotes_feedback_user_key UNIQUE (feedback_id, user_clerk_id),
    CONSTRAINT feedback_upvotes_feedback_id_fkey FOREIGN KEY (feedback_id)
        REFERENCES course_feedback (id) ON DELETE CASCADE,
    CONSTRAINT feedback_upvotes_user_clerk_id_fkey FOREIGN KEY (user_clerk_id)
        REFERENCES users (clerk_id) ON UPDATE CASCADE ON DELETE CASCADE
);
COMMENT ON TABLE feedback_upvotes IS 'A user endorses a piece of feedback, at most once.';
CREATE INDEX feedback_upvotes_user_clerk_id_idx ON feedback_upvotes (user_clerk_id);
CREATE TRIGGER feedback_upvotes_set_updated_at BEFORE UPDATE ON feedback_upvotes
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- ---- 60_gamification.sql ----
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

-- ---- 70_flashcards.sql ----
-- Flashcards: sets of cards, and each learner's spaced-repetition schedule per card.

CREATE TABLE flashcard_sets (
    id             uuid        NOT NULL DEFAULT gen_random_uuid(),
    owner_clerk_id text        NOT NULL,
    course_id      uuid,
    title          text        NOT NULL,
    description    text        NOT NULL DEFAULT '',
    is_public      boolean     NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT flashcard_sets_pkey PRIMARY KEY (id),
    CONSTRAINT flashcard_sets_owner_clerk_id_fkey FOREIGN KEY (owner_clerk_id)
        REFERENCES users (clerk_id) ON UPDATE CASCADE ON DELETE CASCADE,
    CONSTRAINT flashcard_sets_course_id_fkey FOREIGN KEY (course_id) REFERENCES courses (id) ON DELETE SET NULL,
    CONSTRAINT flashcard_sets_title_not_blank CHECK (is_not_blank(title) AND char_length(title) <= 200),
    CONSTRAINT flashcard_sets_description_length CHECK (char_length(description) <= 5000)
);
COMMENT ON TABLE flashcard_sets IS 'A deck of flashcards owned by a user, optionally tied to a course.';
CREATE INDEX flashcard_sets_owner_clerk_id_idx ON flashcard_sets (owner_clerk_id);
CREATE INDEX flashcard_sets_course_id_idx ON flashcard_sets (course_id);
CREATE TRIGGER flashcard_sets_set_updated_at BEFORE UPDATE ON flashcard_sets
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE flashcards (
    id         uuid        NOT NULL DEFAULT gen_random_uuid(),
    set_id     uuid        NOT NULL,
    front      text        NOT NULL,
    back       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT flashcards_pkey PRIMARY KEY (id),
    CONSTRAINT flashcards_set_id_fkey FOREIGN KEY (set_id) REFERENCES flashcard_sets (id) ON DELETE CASCADE,
    CONSTRAINT flashcards_front_not_blank CHECK (is_not_blank(front) AND char_length(front) <= 5000),
    CONSTRAINT flashcards_back_not_blank CHECK (is_not_blank(back) AND char_length(back) <= 5000)
);
COMMENT ON TABLE flashcards IS 'A card: a prompt on the front, the answer on the back.';
CREATE INDEX flashcards_set_id_idx ON flashcards (set_id);
CREATE TRIGGER flashcards_set_updated_at BEFORE UPDATE ON flashcards
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE user_flashcard_progress (
    id               uuid         NOT NULL DEFAULT gen_random_uuid(),
    user_clerk_id    text         NOT NULL,
    flashcard_id     uuid         NOT NULL,
    repetitions      integer      NOT NULL DEFAULT 0,
    interval_days    integer      NOT NULL DEFAULT 0,
    ease_factor      numeric(4,2) NOT NULL DEFAULT 2.5,
    mastery          integer      NOT NULL DEFAULT 0,
    next_review_at   timestamptz  NOT NULL DEFAULT now(),
    last_reviewed_at timestamptz,
    created_at       timestamptz  NOT NULL DEFAULT now(),
    updated_at       timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT user_flashcard_progress_pkey PRIMARY KEY (id),
    CONSTRAINT user_flashcard_progress_user_card_key UNIQUE (user_clerk_id, flashcard_id),
    CONSTRAINT user_flashcard_progress_user_clerk_id_fkey FOREIGN KEY (user_clerk_id)
        REFERENCES users (clerk_id) ON UPDATE CASCADE ON DELETE CASCADE,
    CONSTRAINT user_flashcard_progress_flashcard_id_fkey FOREIGN KEY (flashcard_id)
        REFERENCES flashcards (id) ON DELETE CASCADE,
    CONSTRAINT user_flashcard_progress_repetitions_non_negative CHECK (repetitions >= 0),
    CONSTRAINT user_flashcard_progress_interval_non_negative CHECK (interval_days >= 0),
    -- SM-2 never lets the ease factor fall below 1.3.
    CONSTRAINT user_flashcard_progress_ease_factor_range CHECK (ease_factor BETWEEN 1.3 AND 5.0),
    CONSTRAINT user_flashcard_progress_mastery_range CHECK (mastery BETWEEN 0 AND 5)
);
COMMENT ON TABLE user_flashcard_progress IS 'A learner''s SM-2 schedule for one card; mastery 0-5.';
CREATE INDEX user_flashcard_progress_flashcard_id_idx ON user_flashcard_progress (flashcard_id);
-- The queue of cards due now, per learner.
CREATE INDEX user_flashcard_progress_due_idx ON user_flashcard_progress (user_clerk_id, next_review_at);
CREATE TRIGGER user_flashcard_progress_set_updated_at BEFORE UPDATE ON user_flashcard_progress
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
