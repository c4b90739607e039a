-- Enrolment progress is a function of a course's lessons and the learner's lesson statuses: one
-- function computes it, and every path that changes either (set_lesson_status, enrol_in_course and
-- the triggers on lessons and units) calls it in the same transaction, so the stored 0-100 progress
-- and completed_at are never stale, whoever changed the course (learnstore, an import, plain SQL).
--
-- Concurrency: each path first locks the enrolments it will rewrite, then computes them in a later
-- statement. In READ COMMITTED a statement reads one snapshot taken when it starts, even after it
-- waited for a lock; a statement that starts after the lock is granted sees every change committed
-- by whoever held it.

-- Rewrites progress and completed_at of the enrolments in the given courses (of every learner, or
-- of one when p_user_clerk_id is given) and returns the rows that changed. progress is
-- floor(100 * completed lessons / lessons of the course), 0 for a course without lessons;
-- completed_at keeps its first value while progress stays 100 and is cleared when it drops.
--
-- Two statements, one per case, in PL/pgSQL so that each is planned once per session with its own
-- indexes: one learner's write touches only that learner's enrolments (found by the
-- (user_clerk_id, course_id) key, the lessons counted against the learner's own statuses), and a
-- content change reads each course's completed statuses once, by lesson (user_progress_lesson_id_idx),
-- grouped by learner, instead of probing every enrolment lesson by lesson. A single statement with
-- "p_user_clerk_id IS NULL OR ..." could not use the learner's key and read every enrolment of the
-- course on every write (4 ms for the 8,000 of the large benchmark's flagship; bench/).
CREATE FUNCTION recompute_enrolments(p_course_ids uuid[], p_user_clerk_id text) RETURNS SETOF user_courses
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF p_user_clerk_id IS NOT NULL THEN
        -- MATERIALIZED: computed first, for the learner's enrolments alone, then joined to them
        -- by id; inlined, the planner joined the computation to every row of user_courses.
        RETURN QUERY
        WITH computed AS MATERIALIZED (
            SELECT uc.id,
                   (SELECT CASE WHEN count(l.id) = 0 THEN 0
                                ELSE (100 * count(p.id) / count(l.id))::integer END
                    FROM units u
                    JOIN lessons l ON l.unit_id = u.id
                    LEFT JOIN user_progress p
                           ON p.user_clerk_id = uc.user_clerk_id AND p.lesson_id = l.id
                          AND p.status = 'completed'
                    WHERE u.course_id = uc.course_id) AS progress
            FROM user_courses uc
            WHERE uc.user_clerk_id = p_user_clerk_id AND uc.course_id = ANY (p_course_ids)
        ), changed AS (
            UPDATE user_courses uc
            SET progress = c.progress,
                completed_at = CASE WHEN c.progress = 100 THEN coalesce(uc.completed_at, now()) END
            FROM computed c
            WHERE uc.id = c.id AND uc.user_clerk_id = p_user_clerk_id AND uc.course_id = ANY (p_course_ids)
              AND (uc.progress <> c.progress OR (uc.completed_at IS NOT NULL) <> (c.progress = 100))
            RETURNING uc.*
        )
        SELECT * FROM changed;
    ELSE
        RETURN QUERY
        WITH lesson_counts AS (
            SELECT u.course_id, count(*) AS lessons
            FROM units u JOIN lessons l ON l.unit_id = u.id
            WHERE u.course_id = ANY (p_course_ids)
            GROUP BY u.course_id
        ), completed_counts AS (
            SELECT u.course_id, p.user_clerk_id, count(*) AS completed
            FROM units u
            JOIN lessons l ON l.unit_id = u.id
            JOIN user_progress p ON p.lesson_id = l.id
            WHERE u.course_id = ANY (p_course_ids) AND p.status = 'completed'
            GROUP BY u.course_id, p.user_clerk_id
        ), computed AS (
            SELECT uc.id,
                   CASE WHEN coalesce(lc.lessons, 0) = 0 THEN 0
                        ELSE (100 * coalesce(cc.completed, 0) / lc.lessons)::integer END AS progress
            FROM user_courses uc
            LEFT JOIN lesson_counts lc ON lc.course_id = uc.course_id
            LEFT JOIN completed_counts cc
                   ON cc.course_id = uc.course_id AND cc.user_clerk_id = uc.user_clerk_id
            WHERE uc.course_id = ANY (p_course_ids)
        ), changed AS (
            UPDATE user_courses uc
            SET progress = c.progress,
                completed_at = CASE WHEN c.progress = 100 THEN coalesce(uc.completed_at, now()) END
            FROM computed c
            -- The course filter again, on the rows to update: without it they were found by
            -- scanning all of user_courses for the ids (30 ms at the large scale).
            WHERE uc.id = c.id AND uc.course_id = ANY (p_course_ids)
              AND (uc.progress <> c.progress OR (uc.completed_at IS NOT NULL) <> (c.progress = 100))
            RETURNING uc.*
        )
        SELECT * FROM changed;
    END IF;
END
$$;

-- Locks every enrolment in the given courses (in id order, so two callers cannot deadlock), then
-- recomputes them in a new statement; returns how many changed. The repair path, and what the
-- triggers below call.
CREATE FUNCTION refresh_course_enrolments(p_course_ids uuid[]) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    changed integer;
BEGIN
    PERFORM FROM user_courses WHERE course_id = ANY (p_course_ids) ORDER BY id FOR NO KEY UPDATE;
    SELECT count(*) INTO changed FROM recompute_enrolments(p_course_ids, NULL);
    RETURN changed;
END
$$;

-- Statement-level trigger function on lessons: recomputes the enrolments of every course that
-- gained lessons (INSERT), lost lessons (DELETE) or had lessons moved in or out (UPDATE of
-- unit_id), once per statement, however many rows it touched. Lessons deleted together with their
-- unit are the units trigger's business: their unit is gone by the time this runs.
CREATE FUNCTION lessons_refresh_enrolments() RETURNS trigger
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    affected uuid[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(DISTINCT u.course_id) INTO affected
        FROM new_lessons n JOIN units u ON u.id = n.unit_id;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(DISTINCT u.course_id) INTO affected
        FROM old_lessons o JOIN units u ON u.id = o.unit_id;
    ELSE
        SELECT array_agg(DISTINCT moved.course_id) INTO affected
        FROM old_lessons o
        JOIN new_lessons n ON n.id = o.id AND n.unit_id <> o.unit_id
        JOIN units was ON was.id = o.unit_id
        JOIN units now_in ON now_in.id = n.unit_id
        CROSS JOIN LATERAL unnest(ARRAY[was.course_id, now_in.course_id]) AS moved(course_id)
        WHERE was.course_id <> now_in.course_id;
    END IF;
    IF affected IS NOT NULL THEN
        PERFORM refresh_course_enrolments(affected);
    END IF;
    RETURN NULL;
END
$$;

-- Statement-level trigger function on units: a deleted unit takes its lessons with it, and a unit
-- moved to another course takes its lessons along.
CREATE FUNCTION units_refresh_enrolments() RETURNS trigger
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    affected uuid[];
BEGIN
    IF TG_OP = 'DELETE' THEN
        SELECT array_agg(DISTINCT o.course_id) INTO affected
        FROM old_units o WHERE EXISTS (SELECT FROM courses c WHERE c.id = o.course_id);
    ELSE
        SELECT array_agg(DISTINCT moved.course_id) INTO affected
        FROM old_units o
        JOIN new_units n ON n.id = o.id AND n.course_id <> o.course_id
        CROSS JOIN LATERAL unnest(ARRAY[o.course_id, n.course_id]) AS moved(course_id);
    END IF;
    IF affected IS NOT NULL THEN
        PERFORM refresh_course_enrolments(affected);
    END IF;
    RETURN NULL;
END
$$;

-- PostgreSQL allows transition tables only on single-event triggers without a column list, hence
-- one trigger per event, and UPDATE triggers that look for a changed unit_id / course_id themselves.
CREATE TRIGGER lessons_insert_refresh_enrolments AFTER INSERT ON lessons
    REFERENCING NEW TABLE AS new_lessons
    FOR EACH STATEMENT EXECUTE FUNCTION lessons_refresh_enrolments();
CREATE TRIGGER lessons_delete_refresh_enrolments AFTER DELETE ON lessons
    REFERENCING OLD TABLE AS old_lessons
    FOR EACH STATEMENT EXECUTE FUNCTION lessons_refresh_enrolments();
CREATE TRIGGER lessons_update_refresh_enrolments AFTER UPDATE ON lessons
    REFERENCING OLD TABLE AS old_lessons NEW TABLE AS new_lessons
    FOR EACH STATEMENT EXECUTE FUNCTION lessons_refresh_enrolments();
CREATE TRIGGER units_delete_refresh_enrolments AFTER DELETE ON units
    REFERENCING OLD TABLE AS old_units
    FOR EACH STATEMENT EXECUTE FUNCTION units_refresh_enrolments();
CREATE TRIGGER units_update_refresh_enrolments AFTER UPDATE ON units
    REFERENCING OLD TABLE AS old_units NEW TABLE AS new_units
    FOR EACH STATEMENT EXECUTE FUNCTION units_refresh_enrolments();

-- Enrols a learner in a published course and returns the enrolment. Idempotent: an existing
-- enrolment is returned as it is (even if the course has been archived since), also when a
-- concurrent call enrolled the learner first.
CREATE FUNCTION enrol_in_course(p_user_clerk_id text, p_course_id uuid) RETURNS user_courses
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    course_status text;
    enrolment user_courses;
    recomputed user_courses;
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
    -- The recompute returns the enrolment if it changed it; else the row inserted above is current.
    SELECT * INTO recomputed FROM recompute_enrolments(ARRAY[p_course_id], p_user_clerk_id);
    IF FOUND THEN
        RETURN recomputed;
    END IF;
    RETURN enrolment;
END
$$;

-- Unenrols a learner and deletes their lesson statuses in that course, so that enrolling again
-- starts afresh. Returns whether there was an enrolment; idempotent.
CREATE FUNCTION unenrol_from_course(p_user_clerk_id text, p_course_id uuid) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    was_enrolled boolean;
BEGIN
    DELETE FROM user_courses WHERE user_clerk_id = p_user_clerk_id AND course_id = p_course_id;
    was_enrolled := FOUND;
    -- A new statement: it sees a status that a concurrent set_lesson_status committed while this
    -- waited for the enrolment's lock.
    DELETE FROM user_progress p
    USING lessons l, units u
    WHERE p.user_clerk_id = p_user_clerk_id AND p.lesson_id = l.id
      AND l.unit_id = u.id AND u.course_id = p_course_id;
    RETURN was_enrolled;
END
$$;

-- Sets a learner's status in a lesson (not_started, in_progress, completed) and returns the
-- enrolment with its progress recomputed. started_at is set when the lesson is first started (or
-- completed outright) and kept; completed_at is set on completion, kept while completed, cleared
-- when the status goes back; not_started clears both. The learner must be enrolled in the
-- lesson's course. Concurrent calls for one enrolment queue on its row.
CREATE FUNCTION set_lesson_status(p_user_clerk_id text, p_lesson_id uuid, p_status text) RETURNS user_courses
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    lesson_course uuid;
    enrolment user_courses;
    recomputed user_courses;
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
    -- Only this learner's enrolment is recomputed. It comes back if it changed; else the row locked
    -- above is still current (no one else can write it before this transaction ends).
    SELECT * INTO recomputed FROM recompute_enrolments(ARRAY[lesson_course], p_user_clerk_id);
    IF FOUND THEN
        RETURN recomputed;
    END IF;
    RETURN enrolment;
END
$$;
