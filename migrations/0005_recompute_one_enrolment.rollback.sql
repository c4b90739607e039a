-- Undo 0005_recompute_one_enrolment: the functions as 0004_progress_functions created them.

CREATE OR REPLACE FUNCTION recompute_enrolments(p_course_ids uuid[], p_user_clerk_id text) RETURNS SETOF user_courses
LANGUAGE sql VOLATILE AS $$
    WITH enrolments AS (
        SELECT uc.id, uc.user_clerk_id, uc.course_id
        FROM user_courses uc
        WHERE uc.course_id = ANY (p_course_ids)
          AND (p_user_clerk_id IS NULL OR uc.user_clerk_id = p_user_clerk_id)
    ), lesson_counts AS (
        SELECT u.course_id, count(*) AS lessons
        FROM units u JOIN lessons l ON l.unit_id = u.id
        WHERE u.course_id = ANY (p_course_ids)
        GROUP BY u.course_id
    ), completed_counts AS (
        SELECT e.id, count(*) AS completed
        FROM enrolments e
        JOIN units u ON u.course_id = e.course_id
        JOIN lessons l ON l.unit_id = u.id
        JOIN user_progress p ON p.user_clerk_id = e.user_clerk_id AND p.lesson_id = l.id
        WHERE p.status = 'completed'
        GROUP BY e.id
    ), computed AS (
        SELECT e.id,
               CASE WHEN coalesce(lc.lessons, 0) = 0 THEN 0
                    ELSE (100 * coalesce(cc.completed, 0) / lc.lessons)::integer END AS progress
        FROM enrolments e
        LEFT JOIN lesson_counts lc ON lc.course_id = e.course_id
        LEFT JOIN completed_counts cc ON cc.id = e.id
    )
    UPDATE user_courses uc
    SET progress = c.progress,
        completed_at = CASE WHEN c.progress = 100 THEN coalesce(uc.completed_at, now()) END
    FROM computed c
    WHERE uc.id = c.id
      AND (uc.progress <> c.progress OR (uc.completed_at IS NOT NULL) <> (c.progress = 100))
    RETURNING uc.*;
$$;

CREATE OR REPLACE FUNCTION enrol_in_course(p_user_clerk_id text, p_course_id uuid) RETURNS user_courses
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    course_status text;
    enrolment user_courses;
BEGIN
    SELECT * INTO enrolment FROM user_courses
    WHERE user_clerk_id = p_user_clerk_id AND course_id = p_course_id;
    IF FOUND THEN
        RETURN enrolment;
    END IF;
    -- FOR SHARE: the course cannot be unpublished between this check and the commit.
    SELECT status INTO course_status FROM courses WHERE id = p_course_id FOR SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no course with id %', p_course_id
            USING ERRCODE = 'no_data_found', HINT = 'course_id';
    END IF;
    IF course_status <> 'published' THEN
        RAISE EXCEPTION 'course % is %: only published courses can be enrolled into', p_course_id, course_status
            USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'course_id';
    END IF;
    PERFORM FROM users WHERE clerk_id = p_user_clerk_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no user with clerk_id %', quote_literal(p_user_clerk_id)
            USING ERRCODE = 'no_data_found', HINT = 'clerk_id';
    END IF;
    INSERT INTO user_courses (user_clerk_id, course_id) VALUES (p_user_clerk_id, p_course_id)
    ON CONFLICT (user_clerk_id, course_id) DO NOTHING
    RETURNING * INTO enrolment;
    IF NOT FOUND THEN
        -- Enrolled by a concurrent call: this new statement sees its committed row.
        SELECT * INTO enrolment FROM user_courses
        WHERE user_clerk_id = p_user_clerk_id AND course_id = p_course_id;
        RETURN enrolment;
    END IF;
    -- Lesson statuses already there (from an import, or plain SQL) count from the start.
    PERFORM FROM recompute_enrolments(ARRAY[p_course_id], p_user_clerk_id);
    SELECT * INTO enrolment FROM user_courses WHERE id = enrolment.id;
    RETURN enrolment;
END
$$;

CREATE OR REPLACE FUNCTION set_lesson_status(p_user_clerk_id text, p_lesson_id uuid, p_status text) RETURNS user_courses
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    lesson_course uuid;
    enrolment user_courses;
BEGIN
    IF p_status IS NULL OR p_status NOT IN ('not_started', 'in_progress', 'completed') THEN
        RAISE EXCEPTION 'status must be one of not_started, in_progress, completed, not %', quote_nullable(p_status)
            USING HINT = 'status';
    END IF;
    LOOP
        -- Lesson before enrolment, the order in which deleting a lesson locks them (its trigger
        -- then locks the enrolments): the two queue instead of deadlocking.
        SELECT u.course_id INTO lesson_course
        FROM lessons l JOIN units u ON u.id = l.unit_id WHERE l.id = p_lesson_id
        FOR KEY SHARE OF l;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'no lesson with id %', p_lesson_id
                USING ERRCODE = 'no_data_found', HINT = 'lesson_id';
        END IF;
        SELECT * INTO enrolment FROM user_courses
        WHERE user_clerk_id = p_user_clerk_id AND course_id = lesson_course
        FOR NO KEY UPDATE;
        IF NOT FOUND THEN
            PERFORM FROM users WHERE clerk_id = p_user_clerk_id;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'no user with clerk_id %', quote_literal(p_user_clerk_id)
                    USING ERRCODE = 'no_data_found', HINT = 'clerk_id';
            END IF;
            RAISE EXCEPTION 'user % is not enrolled in course %, the course of lesson %: enrol first',
                quote_literal(p_user_clerk_id), lesson_course, p_lesson_id
                USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'lesson_id';
        END IF;
        -- The lesson may have moved to another course while this waited for the lock.
        EXIT WHEN EXISTS (
            SELECT FROM lessons l JOIN units u ON u.id = l.unit_id
            WHERE l.id = p_lesson_id AND u.course_id = lesson_course);
    END LOOP;
    INSERT INTO user_progress AS p (user_clerk_id, lesson_id, status, started_at, completed_at)
    VALUES (p_user_clerk_id, p_lesson_id, p_status,
            CASE WHEN p_status <> 'not_started' THEN now() END,
            CASE WHEN p_status = 'completed' THEN now() END)
    ON CONFLICT (user_clerk_id, lesson_id) DO UPDATE
        SET status = excluded.status,
            started_at = CASE WHEN excluded.status <> 'not_started'
                              THEN coalesce(p.started_at, excluded.started_at) END,
            completed_at = CASE WHEN excluded.status = 'completed'
                                THEN coalesce(p.completed_at, excluded.completed_at) END;
    PERFORM FROM recompute_enrolments(ARRAY[lesson_course], p_user_clerk_id);
    SELECT * INTO enrolment FROM user_courses WHERE id = enrolment.id;
    RETURN enrolment;
END
$$;
