-- A course's leaderboard that does not grow with the platform (issue 20 point 5; migration 0032).
-- Until then the course's board joined the course's enrolments to user_points (a hash join over
-- every learner with points) and sorted them, and the viewer's rank counted every classmate above
-- them. Now:
-- - course_points copies each enrolled learner's points (user_points) onto their enrolment, with an
--   index in the board's order: the top is an index walk that stops after top_n rows;
-- - course_points_histogram counts a course's learners per points value (8 shard rows a value, as
--   user_points_histogram): the viewer's rank sums the values above theirs, a range as long as the
--   distinct values above (bounded by the achievement catalogue), not the course's audience.
-- Both are derived state kept by triggers in the writer's transaction on every path (learnstore's
-- functions, imports over COPY, plain SQL), checked and repaired by `learnstore check`
-- (learnstore.derived). docs/gamification.md says why and what a writer pays.
--
-- Tables of their own, not columns of user_courses: user_courses has seven indexes and UPDATE
-- statement triggers (course_stats, achievements), all of which every award would pay for each of
-- the learner's enrolments. course_points holds only the enrolments of learners with a user_points
-- row (those the board ranks), a fraction of a popular course's audience.

-- ---- a learner's points, per enrolment ------------------------------------------------------------
-- One row per enrolment whose learner has a user_points row, with that row's points and reached_at.
-- The foreign key to the enrolment follows it: an unenrolment, an erasure or a course's deletion
-- removes the row, a clerk_id renamed or an enrolment moved to another course moves it (cascades).
CREATE TABLE course_points (
    id            uuid        NOT NULL DEFAULT uuidv7(),
    course_id     uuid        NOT NULL,
    user_clerk_id text        NOT NULL,
    points        integer     NOT NULL,
    reached_at    timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT course_points_pkey PRIMARY KEY (id),
    CONSTRAINT course_points_user_course_key UNIQUE (user_clerk_id, course_id),
    CONSTRAINT course_points_enrolment_fkey FOREIGN KEY (user_clerk_id, course_id)
        REFERENCES user_courses (user_clerk_id, course_id) ON UPDATE CASCADE ON DELETE CASCADE,
    CONSTRAINT course_points_points_non_negative CHECK (points >= 0)
);
COMMENT ON TABLE course_points IS 'An enrolled learner''s points (user_points), copied by triggers: a course''s leaderboard walks it.';
-- A course's leaderboard in rank order (ListLeaderboard): the top is the first top_n entries.
CREATE INDEX course_points_rank_idx ON course_points (course_id, points DESC, reached_at, user_clerk_id);
CREATE TRIGGER course_points_set_updated_at BEFORE UPDATE ON course_points
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Whether an enrolment has a row depends on two tables written by different transactions: an award
-- (user_points) copies the learner's points onto the enrolments it sees, an enrolment copies the
-- points it sees, and neither sees the other's uncommitted row. So each locks the learner
-- (learnstore_keys_lock, 00_foundation.sql) and reads in a later statement: the award exclusively
-- (after it wrote user_points: awards of one learner already queue on its user_points row), an
-- enrolment shared. The second of an award and an enrolment copies the points the first wrote, or
-- its own points onto the enrolment the first made. An achievement's points changed lock the scope.
CREATE FUNCTION course_points_lock(p_learners text[], p_exclusive boolean) RETURNS void
LANGUAGE sql VOLATILE SET search_path = public, pg_temp
AS $$ SELECT learnstore_keys_lock('learnstore.course_points', p_learners, p_exclusive) $$;
REVOKE EXECUTE ON FUNCTION course_points_lock(text[], boolean) FROM PUBLIC;

-- Rewrites the given learners' rows from user_points and user_courses: the repair, the backfill.
-- Locks the learners' user_points rows (an award waits) and then the learners (an enrolment
-- waits), in the order an award takes them, then copies in later statements.
CREATE FUNCTION course_points_resync(p_learners text[]) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM FROM user_points p WHERE p.user_clerk_id = ANY (p_learners)
    ORDER BY p.user_clerk_id FOR NO KEY UPDATE;
    PERFORM course_points_lock(p_learners, true);
    DELETE FROM course_points cp
    WHERE cp.user_clerk_id = ANY (p_learners)
      AND NOT EXISTS (SELECT FROM user_points p WHERE p.user_clerk_id = cp.user_clerk_id);
    INSERT INTO course_points AS cp (course_id, user_clerk_id, points, reached_at)
    SELECT uc.course_id, uc.user_clerk_id, p.points, p.reached_at
    FROM user_courses uc
    JOIN user_points p ON p.user_clerk_id = uc.user_clerk_id
    WHERE uc.user_clerk_id = ANY (p_learners)
    ORDER BY uc.user_clerk_id, uc.course_id
    ON CONFLICT (user_clerk_id, course_id) DO UPDATE
        SET points = excluded.points, reached_at = excluded.reached_at
        WHERE (cp.points, cp.reached_at) IS DISTINCT FROM (excluded.points, excluded.reached_at);
END
$$;
REVOKE EXECUTE ON FUNCTION course_points_resync(text[]) FROM PUBLIC;

-- AFTER INSERT, UPDATE and DELETE on user_points, per statement: the learners' points copied onto
-- their enrolments (an award, a revocation, an achievement's points changed, an erasure, a repair
-- of user_points). An update that changes neither points nor reached_at (a clerk_id cascade: the
-- enrolments' rows follow by their own cascade) copies nothing and takes no lock.
-- SECURITY DEFINER: nobody writes course_points but these triggers (and the service's repair).
CREATE FUNCTION user_points_copy_to_courses() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_learners text[];
    v_points integer[];
    v_reached timestamptz[];
BEGIN
    IF TG_OP = 'DELETE' THEN
        SELECT array_agg(o.user_clerk_id ORDER BY o.user_clerk_id) INTO v_learners FROM old_rows o;
    ELSIF TG_OP = 'INSERT' THEN
        SELECT array_agg(n.user_clerk_id ORDER BY n.user_clerk_id), array_agg(n.points ORDER BY n.user_clerk_id),
               array_agg(n.reached_at ORDER BY n.user_clerk_id)
        INTO v_learners, v_points, v_reached
        FROM new_rows n;
    ELSE
        SELECT array_agg(n.user_clerk_id ORDER BY n.user_clerk_id), array_agg(n.points ORDER BY n.user_clerk_id),
               array_agg(n.reached_at ORDER BY n.user_clerk_id)
        INTO v_learners, v_points, v_reached
        FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE (n.points, n.reached_at) IS DISTINCT FROM (o.points, o.reached_at);
    END IF;
    IF v_learners IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM course_points_lock(v_learners, true);
    IF TG_OP = 'DELETE' THEN
        DELETE FROM course_points cp WHERE cp.user_clerk_id = ANY (v_learners);
    ELSIF TG_OP = 'UPDATE' THEN
        UPDATE course_points cp SET points = d.points, reached_at = d.reached_at
        FROM unnest(v_learners, v_points, v_reached) AS d (learner, points, reached_at)
        WHERE cp.user_clerk_id = d.learner;
    ELSE
        -- The enrolments locked against their deletion (FOR KEY SHARE): an unenrolment under way
        -- is waited for and its row skipped, where the foreign key's check would fail the award.
        INSERT INTO course_points AS cp (course_id, user_clerk_id, points, reached_at)
        SELECT e.course_id, e.user_clerk_id, e.points, e.reached_at
        FROM (SELECT uc.course_id, uc.user_clerk_id, d.points, d.reached_at
              FROM unnest(v_learners, v_points, v_reached) AS d (learner, points, reached_at)
              JOIN user_courses uc ON uc.user_clerk_id = d.learner
              FOR KEY SHARE OF uc) AS e
        ORDER BY e.user_clerk_id, e.course_id
        ON CONFLICT (user_clerk_id, course_id) DO UPDATE
            SET points = excluded.points, reached_at = excluded.reached_at;
    END IF;
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION user_points_copy_to_courses() FROM PUBLIC;
CREATE TRIGGER user_points_copy_inserted AFTER INSERT ON user_points
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION user_points_copy_to_courses();
CREATE TRIGGER user_points_copy_updated AFTER UPDATE ON user_points
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION user_points_copy_to_courses();
CREATE TRIGGER user_points_copy_deleted AFTER DELETE ON user_points
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION user_points_copy_to_courses();

-- AFTER INSERT on user_courses, per statement (an import enrols thousands): the learner's points, if
-- any, copied onto the new enrolment. Unenrolments, renames and moves follow by the foreign key.
CREATE FUNCTION user_courses_copy_points() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_learners text[];
BEGIN
    SELECT array_agg(DISTINCT n.user_clerk_id) INTO v_learners FROM new_rows n;
    IF v_learners IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM course_points_lock(v_learners, false);
    INSERT INTO course_points AS cp (course_id, user_clerk_id, points, reached_at)
    SELECT n.course_id, n.user_clerk_id, p.points, p.reached_at
    FROM new_rows n JOIN user_points p ON p.user_clerk_id = n.user_clerk_id
    ORDER BY n.user_clerk_id, n.course_id
    ON CONFLICT (user_clerk_id, course_id) DO UPDATE
        SET points = excluded.points, reached_at = excluded.reached_at;
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION user_courses_copy_points() FROM PUBLIC;
CREATE TRIGGER user_courses_copy_points AFTER INSERT ON user_courses
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION user_courses_copy_points();

-- ---- a course's points histogram -------------------------------------------------------------------
-- Per course, how many of its learners in course_points have each points value, one of up to 8
-- shard rows chosen by the writer's backend pid (16 learners of one course earning points at once
-- queue on 8 row locks, not one). A key's value is the sum of its shards; one shard may go
-- negative, so no CHECK (>= 0) on the count (see user_points_histogram).
CREATE TABLE course_points_histogram (
    id         uuid        NOT NULL DEFAULT uuidv7(),
    course_id  uuid        NOT NULL,
    points     integer     NOT NULL,
    shard      smallint    NOT NULL,
    learners   bigint      NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT course_points_histogram_pkey PRIMARY KEY (id),
    CONSTRAINT course_points_histogram_course_points_shard_key UNIQUE (course_id, points, shard),
    CONSTRAINT course_points_histogram_course_id_fkey FOREIGN KEY (course_id) REFERENCES courses (id) ON DELETE CASCADE,
    CONSTRAINT course_points_histogram_points_non_negative CHECK (points >= 0),
    CONSTRAINT course_points_histogram_shard_range CHECK (shard BETWEEN 0 AND 7)
);
COMMENT ON TABLE course_points_histogram IS 'A course''s learners per points value, one of 8 shards: its board''s rank sums the values above.';
CREATE TRIGGER course_points_histogram_set_updated_at BEFORE UPDATE ON course_points_histogram
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- AFTER INSERT, UPDATE and DELETE on course_points, per statement: each row counted out of its old
-- (course, value) and into its new one, added to this backend's shard in key order (two statements
-- lock the same keys in one order: no deadlock). Additions commute: concurrent writers lose none.
-- A course being deleted (its rows go by cascade) takes no new shard row; its rows go with it.
CREATE FUNCTION course_points_count_histogram() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO course_points_histogram AS h (course_id, points, shard, learners)
        SELECT n.course_id, n.points, (pg_backend_pid() % 8)::smallint, count(*)
        FROM new_rows n
        WHERE EXISTS (SELECT FROM courses c WHERE c.id = n.course_id)
        GROUP BY n.course_id, n.points
        ORDER BY n.course_id, n.points
        ON CONFLICT (course_id, points, shard) DO UPDATE SET learners = h.learners + excluded.learners;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO course_points_histogram AS h (course_id, points, shard, learners)
        SELECT o.course_id, o.points, (pg_backend_pid() % 8)::smallint, -count(*)
        FROM old_rows o
        WHERE EXISTS (SELECT FROM courses c WHERE c.id = o.course_id)
        GROUP BY o.course_id, o.points
        ORDER BY o.course_id, o.points
        ON CONFLICT (course_id, points, shard) DO UPDATE SET learners = h.learners + excluded.learners;
    ELSE
        INSERT INTO course_points_histogram AS h (course_id, points, shard, learners)
        SELECT d.course_id, d.points, (pg_backend_pid() % 8)::smallint, d.delta
        FROM (SELECT x.course_id, x.points, sum(x.sign)::bigint AS delta
              FROM (SELECT n.course_id, n.points, 1 AS sign FROM new_rows n
                    UNION ALL
                    SELECT o.course_id, o.points, -1 FROM old_rows o) AS x
              GROUP BY x.course_id, x.points) AS d
        WHERE d.delta <> 0 AND EXISTS (SELECT FROM courses c WHERE c.id = d.course_id)
        ORDER BY d.course_id, d.points
        ON CONFLICT (course_id, points, shard) DO UPDATE SET learners = h.learners + excluded.learners;
    END IF;
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION course_points_count_histogram() FROM PUBLIC;

-- Corrects the given courses' counts from course_points: the repair. Locks every shard of the
-- courses, then, in a later statement, adds to shard 0 the difference between the counted rows and
-- the shards' sum: a writer meanwhile either committed before that statement (its row and its
-- delta both counted) or did not (neither), or waits for the locks and adds its delta after.
CREATE FUNCTION course_points_histogram_reset(p_courses uuid[]) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM FROM course_points_histogram h WHERE h.course_id = ANY (p_courses)
    ORDER BY h.course_id, h.points, h.shard FOR NO KEY UPDATE;
    INSERT INTO course_points_histogram AS h (course_id, points, shard, learners)
    SELECT v.course_id, v.points, 0::smallint, v.counted - v.stored
    FROM (SELECT x.course_id, x.points, sum(x.counted)::bigint AS counted, sum(x.stored)::bigint AS stored
          FROM (SELECT cp.course_id, cp.points, 1 AS counted, 0 AS stored
                FROM course_points cp WHERE cp.course_id = ANY (p_courses)
                UNION ALL
                SELECT hs.course_id, hs.points, 0, hs.learners
                FROM course_points_histogram hs WHERE hs.course_id = ANY (p_courses)) AS x
          GROUP BY x.course_id, x.points) AS v
    WHERE v.counted <> v.stored AND EXISTS (SELECT FROM courses c WHERE c.id = v.course_id)
    ORDER BY v.course_id, v.points
    ON CONFLICT (course_id, points, shard) DO UPDATE SET learners = h.learners + excluded.learners;
END
$$;
REVOKE EXECUTE ON FUNCTION course_points_histogram_reset(uuid[]) FROM PUBLIC;

CREATE TRIGGER course_points_count_inserted AFTER INSERT ON course_points
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION course_points_count_histogram();
CREATE TRIGGER course_points_count_updated AFTER UPDATE ON course_points
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION course_points_count_histogram();
CREATE TRIGGER course_points_count_deleted AFTER DELETE ON course_points
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION course_points_count_histogram();

-- Anyone reads both (the leaderboard is public: user_points is); nobody writes them under as_user.
REVOKE ALL ON course_points FROM learnstore_app;
GRANT SELECT ON course_points TO learnstore_app;
ALTER TABLE course_points ENABLE ROW LEVEL SECURITY;
CREATE POLICY course_points_anyone_select ON course_points FOR SELECT USING (true);
REVOKE ALL ON course_points_histogram FROM learnstore_app;
GRANT SELECT ON course_points_histogram TO learnstore_app;
ALTER TABLE course_points_histogram ENABLE ROW LEVEL SECURITY;
CREATE POLICY course_points_histogram_anyone_select ON course_points_histogram FOR SELECT USING (true);
