-- Course content: courses, their units, the units' lessons, and each lesson's media and quizzes.
-- Deleting a course deletes everything under it; deleting its author keeps the course (author NULL).

CREATE TABLE courses (
    id                         uuid        NOT NULL DEFAULT uuidv7(),
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
    id          uuid        NOT NULL DEFAULT uuidv7(),
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
    id               uuid        NOT NULL DEFAULT uuidv7(),
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
    id         uuid        NOT NULL DEFAULT uuidv7(),
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
    id             uuid        NOT NULL DEFAULT uuidv7(),
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
    id         uuid        NOT NULL DEFAULT uuidv7(),
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
