-- Reads that no longer grow with the platform (issue 20 point 5; migration 0029): the viewer's rank
-- on the overall leaderboard, from a histogram of learners per points value, and a course's
-- drop-off (ListLessonCompletions), from per-lesson counters of learners who started and completed
-- each lesson. Both are derived state kept by statement triggers in the writer's transaction, on
-- every path (learnstore's functions, imports over COPY, plain SQL), checked and repaired by
-- `learnstore check` (learnstore.derived). docs/gamification.md and docs/progress.md say why.
--
-- Both are counters many writers add to at once (every award moves a learner between two points
-- values; every learner of a popular course completes its first lesson), so each key has up to 8
-- shard rows, chosen by the writer's backend pid as forum_post_view_counts does: 16 concurrent
-- writers queue on 8 row locks, not one. A key's value is the sum of its shards; a single shard
-- may go negative (a learner counted in on one backend's shard and out on another's), which is
-- why the counts carry no CHECK (>= 0): only the sum means anything, and the check compares sums.

-- ---- points histogram ----------------------------------------------------------------------------
CREATE TABLE user_points_histogram (
    id         uuid        NOT NULL DEFAULT uuidv7(),
    points     integer     NOT NULL,
    shard      smallint    NOT NULL,
    learners   bigint      NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT user_points_histogram_pkey PRIMARY KEY (id),
    CONSTRAINT user_points_histogram_points_shard_key UNIQUE (points, shard),
    CONSTRAINT user_points_histogram_points_non_negative CHECK (points >= 0),
    CONSTRAINT user_points_histogram_shard_range CHECK (shard BETWEEN 0 AND 7)
);
COMMENT ON TABLE user_points_histogram IS 'Learners with a points value, one of up to 8 shards: a leaderboard rank sums the values above.';
CREATE TRIGGER user_points_histogram_set_updated_at BEFORE UPDATE ON user_points_histogram
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Adds each value's delta to this backend's shard, in value order (two statements that move
-- learners between the same values lock them in one order: no deadlock). p_points holds each value
-- once. Additions commute: concurrent writers lose none.
-- PL/pgSQL, not SQL: its plan is cached for the session, where a SQL function's INSERT is
-- planned again on every call (a third of the trigger's time).
CREATE FUNCTION user_points_histogram_add(p_points integer[], p_deltas bigint[]) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = public, pg_temp AS $$
BEGIN
    INSERT INTO user_points_histogram AS h (points, shard, learners)
    SELECT d.points, (pg_backend_pid() % 8)::smallint, d.delta
    FROM unnest(p_points, p_deltas) AS d (points, delta)
    WHERE d.delta <> 0
    ORDER BY d.points
    ON CONFLICT (points, shard) DO UPDATE SET learners = h.learners + excluded.learners;
END
$$;
REVOKE EXECUTE ON FUNCTION user_points_histogram_add(integer[], bigint[]) FROM PUBLIC;

-- Rewrites the given values' counts from user_points: the repair, the backfill. Locks every shard
-- of the values first (made if missing), then counts in a later statement, whose snapshot holds
-- every write that committed before the locks were granted; a writer that comes after waits for
-- the locks and adds its delta to the exact count.
CREATE FUNCTION user_points_histogram_reset(p_points integer[]) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = public, pg_temp AS $$
BEGIN
    INSERT INTO user_points_histogram (points, shard)
    SELECT DISTINCT v.points, 0::smallint FROM unnest(p_points) AS v (points) WHERE v.points >= 0 ORDER BY 1
    ON CONFLICT (points, shard) DO NOTHING;
    PERFORM FROM user_points_histogram h WHERE h.points = ANY (p_points)
    ORDER BY h.points, h.shard FOR NO KEY UPDATE;
    UPDATE user_points_histogram h
    SET learners = CASE WHEN h.shard = 0 THEN e.learners ELSE 0 END
    FROM (SELECT v.points, (SELECT count(*) FROM user_points p WHERE p.points = v.points) AS learners
          FROM (SELECT DISTINCT unnest(p_points) AS points) AS v) AS e
    WHERE h.points = e.points;
END
$$;
REVOKE EXECUTE ON FUNCTION user_points_histogram_reset(integer[]) FROM PUBLIC;

-- AFTER INSERT, UPDATE and DELETE on user_points, per statement: each learner counted out of their
-- old value and into their new one (an award, a revocation, an achievement's points changed, an
-- erasure, a repair of user_points). A clerk_id cascade moves no value: its deltas cancel.
-- SECURITY DEFINER: nobody writes the histogram but this trigger (and the service's repair).
CREATE FUNCTION user_points_count_histogram() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_points integer[];
    v_deltas bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(c.points ORDER BY c.points), array_agg(c.delta ORDER BY c.points) INTO v_points, v_deltas
        FROM (SELECT n.points, count(*) AS delta FROM new_rows n GROUP BY n.points) AS c;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(c.points ORDER BY c.points), array_agg(-c.delta ORDER BY c.points) INTO v_points, v_deltas
        FROM (SELECT o.points, count(*) AS delta FROM old_rows o GROUP BY o.points) AS c;
    ELSE
        SELECT array_agg(c.points ORDER BY c.points), array_agg(c.delta ORDER BY c.points) INTO v_points, v_deltas
        FROM (SELECT x.points, sum(x.sign)::bigint AS delta
              FROM (SELECT n.points, 1 AS sign FROM new_rows n
                    UNION ALL
                    SELECT o.points, -1 FROM old_rows o) AS x
              GROUP BY x.points) AS c
        WHERE c.delta <> 0;
    END IF;
    IF v_points IS NOT NULL THEN
        PERFORM user_points_histogram_add(v_points, v_deltas);
    END IF;
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION user_points_count_histogram() FROM PUBLIC;
CREATE TRIGGER user_points_count_inserted AFTER INSERT ON user_points
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION user_points_count_histogram();
CREATE TRIGGER user_points_count_updated AFTER UPDATE ON user_points
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION user_points_count_histogram();
CREATE TRIGGER user_points_count_deleted AFTER DELETE ON user_points
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION user_points_count_histogram();

-- Anyone reads the histogram (the leaderboard is public: user_points is); nobody writes it under
-- as_user.
REVOKE ALL ON user_points_histogram FROM learnstore_app;
GRANT SELECT ON user_points_histogram TO learnstore_app;
ALTER TABLE user_points_histogram ENABLE ROW LEVEL SECURITY;
CREATE POLICY user_points_histogram_anyone_select ON user_points_histogram FOR SELECT USING (true);

-- ---- lesson progress counters --------------------------------------------------------------------
-- Per lesson, how many learners enrolled in its course have started it (in_progress or completed)
-- and completed it: what ListLessonCompletions used to count over every status of the course's
-- lessons. A status counts while its learner is enrolled in the lesson's course (a status kept
-- from an import, or from before an unenrolment by plain SQL, counts again on enrolment), so the
-- counters follow user_progress, user_courses, and lessons or units moved to another course.
CREATE TABLE lesson_progress_counts (
    id         uuid        NOT NULL DEFAULT uuidv7(),
    lesson_id  uuid        NOT NULL,
    shard      smallint    NOT NULL,
    started    bigint      NOT NULL DEFAULT 0,
    completed  bigint      NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT lesson_progress_counts_pkey PRIMARY KEY (id),
    CONSTRAINT lesson_progress_counts_lesson_shard_key UNIQUE (lesson_id, shard),
    CONSTRAINT lesson_progress_counts_lesson_id_fkey FOREIGN KEY (lesson_id) REFERENCES lessons (id) ON DELETE CASCADE,
    CONSTRAINT lesson_progress_counts_shard_range CHECK (shard BETWEEN 0 AND 7)
);
COMMENT ON TABLE lesson_progress_counts IS 'Enrolled learners who started and completed a lesson, one of 8 shards: the drop-off sums them.';
CREATE TRIGGER lesson_progress_counts_set_updated_at BEFORE UPDATE ON lesson_progress_counts
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Adds each lesson's (started, completed) deltas to this backend's shard, in lesson order. A lesson
-- deleted meanwhile (its statuses go with it by cascade) takes no row. PL/pgSQL: a cached plan.
CREATE FUNCTION lesson_progress_counts_add(p_lessons uuid[], p_started bigint[], p_completed bigint[]) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = public, pg_temp AS $$
BEGIN
    INSERT INTO lesson_progress_counts AS c (lesson_id, shard, started, completed)
    SELECT d.lesson_id, (pg_backend_pid() % 8)::smallint, d.started, d.completed
    FROM unnest(p_lessons, p_started, p_completed) AS d (lesson_id, started, completed)
    WHERE (d.started <> 0 OR d.completed <> 0) AND EXISTS (SELECT FROM lessons l WHERE l.id = d.lesson_id)
    ORDER BY d.lesson_id
    ON CONFLICT (lesson_id, shard) DO UPDATE
        SET started = c.started + excluded.started, completed = c.completed + excluded.completed;
END
$$;
REVOKE EXECUTE ON FUNCTION lesson_progress_counts_add(uuid[], bigint[], bigint[]) FROM PUBLIC;

-- Whether a status counts depends on two tables, written by different transactions:
-- - A status whose enrolment is there (committed) counts once the status writer has locked the
--   enrolment, the lesson and its unit FOR KEY SHARE in the statement that finds them: an
--   unenrolment (DELETE) then waits for the writer to commit and counts its status out after
--   (its trigger's statement sees it), or went first and the locked row is gone (not counted); a
--   lesson or unit moved to another course (its key changes: FOR UPDATE) waits the same way, or
--   went first and the re-checked join drops the row, which then takes the next path.
-- - A status whose enrolment is not visible may race an enrolment being made, which would count
--   the statuses it sees and miss this one. So both lock the (learner, course) pair exclusively
--   (learnstore_keys_lock, 00_foundation.sql) and count in a later statement: the second of the
--   two counts after the first committed and sees its row. Moving lessons to another course (no
--   pairs: NULL) locks the scope.
-- The common write (set_lesson_status, which holds the enrolment already) takes the first path:
-- no advisory lock, one statement to find and lock, one to add.
CREATE FUNCTION lesson_progress_counts_lock(p_learners text[], p_courses uuid[]) RETURNS void
LANGUAGE sql VOLATILE SET search_path = public, pg_temp
AS $$
SELECT learnstore_keys_lock(
    'learnstore.lesson_progress_counts',
    CASE WHEN p_learners IS NOT NULL
         THEN ARRAY(SELECT p.learner || '/' || p.course::text FROM unnest(p_learners, p_courses) AS p (learner, course))
    END,
    true)
$$;
REVOKE EXECUTE ON FUNCTION lesson_progress_counts_lock(text[], uuid[]) FROM PUBLIC;

-- Rewrites the given lessons' counters from the statuses of enrolled learners: the repair, the
-- backfill, and a lesson moved to another course. Locks every shard first (made if missing), then
-- counts in a later statement (see user_points_histogram_reset).
CREATE FUNCTION lesson_progress_counts_reset(p_lessons uuid[]) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = public, pg_temp AS $$
BEGIN
    INSERT INTO lesson_progress_counts (lesson_id, shard)
    SELECT l.id, 0::smallint FROM lessons l WHERE l.id = ANY (p_lessons) ORDER BY 1
    ON CONFLICT (lesson_id, shard) DO NOTHING;
    PERFORM FROM lesson_progress_counts c WHERE c.lesson_id = ANY (p_lessons)
    ORDER BY c.lesson_id, c.shard FOR NO KEY UPDATE;
    UPDATE lesson_progress_counts c
    SET started = CASE WHEN c.shard = 0 THEN e.started ELSE 0 END,
        completed = CASE WHEN c.shard = 0 THEN e.completed ELSE 0 END
    FROM (SELECT l.id,
                 count(p.id) FILTER (WHERE p.status <> 'not_started') AS started,
                 count(p.id) FILTER (WHERE p.status = 'completed') AS completed
          FROM lessons l
          JOIN units un ON un.id = l.unit_id
          LEFT JOIN user_progress p
                 ON p.lesson_id = l.id
                AND EXISTS (SELECT FROM user_courses uc
                            WHERE uc.user_clerk_id = p.user_clerk_id AND uc.course_id = un.course_id)
          WHERE l.id = ANY (p_lessons)
          GROUP BY l.id) AS e
    WHERE c.lesson_id = e.id;
END
$$;
REVOKE EXECUTE ON FUNCTION lesson_progress_counts_reset(uuid[]) FROM PUBLIC;

-- AFTER INSERT, UPDATE and DELETE on user_progress, per statement: each status counted out (old
-- row) and in (new row) for its lesson, when its learner is enrolled in the lesson's course. An
-- update that changes neither the status nor the lesson (a clerk_id cascade, a timestamp) counts
-- nothing; a status deleted with its lesson finds no lesson (its counters went with it).
CREATE FUNCTION user_progress_count_lessons() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_learners text[];
    v_lessons uuid[];
    v_started integer[];
    v_completed integer[];
    v_found bigint[];
    v_add_lessons uuid[];
    v_add_started bigint[];
    v_add_completed bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(n.user_clerk_id), array_agg(n.lesson_id),
               array_agg(1), array_agg((n.status = 'completed')::integer)
        INTO v_learners, v_lessons, v_started, v_completed
        FROM new_rows n WHERE n.status <> 'not_started';
    ELSIF TG_OP = 'DELETE' THEN
        SELECT array_agg(o.user_clerk_id), array_agg(o.lesson_id),
               array_agg(-1), array_agg(-(o.status = 'completed')::integer)
        INTO v_learners, v_lessons, v_started, v_completed
        FROM old_rows o
        -- a learner being erased was counted out before (users_count_lessons_erased)
        WHERE o.status <> 'not_started' AND EXISTS (SELECT FROM users u WHERE u.clerk_id = o.user_clerk_id);
    ELSE
        SELECT array_agg(x.user_clerk_id), array_agg(x.lesson_id), array_agg(x.started), array_agg(x.completed)
        INTO v_learners, v_lessons, v_started, v_completed
        FROM (SELECT n.user_clerk_id, n.lesson_id, (n.status <> 'not_started')::integer AS started,
                     (n.status = 'completed')::integer AS completed
              FROM new_rows n JOIN old_rows o ON o.id = n.id
              WHERE (n.status, n.lesson_id) IS DISTINCT FROM (o.status, o.lesson_id)
              UNION ALL
              SELECT o.user_clerk_id, o.lesson_id, -(o.status <> 'not_started')::integer,
                     -(o.status = 'completed')::integer
              FROM old_rows o JOIN new_rows n ON n.id = o.id
              WHERE (n.status, n.lesson_id) IS DISTINCT FROM (o.status, o.lesson_id)) AS x
        WHERE x.started <> 0 OR x.completed <> 0;
    END IF;
    IF v_learners IS NULL THEN
        RETURN NULL;
    END IF;
    IF cardinality(v_learners) > 32 THEN
        -- A bulk statement (an import): the exclusive lock first, which keeps enrolments from being
        -- made and lessons from moving meanwhile; then the rows whose enrolment is there, with the
        -- enrolment locked against its deletion, summed per lesson in the same statement.
        PERFORM lesson_progress_counts_lock(NULL, NULL);
        SELECT array_agg(d.lesson ORDER BY d.lesson), array_agg(d.started ORDER BY d.lesson),
               array_agg(d.completed ORDER BY d.lesson)
        INTO v_add_lessons, v_add_started, v_add_completed
        FROM (SELECT x.lesson, sum(x.started)::bigint AS started, sum(x.completed)::bigint AS completed
              FROM (SELECT r.lesson, r.started, r.completed
                    FROM unnest(v_learners, v_lessons, v_started, v_completed)
                         AS r (learner, lesson, started, completed)
                    JOIN lessons l ON l.id = r.lesson
                    JOIN units un ON un.id = l.unit_id
                    JOIN user_courses uc ON uc.user_clerk_id = r.learner AND uc.course_id = un.course_id
                    FOR KEY SHARE OF uc) AS x
              GROUP BY x.lesson) AS d
        WHERE d.started <> 0 OR d.completed <> 0;
        IF v_add_lessons IS NOT NULL THEN
            PERFORM lesson_progress_counts_add(v_add_lessons, v_add_started, v_add_completed);
        END IF;
        RETURN NULL;
    END IF;
    -- The rows whose enrolment is there, locked (see lesson_progress_counts_lock), then the
    -- rest after the pair locks, in a new statement: those whose enrolment was made meanwhile.
    SELECT array_agg(x.n) INTO v_found
    FROM (SELECT r.n
          FROM unnest(v_learners, v_lessons) WITH ORDINALITY AS r (learner, lesson, n)
          JOIN lessons l ON l.id = r.lesson
          JOIN units un ON un.id = l.unit_id
          JOIN user_courses uc ON uc.user_clerk_id = r.learner AND uc.course_id = un.course_id
          FOR KEY SHARE OF l, un, uc) AS x;
    IF coalesce(cardinality(v_found), 0) < cardinality(v_learners) THEN
        PERFORM lesson_progress_counts_lock(array_agg(r.learner), array_agg(un.course_id))
        FROM unnest(v_learners, v_lessons) WITH ORDINALITY AS r (learner, lesson, n)
        JOIN lessons l ON l.id = r.lesson JOIN units un ON un.id = l.unit_id
        WHERE r.n <> ALL (coalesce(v_found, '{}'))
        HAVING count(*) > 0;
        SELECT coalesce(v_found, '{}') || coalesce(array_agg(x.n), '{}') INTO v_found
        FROM (SELECT r.n
              FROM unnest(v_learners, v_lessons) WITH ORDINALITY AS r (learner, lesson, n)
              JOIN lessons l ON l.id = r.lesson
              JOIN units un ON un.id = l.unit_id
              JOIN user_courses uc ON uc.user_clerk_id = r.learner AND uc.course_id = un.course_id
              WHERE r.n <> ALL (coalesce(v_found, '{}'))
              FOR KEY SHARE OF l, un, uc) AS x;
    END IF;
    IF cardinality(v_found) > 0 THEN
        -- lesson_progress_counts_add, inlined: one statement less on every lesson write (a few
        -- rows: the quadratic `= ANY` is nothing next to a call)
        INSERT INTO lesson_progress_counts AS c (lesson_id, shard, started, completed)
        SELECT d.lesson, (pg_backend_pid() % 8)::smallint, d.started, d.completed
        FROM (SELECT r.lesson, sum(r.started)::bigint AS started, sum(r.completed)::bigint AS completed
              FROM unnest(v_lessons, v_started, v_completed) WITH ORDINALITY AS r (lesson, started, completed, n)
              WHERE r.n = ANY (v_found)
              GROUP BY r.lesson) AS d
        WHERE d.started <> 0 OR d.completed <> 0
        ORDER BY d.lesson
        ON CONFLICT (lesson_id, shard) DO UPDATE
            SET started = c.started + excluded.started, completed = c.completed + excluded.completed;
    END IF;
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION user_progress_count_lessons() FROM PUBLIC;
CREATE TRIGGER user_progress_count_inserted AFTER INSERT ON user_progress
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION user_progress_count_lessons();
CREATE TRIGGER user_progress_count_updated AFTER UPDATE ON user_progress
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION user_progress_count_lessons();
CREATE TRIGGER user_progress_count_deleted AFTER DELETE ON user_progress
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION user_progress_count_lessons();

-- An enrolment made or removed (per statement: an import enrols thousands), or moved to another
-- course (per row: plain SQL only, rare): the learner's statuses in the course's lessons count in
-- or out. Found by the learner (user_progress_user_lesson_key): an enrolment's own statuses, not the
-- course's. A clerk_id cascade (the same learner renamed) moves nothing. unenrol_from_course deletes
-- the enrolment first, so its statuses count out here and their deletion after counts nothing.
CREATE FUNCTION user_courses_count_lessons() RETURNS trigger
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
          -- Each learner's statuses through their own key (user_progress_user_lesson_key), in the
          -- SQL's shape: joined, a bulk import's batch of 30,000 enrolments hashed every status on
          -- the platform, batch after batch (11-13 s a batch at 6.3 million statuses, against
          -- 0.8-1.0 s by learner). OFFSET 0 keeps the scan from being flattened into that plan;
          -- planner settings could not (docs/scaling.md, "Loading the million scale").
          CROSS JOIN LATERAL (
              SELECT p.lesson_id, p.status
              FROM user_progress p
              WHERE p.user_clerk_id = e.learner
              OFFSET 0
          ) AS p
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
REVOKE EXECUTE ON FUNCTION user_courses_count_lessons() FROM PUBLIC;
CREATE TRIGGER user_courses_count_inserted AFTER INSERT ON user_courses
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION user_courses_count_lessons();
CREATE TRIGGER user_courses_count_deleted AFTER DELETE ON user_courses
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION user_courses_count_lessons();
CREATE TRIGGER user_courses_count_moved AFTER UPDATE OF course_id ON user_courses
    FOR EACH ROW WHEN (OLD.course_id IS DISTINCT FROM NEW.course_id)
    EXECUTE FUNCTION user_courses_count_lessons();

-- A user deleted (erased): their enrolments and statuses go by two cascades, whose statement
-- triggers both run after both deletions, each seeing the other table's rows already gone, so
-- neither could tell what was counted. The learner's counted statuses are counted out here,
-- before the cascades, and the triggers above skip rows of a learner who no longer exists.
CREATE FUNCTION users_count_lessons_erased() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_lessons uuid[];
    v_started bigint[];
    v_completed bigint[];
BEGIN
    SELECT array_agg(d.lesson_id ORDER BY d.lesson_id), array_agg(-d.started ORDER BY d.lesson_id),
           array_agg(-d.completed ORDER BY d.lesson_id)
    INTO v_lessons, v_started, v_completed
    FROM (SELECT p.lesson_id, count(*) AS started, count(*) FILTER (WHERE p.status = 'completed') AS completed
          FROM user_progress p
          JOIN lessons l ON l.id = p.lesson_id
          JOIN units un ON un.id = l.unit_id
          WHERE p.user_clerk_id = OLD.clerk_id AND p.status <> 'not_started'
            AND EXISTS (SELECT FROM user_courses uc
                        WHERE uc.user_clerk_id = OLD.clerk_id AND uc.course_id = un.course_id)
          GROUP BY p.lesson_id) AS d;
    IF v_lessons IS NOT NULL THEN
        PERFORM lesson_progress_counts_add(v_lessons, v_started, v_completed);
    END IF;
    RETURN OLD;
END
$$;
REVOKE EXECUTE ON FUNCTION users_count_lessons_erased() FROM PUBLIC;
CREATE TRIGGER users_count_lessons_erased BEFORE DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION users_count_lessons_erased();

-- A lesson moved to a unit of another course, or a unit to another course: which learners count
-- changes, so the lessons are counted again (under the exclusive lock: no status or enrolment is
-- counted meanwhile). A move inside the course changes nothing.
CREATE FUNCTION lessons_count_moved() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_lessons uuid[];
BEGIN
    IF TG_TABLE_NAME = 'units' THEN
        v_lessons := array(SELECT l.id FROM lessons l WHERE l.unit_id = NEW.id);
    ELSIF (SELECT course_id FROM units WHERE id = OLD.unit_id) IS DISTINCT FROM
          (SELECT course_id FROM units WHERE id = NEW.unit_id) THEN
        v_lessons := ARRAY[NEW.id];
    END IF;
    IF cardinality(v_lessons) > 0 THEN
        PERFORM lesson_progress_counts_lock(NULL, NULL);
        PERFORM lesson_progress_counts_reset(v_lessons);
    END IF;
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION lessons_count_moved() FROM PUBLIC;
CREATE TRIGGER lessons_count_moved AFTER UPDATE OF unit_id ON lessons
    FOR EACH ROW WHEN (OLD.unit_id IS DISTINCT FROM NEW.unit_id)
    EXECUTE FUNCTION lessons_count_moved();
CREATE TRIGGER units_count_moved AFTER UPDATE OF course_id ON units
    FOR EACH ROW WHEN (OLD.course_id IS DISTINCT FROM NEW.course_id)
    EXECUTE FUNCTION lessons_count_moved();

-- Author analytics are the service path's, as the statuses they count are (docs/security.md):
-- under as_user, ListLessonCompletions counts the statuses the actor may see, as before 0029. The
-- app role may name the table (the query's service branch does) but sees no row of it, and
-- writes none.
REVOKE ALL ON lesson_progress_counts FROM learnstore_app;
GRANT SELECT ON lesson_progress_counts TO learnstore_app;
ALTER TABLE lesson_progress_counts ENABLE ROW LEVEL SECURITY;
CREATE POLICY lesson_progress_counts_nobody_select ON lesson_progress_counts FOR SELECT USING (false);
