-- Favorites: the courses a learner bookmarked. Private to the learner: erasing a user deletes them.

CREATE TABLE favorites (
    id            uuid        NOT NULL DEFAULT uuidv7(),
    user_clerk_id text        NOT NULL,
    course_id     uuid        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT favorites_pkey PRIMARY KEY (id),
    CONSTRAINT favorites_user_course_key UNIQUE (user_clerk_id, course_id),
    CONSTRAINT favorites_user_clerk_id_fkey FOREIGN KEY (user_clerk_id)
        REFERENCES users (clerk_id) ON UPDATE CASCADE ON DELETE CASCADE,
    CONSTRAINT favorites_course_id_fkey FOREIGN KEY (course_id) REFERENCES courses (id) ON DELETE CASCADE
);
COMMENT ON TABLE favorites IS 'A course a learner bookmarked; once per learner and course.';
CREATE INDEX favorites_course_id_idx ON favorites (course_id);
-- A learner's favorites, newest first (keyset pages).
CREATE INDEX favorites_user_newest_idx ON favorites (user_clerk_id, created_at DESC, id DESC);
CREATE TRIGGER favorites_set_updated_at BEFORE UPDATE ON favorites
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Recommendations read enrolments two ways, each from an index alone (no heap visit, which at the
-- large scale cost more than the rest of the query): the latest enrolments, newest first, with
-- their course (popularity); and a sample of a course's learners (co-enrolment).
CREATE INDEX user_courses_enrolled_at_idx ON user_courses (enrolled_at DESC, course_id);
CREATE INDEX user_courses_course_learners_idx ON user_courses (course_id, user_clerk_id);
