-- Enrolment and progress: who is enrolled in what, and how far each learner is in each lesson.
-- Both are private to the learner: erasing a user deletes them.

CREATE TABLE user_courses (
    id            uuid        NOT NULL DEFAULT uuidv7(),
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
    id             uuid        NOT NULL DEFAULT uuidv7(),
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
