-- Content: the ordering functions of units and lessons, and quiz_attempts (sql/schema/32, 35).
-- Migrations are history: never edit this file; add a new migration and change sql/schema with it.

-- ---- 32_content_ordering.sql ----
-- The order of a course's content: units in a course and lessons in a unit sit at positions
-- 0, 1, ..., n-1, unique and without gaps, after every operation.
--
-- Each change of order is one function, one statement for the caller. It locks the course row
-- first, so that changes to one course queue behind each other; every later statement of the
-- function takes a fresh snapshot (READ COMMITTED) and so sees what the change before it committed.
-- The unique (parent, position) constraints are DEFERRABLE, hence checked at the end of each
-- statement: a single UPDATE can shift a whole run of siblings by one.
--
-- Positions are 0-based; NULL means "at the end". A negative position or one past the end is
-- rejected (HINT 'position'); an unknown id raises no_data_found with the id's name as HINT.

-- Locks a course against concurrent changes of order; false if there is no such course.
CREATE FUNCTION lock_course_content(p_course_id uuid) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    -- NO KEY UPDATE: concurrent inserts that only reference the course (FOR KEY SHARE) go on.
    PERFORM FROM courses WHERE id = p_course_id FOR NO KEY UPDATE;
    RETURN FOUND;
END
$$;

-- The position to use among siblings whose last valid position is p_last (NULL: p_last itself).
CREATE FUNCTION content_position(p_position integer, p_last integer) RETURNS integer
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF p_position IS NULL THEN
        RETURN p_last;
    END IF;
    IF p_position < 0 OR p_position > p_last THEN
        RAISE EXCEPTION 'position % is out of range: it must be between 0 and %', p_position, p_last
            USING HINT = 'position';
    END IF;
    RETURN p_position;
END
$$;

-- Adds a unit to a course at a position (NULL: at the end), shifting the units after it.
CREATE FUNCTION add_unit(p_course_id uuid, p_title text, p_description text, p_position integer)
RETURNS units
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_position integer;
    created units;
BEGIN
    IF NOT lock_course_content(p_course_id) THEN
        RAISE EXCEPTION 'no course with id %', p_course_id USING ERRCODE = 'no_data_found', HINT = 'course_id';
    END IF;
    SELECT content_position(p_position, count(*)::integer) INTO v_position
    FROM units WHERE course_id = p_course_id;
    UPDATE units SET position = position + 1 WHERE course_id = p_course_id AND position >= v_position;
    INSERT INTO units (course_id, title, description, position)
    VALUES (p_course_id, p_title, p_description, v_position)
    RETURNING * INTO created;
    RETURN created;
END
$$;

-- Moves a unit to another position in its course (NULL: the last), shifting the units between.
CREATE FUNCTION move_unit(p_unit_id uuid, p_position integer) RETURNS units
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_course uuid;
    v_from integer;
    v_to integer;
    v_last integer;
    moved units;
BEGIN
    SELECT course_id INTO v_course FROM units WHERE id = p_unit_id;
    IF NOT FOUND OR NOT lock_course_content(v_course) THEN
        RAISE EXCEPTION 'no unit with id %', p_unit_id USING ERRCODE = 'no_data_found', HINT = 'unit_id';
    END IF;
    -- A fresh snapshot: the unit may have moved, or gone, while this waited for the lock.
    SELECT position INTO v_from FROM units WHERE id = p_unit_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no unit with id %', p_unit_id USING ERRCODE = 'no_data_found', HINT = 'unit_id';
    END IF;
    SELECT count(*)::integer - 1 INTO v_last FROM units WHERE course_id = v_course;
    v_to := content_position(p_position, v_last);
    UPDATE units
    SET position = CASE WHEN id = p_unit_id THEN v_to WHEN v_to > v_from THEN position - 1 ELSE position + 1 END
    WHERE course_id = v_course AND v_from <> v_to
      AND position BETWEEN least(v_from, v_to) AND greatest(v_from, v_to);
    SELECT * INTO moved FROM units WHERE id = p_unit_id;
    RETURN moved;
END
$$;

-- Deletes a unit and its lessons, closing the gap it leaves; false if there is no such unit.
CREATE FUNCTION delete_unit(p_unit_id uuid) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_course uuid;
    v_from integer;
BEGIN
    SELECT course_id INTO v_course FROM units WHERE id = p_unit_id;
    IF NOT FOUND OR NOT lock_course_content(v_course) THEN
        RETURN false;
    END IF;
    DELETE FROM units WHERE id = p_unit_id RETURNING position INTO v_from;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    UPDATE units SET position = position - 1 WHERE course_id = v_course AND position > v_from;
    RETURN true;
END
$$;

-- Adds a lesson to a unit at a position (NULL: at the end), shifting the lessons after it.
CREATE FUNCTION add_lesson(
    p_unit_id uuid, p_title text, p_content_type text, p_content jsonb, p_duration_seconds integer,
    p_position integer
) RETURNS lessons
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_course uuid;
    v_position integer;
    created lessons;
BEGIN
    SELECT course_id INTO v_course FROM units WHERE id = p_unit_id;
    IF NOT FOUND OR NOT lock_course_content(v_course) THEN
        RAISE EXCEPTION 'no unit with id %', p_unit_id USING ERRCODE = 'no_data_found', HINT = 'unit_id';
    END IF;
    PERFORM FROM units WHERE id = p_unit_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no unit with id %', p_unit_id USING ERRCODE = 'no_data_found', HINT = 'unit_id';
    END IF;
    SELECT content_position(p_position, count(*)::integer) INTO v_position
    FROM lessons WHERE unit_id = p_unit_id;
    UPDATE lessons SET position = position + 1 WHERE unit_id = p_unit_id AND position >= v_position;
    INSERT INTO lessons (unit_id, title, content_type, content, duration_seconds, position)
    VALUES (p_unit_id, p_title, p_content_type, p_content, p_duration_seconds, v_position)
    RETURNING * INTO created;
    RETURN created;
END
$$;

-- Moves a lesson to a position in a unit of the same course (p_unit_id NULL: its own unit;
-- p_position NULL: the end), closing the gap it leaves and opening one where it lands.
CREATE FUNCTION move_lesson(p_lesson_id uuid, p_unit_id uuid, p_position integer) RETURNS lessons
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_course uuid;
    v_from_unit uuid;
    v_from integer;
    v_to_unit uuid;
    v_to_course uuid;
    v_to integer;
    v_last integer;
    moved lessons;
BEGIN
    SELECT u.course_id INTO v_course FROM lessons l JOIN units u ON u.id = l.unit_id WHERE l.id = p_lesson_id;
    IF NOT FOUND OR NOT lock_course_content(v_course) THEN
        RAISE EXCEPTION 'no lesson with id %', p_lesson_id USING ERRCODE = 'no_data_found', HINT = 'lesson_id';
    END IF;
    -- A fresh snapshot: the lesson may have moved, or gone, while this waited for the lock.
    SELECT unit_id, position INTO v_from_unit, v_from FROM lessons WHERE id = p_lesson_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no lesson with id %', p_lesson_id USING ERRCODE = 'no_data_found', HINT = 'lesson_id';
    END IF;
    v_to_unit := coalesce(p_unit_id, v_from_unit);
    SELECT course_id INTO v_to_course FROM units WHERE id = v_to_unit;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no unit with id %', v_to_unit USING ERRCODE = 'no_data_found', HINT = 'unit_id';
    END IF;
    IF v_to_course <> v_course THEN
        RAISE EXCEPTION 'a lesson moves only between units of its own course'
            USING ERRCODE = 'foreign_key_violation', COLUMN = 'unit_id', CONSTRAINT = 'lessons_move_same_course',
                  DETAIL = format('Lesson %s is in course %s; unit %s is in course %s.',
                                  p_lesson_id, v_course, v_to_unit, v_to_course);
    END IF;
    IF v_to_unit = v_from_unit THEN
        SELECT count(*)::integer - 1 INTO v_last FROM lessons WHERE unit_id = v_from_unit;
        v_to := content_position(p_position, v_last);
        UPDATE lessons
        SET position = CASE WHEN id = p_lesson_id THEN v_to WHEN v_to > v_from THEN position - 1 ELSE position + 1 END
        WHERE unit_id = v_from_unit AND v_from <> v_to
          AND position BETWEEN least(v_from, v_to) AND greatest(v_from, v_to);
    ELSE
        SELECT count(*)::integer INTO v_last FROM lessons WHERE unit_id = v_to_unit;
        v_to := content_position(p_position, v_last);
        UPDATE lessons SET position = position + 1 WHERE unit_id = v_to_unit AND position >= v_to;
        UPDATE lessons SET unit_id = v_to_unit, position = v_to WHERE id = p_lesson_id;
        UPDATE lessons SET position = position - 1 WHERE unit_id = v_from_unit AND position > v_from;
    END IF;
    SELECT * INTO moved FROM lessons WHERE id = p_lesson_id;
    RETURN moved;
END
$$;

-- Deletes a lesson and what hangs off it, closing the gap it leaves; false if there is no such lesson.
CREATE FUNCTION delete_lesson(p_lesson_id uuid) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_course uuid;
    v_unit uuid;
    v_from integer;
BEGIN
    SELECT u.course_id INTO v_course FROM lessons l JOIN units u ON u.id = l.unit_id WHERE l.id = p_lesson_id;
    IF NOT FOUND OR NOT lock_course_content(v_course) THEN
        RETURN false;
    END IF;
    DELETE FROM lessons WHERE id = p_lesson_id RETURNING unit_id, position INTO v_unit, v_from;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    UPDATE lessons SET position = position - 1 WHERE unit_id = v_unit AND position > v_from;
    RETURN true;
END
$$;

-- ---- 35_quiz_attempts.sql ----
-- Learners' answers to quizzes, each scored when it is recorded.

-- True when an answer is right for a quiz of this type and correct answer:
--   mcq: the same option (a string), or the same set of options (an array, for several right ones);
--   flashcard, fill_blank: the same text as the correct answer, or as one of the accepted answers
--   (an array), ignoring case and surrounding or repeated whitespace.
CREATE FUNCTION quiz_answer_is_correct(p_question_type text, p_correct_answer jsonb, p_answer jsonb)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN coalesce(CASE
    WHEN p_question_type = 'mcq' AND jsonb_typeof(p_correct_answer) = 'array' THEN
        jsonb_typeof(p_answer) = 'array' AND p_answer @> p_correct_answer AND p_correct_answer @> p_answer
    WHEN p_question_type = 'mcq' THEN
        p_answer = p_correct_answer
    ELSE
        jsonb_typeof(p_answer) IN ('string', 'number') AND EXISTS (
            SELECT FROM jsonb_array_elements(
                CASE WHEN jsonb_typeof(p_correct_answer) = 'array' THEN p_correct_answer
                     ELSE jsonb_build_array(p_correct_answer) END) AS accepted (value)
            WHERE lower(regexp_replace(btrim(accepted.value #>> '{}'), '\s+', ' ', 'g'))
                = lower(regexp_replace(btrim(p_answer #>> '{}'), '\s+', ' ', 'g')))
END, false);

CREATE TABLE quiz_attempts (
    id            uuid        NOT NULL DEFAULT gen_random_uuid(),
    quiz_id       uuid        NOT NULL,
    user_clerk_id text        NOT NULL,
    answer        jsonb       NOT NULL,
    is_correct    boolean     NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT quiz_attempts_pkey PRIMARY KEY (id),
    CONSTRAINT quiz_attempts_quiz_id_fkey FOREIGN KEY (quiz_id) REFERENCES quizzes (id) ON DELETE CASCADE,
    CONSTRAINT quiz_attempts_user_clerk_id_fkey FOREIGN KEY (user_clerk_id)
        REFERENCES users (clerk_id) ON UPDATE CASCADE ON DELETE CASCADE,
    CONSTRAINT quiz_attempts_answer_shape CHECK (
        jsonb_typeof(answer) IN ('string', 'number', 'array') AND octet_length(answer::text) <= 10000)
);
COMMENT ON TABLE quiz_attempts IS 'A learner''s answer to a quiz, scored when it was recorded.';
COMMENT ON COLUMN quiz_attempts.is_correct IS 'The score at the time of the attempt: editing the quiz later does not change it.';
CREATE INDEX quiz_attempts_quiz_id_idx ON quiz_attempts (quiz_id);
-- A learner's attempts at a quiz: "has this learner passed these quizzes?"
CREATE INDEX quiz_attempts_user_quiz_idx ON quiz_attempts (user_clerk_id, quiz_id);
CREATE TRIGGER quiz_attempts_set_updated_at BEFORE UPDATE ON quiz_attempts
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
