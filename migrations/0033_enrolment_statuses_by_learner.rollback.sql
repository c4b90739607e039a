CREATE OR REPLACE FUNCTION user_courses_count_lessons() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_learners text[];
    v_courses uuid[];
    v_signs integer[];
    v_lessons uuid[];
    v_started bigint[];
    v_completed bigint[];
BEGIN
    IF TG_LEVEL = 'ROW' THEN
        v_learners := ARRAY[OLD.user_clerk_id, NEW.user_clerk_id];
        v_courses := ARRAY[OLD.course_id, NEW.course_id];
        v_signs := ARRAY[-1, 1];
    ELSIF TG_OP = 'INSERT' THEN
        SELECT array_agg(n.user_clerk_id), array_agg(n.course_id), array_agg(1)
        INTO v_learners, v_courses, v_signs FROM new_rows n;
    ELSE
        SELECT array_agg(o.user_clerk_id), array_agg(o.course_id), array_agg(-1)
        INTO v_learners, v_courses, v_signs
        FROM old_rows o WHERE EXISTS (SELECT FROM users u WHERE u.clerk_id = o.user_clerk_id);
    END IF;
    IF v_learners IS NULL THEN
        RETURN NULL;
    END IF;
    -- A deletion needs no pair lock: it holds the enrolment's row lock, which a status writer that
    -- counts against the enrolment waits for (see lesson_progress_counts_lock).
    IF TG_OP <> 'DELETE' THEN
        PERFORM lesson_progress_counts_lock(v_learners, v_courses);
    END IF;
    SELECT array_agg(d.lesson_id ORDER BY d.lesson_id), array_agg(d.started ORDER BY d.lesson_id),
           array_agg(d.completed ORDER BY d.lesson_id)
    INTO v_lessons, v_started, v_completed
    FROM (SELECT p.lesson_id,
                 sum(e.sign * (p.status <> 'not_started')::integer)::bigint AS started,
                 sum(e.sign * (p.status = 'completed')::integer)::bigint AS completed
          FROM unnest(v_learners, v_courses, v_signs) AS e (learner, course, sign)
          JOIN user_progress p ON p.user_clerk_id = e.learner
          JOIN lessons l ON l.id = p.lesson_id
          JOIN units un ON un.id = l.unit_id AND un.course_id = e.course
          GROUP BY p.lesson_id) AS d
    WHERE d.started <> 0 OR d.completed <> 0;
    IF v_lessons IS NOT NULL THEN
        PERFORM lesson_progress_counts_add(v_lessons, v_started, v_completed);
    END IF;
    RETURN NULL;
END
$$;
