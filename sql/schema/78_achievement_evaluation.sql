-- Achievements are evaluated in SQL, set-based, and awarded in the transaction of the write that
-- earned them. One function (evaluate_achievements) scores a set of users against the achievements
-- and inserts the newly met ones with a notification each; the statement-level triggers below call
-- it with the users whose rows a statement changed, whichever path wrote them (learnstore's
-- functions, an import over COPY, plain SQL). This file comes after 70_flashcards.sql because its
-- triggers reach every table a rule counts.

-- The counters the rules compare with thresholds, for each user in p_user_clerk_ids, as one JSON
-- object per user. Only the kinds in p_kinds are computed (the others are NULL), each by an
-- index lookup on the user's rows; course_lessons counts completed lessons per course, for the
-- courses in p_course_ids; cards_mastered is an array: element i counts cards of mastery >= i + 1.
-- The current streak counts only if its last day is the user's local today or yesterday.
CREATE FUNCTION achievement_metrics(p_user_clerk_ids text[], p_kinds text[], p_course_ids uuid[])
RETURNS TABLE (user_clerk_id text, metrics jsonb)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
    -- PL/pgSQL, not SQL: its plan is cached across calls, where an inlined SQL function would be
    -- planned again inside every caller's statement (a hook runs on every write).
    RETURN QUERY
    SELECT learner.id, jsonb_build_object(
        'lessons_completed', CASE WHEN 'lessons_completed' = ANY (p_kinds) THEN (
            SELECT count(*) FROM user_progress p
            WHERE p.user_clerk_id = learner.id AND p.status = 'completed') END,
        'course_lessons', CASE WHEN cardinality(p_course_ids) > 0 THEN (
            SELECT jsonb_object_agg(per_course.course_id, per_course.lessons)
            FROM (SELECT un.course_id, count(*) AS lessons
                  FROM user_progress p
                  JOIN lessons l ON l.id = p.lesson_id
                  JOIN units un ON un.id = l.unit_id
                  WHERE p.user_clerk_id = learner.id AND p.status = 'completed'
                    AND un.course_id = ANY (p_course_ids)
                  GROUP BY un.course_id) AS per_course) END,
        'courses_completed', CASE WHEN 'courses_completed' = ANY (p_kinds) THEN (
            SELECT count(*) FROM user_courses uc
            WHERE uc.user_clerk_id = learner.id AND uc.completed_at IS NOT NULL) END,
        'streak', CASE WHEN 'streak_days' = ANY (p_kinds) THEN (
            SELECT jsonb_build_object(
                'current', CASE WHEN s.last_active_date >= (now() AT TIME ZONE u.timezone)::date - 1
                                THEN s.current_streak ELSE 0 END,
                'longest', s.longest_streak)
            FROM user_streaks s JOIN users u ON u.clerk_id = s.user_clerk_id
            WHERE s.user_clerk_id = learner.id) END,
        'flashcards_reviewed', CASE WHEN 'flashcards_reviewed' = ANY (p_kinds) THEN (
            SELECT count(*) FROM user_flashcard_progress f
            WHERE f.user_clerk_id = learner.id AND f.last_reviewed_at IS NOT NULL) END,
        'cards_mastered', CASE WHEN 'cards_mastered' = ANY (p_kinds) THEN (
            SELECT jsonb_build_array(
                count(*) FILTER (WHERE f.mastery >= 1), count(*) FILTER (WHERE f.mastery >= 2),
                count(*) FILTER (WHERE f.mastery >= 3), count(*) FILTER (WHERE f.mastery >= 4),
                count(*) FILTER (WHERE f.mastery >= 5))
            FROM user_flashcard_progress f
            WHERE f.user_clerk_id = learner.id AND f.last_reviewed_at IS NOT NULL) END,
        'quizzes_passed', CASE WHEN 'quizzes_passed' = ANY (p_kinds) THEN (
            SELECT count(DISTINCT q.quiz_id) FROM quiz_attempts q
            WHERE q.user_clerk_id = learner.id AND q.is_correct) END,
        'forum_posts', CASE WHEN 'forum_posts' = ANY (p_kinds) THEN (
            SELECT count(*) FROM forum_posts fp WHERE fp.author_clerk_id = learner.id) END,
        'forum_replies', CASE WHEN 'forum_replies' = ANY (p_kinds) THEN (
            SELECT count(*) FROM forum_replies fr WHERE fr.author_clerk_id = learner.id) END,
        -- Likes by others: liking what one wrote oneself earns nothing.
        'likes_received', CASE WHEN 'likes_received' = ANY (p_kinds) THEN (
            (SELECT count(*) FROM forum_posts fp JOIN forum_post_likes pl ON pl.post_id = fp.id
             WHERE fp.author_clerk_id = learner.id AND pl.user_clerk_id <> learner.id)
            + (SELECT count(*) FROM forum_replies fr JOIN forum_reply_likes rl ON rl.reply_id = fr.id
               WHERE fr.author_clerk_id = learner.id AND rl.user_clerk_id <> learner.id)) END,
        'goals_completed', CASE WHEN 'goals_completed' = ANY (p_kinds) THEN (
            SELECT count(*) FROM learning_goals g
            WHERE g.user_clerk_id = learner.id AND g.completed_at IS NOT NULL) END)
    FROM (SELECT DISTINCT ids.id FROM unnest(p_user_clerk_ids) AS ids (id) WHERE ids.id IS NOT NULL) AS learner;
END
$$;

-- A user's progress toward a rule, given the user's achievement_metrics: {progress, target},
-- met when progress = target. A counter's progress is its count capped at the threshold, its
-- target the threshold; all_of adds up its parts (met only when every part is); any_of is its
-- part nearest to being met (the largest share, then the smallest target).
CREATE FUNCTION achievement_score(p_rule jsonb, p_metrics jsonb) RETURNS bigint[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    rule_kind text := p_rule ->> 'kind';
    threshold bigint;
    counted bigint;
    result bigint[];
BEGIN
    IF rule_kind = 'all_of' THEN
        SELECT ARRAY[sum(s.score[1]), sum(s.score[2])]::bigint[] INTO result
        FROM jsonb_array_elements(p_rule -> 'rules') AS r (rule)
        CROSS JOIN LATERAL (SELECT achievement_score(r.rule, p_metrics) AS score) AS s;
        RETURN result;
    ELSIF rule_kind = 'any_of' THEN
        SELECT s.score INTO result
        FROM jsonb_array_elements(p_rule -> 'rules') AS r (rule)
        CROSS JOIN LATERAL (SELECT achievement_score(r.rule, p_metrics) AS score) AS s
        ORDER BY s.score[1]::numeric / s.score[2] DESC, s.score[2]
        LIMIT 1;
        RETURN result;
    END IF;
    threshold := (p_rule ->> 'threshold')::bigint;
    counted := CASE
        WHEN rule_kind = 'lessons_completed' AND jsonb_typeof(p_rule -> 'course_id') = 'string' THEN
            (p_metrics -> 'course_lessons' ->> ((p_rule ->> 'course_id')::uuid::text))::bigint
        WHEN rule_kind = 'streak_days' THEN
            (p_metrics -> 'streak' ->> coalesce(p_rule ->> 'streak', 'longest'))::bigint
        WHEN rule_kind = 'cards_mastered' THEN
            (p_metrics -> 'cards_mastered' ->> (coalesce((p_rule ->> 'level')::integer, 4) - 1))::bigint
        ELSE (p_metrics ->> rule_kind)::bigint
    END;
    RETURN ARRAY[least(coalesce(counted, 0), threshold), threshold];
END
$$;

-- The kinds of counter a requirement uses, at any depth.
CREATE FUNCTION achievement_requirement_kinds(p_rule jsonb) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN array(SELECT DISTINCT k #>> '{}' FROM jsonb_path_query(p_rule, 'lax $.**.kind') AS found (k));

-- Scores the users in p_user_clerk_ids against the achievements they have not earned yet (only
-- p_achievement_id when given; only those whose requirement uses one of p_kinds when given) and
-- awards the ones now met: a user_achievements row with earned_at (or earned_at set on a row kept
-- for progress), and a notification. Returns the awards. Never twice: a concurrent evaluation
-- that awarded first makes ON CONFLICT wait for it and then skip the row, so only one of them
-- returns the award and notifies.
--
-- Never missed either ("at least once"): writers that together cross a threshold (16 likes given
-- at once to one author) each count in their own snapshot, where the others' rows are not yet
-- committed, so each would count one. The evaluation therefore first takes a transaction-scoped
-- advisory lock on each user it scores (in hash order, so two evaluations cannot deadlock on
-- them), and counts in a later statement: in READ COMMITTED that statement's snapshot holds the
-- rows of every writer that evaluated the user before (it committed to release the lock), so
-- the last writer to evaluate counts everyone's rows. Evaluations of one user queue behind each
-- other until commit; users are independent. An evaluation of many users (a backfill, an import's
-- statement, a repair batch) takes one exclusive lock instead of thousands of per-user ones (the
-- lock table is finite), which the per-user evaluations share: it waits for them, and they for it.
-- Under REPEATABLE READ the snapshot is the transaction's, so a writer there can still miss; under
-- SERIALIZABLE PostgreSQL detects the overlap and one writer retries (learnstore does so itself).
CREATE FUNCTION evaluate_achievements(p_user_clerk_ids text[], p_achievement_id uuid, p_kinds text[])
RETURNS SETOF user_achievements
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    needed_kinds text[];
    needed_courses uuid[];
BEGIN
    -- What the candidates count, first: nothing to do when no achievement is a candidate.
    SELECT array(SELECT DISTINCT k.kind FROM achievements a,
                 unnest(achievement_requirement_kinds(a.requirement)) AS k (kind)
                 WHERE (p_achievement_id IS NULL OR a.id = p_achievement_id)
                   AND (p_kinds IS NULL OR achievement_requirement_kinds(a.requirement) && p_kinds)),
           array(SELECT DISTINCT (found.course_id #>> '{}')::uuid
                 FROM achievements a, jsonb_path_query(a.requirement, 'lax $.**.course_id') AS found (course_id)
                 WHERE (p_achievement_id IS NULL OR a.id = p_achievement_id)
                   AND (p_kinds IS NULL OR achievement_requirement_kinds(a.requirement) && p_kinds)
                   AND jsonb_typeof(found.course_id) = 'string')
    INTO needed_kinds, needed_courses;
    IF cardinality(needed_kinds) = 0 THEN
        RETURN;
    END IF;
    IF cardinality(p_user_clerk_ids) > 32 THEN
        PERFORM pg_advisory_xact_lock(hashtext('learnstore.evaluate_achievements'));
    ELSE
        PERFORM pg_advisory_xact_lock_shared(hashtext('learnstore.evaluate_achievements'));
        PERFORM pg_advisory_xact_lock(hashtext('learnstore.evaluate_achievements'), learner.key)
        FROM (SELECT DISTINCT hashtext(ids.id) AS key FROM unnest(p_user_clerk_ids) AS ids (id)
              WHERE ids.id IS NOT NULL ORDER BY 1) AS learner;
    END IF;
    -- A new statement, hence a snapshot taken after the locks were granted.
    RETURN QUERY
    WITH candidates AS (
        SELECT a.id, a.code, a.title, a.points, a.requirement
        FROM achievements a
        WHERE (p_achievement_id IS NULL OR a.id = p_achievement_id)
          AND (p_kinds IS NULL OR achievement_requirement_kinds(a.requirement) && p_kinds)
    ), scored AS (
        SELECT m.user_clerk_id, c.id AS achievement_id, achievement_score(c.requirement, m.metrics) AS score
        FROM achievement_metrics(p_user_clerk_ids, needed_kinds, needed_courses) AS m
        CROSS JOIN candidates c
        WHERE NOT EXISTS (SELECT FROM user_achievements ua
                          WHERE ua.user_clerk_id = m.user_clerk_id AND ua.achievement_id = c.id
                            AND ua.earned_at IS NOT NULL)
    ), awarded AS (
        INSERT INTO user_achievements AS ua (user_clerk_id, achievement_id, progress, earned_at)
        SELECT s.user_clerk_id, s.achievement_id, least(s.score[1], 2147483647), now()
        FROM scored s
        WHERE s.score[1] >= s.score[2]
        ORDER BY s.user_clerk_id, s.achievement_id
        ON CONFLICT (user_clerk_id, achievement_id) DO UPDATE
            SET progress = excluded.progress, earned_at = excluded.earned_at
            WHERE ua.earned_at IS NULL
        RETURNING ua.*
    ), notified AS (
        INSERT INTO notifications (user_clerk_id, type, message, source_id, source_type, metadata)
        SELECT aw.user_clerk_id, 'system', format('You earned the achievement "%s".', c.title),
               aw.achievement_id, 'achievement',
               jsonb_build_object('achievement_code', c.code, 'points', c.points)
        FROM awarded aw JOIN candidates c ON c.id = aw.achievement_id
    )
    SELECT * FROM awarded;
END
$$;

-- The hooks: one trigger function per table, each picking the users whose change can earn
-- something (a lesson newly completed, a streak grown, a card newly reviewed or better mastered,
-- ...) from the statement's transition tables, and evaluating them once per statement, only
-- against the achievements that count what the table holds. Changes that cannot earn anything
-- (a clerk_id cascade, a lesson going back to in_progress) evaluate nothing: an award is kept.
-- SET learnstore.evaluate_achievements = off skips them for a session or transaction (a bulk load
-- that backfills afterwards).
CREATE FUNCTION user_progress_evaluate_achievements() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    learners text[];
BEGIN
    IF current_setting('learnstore.evaluate_achievements', true) = 'off' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(DISTINCT n.user_clerk_id) INTO learners FROM new_rows n WHERE n.status = 'completed';
    ELSE
        SELECT array_agg(DISTINCT n.user_clerk_id) INTO learners
        FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE n.status = 'completed' AND o.status <> 'completed';
    END IF;
    IF learners IS NOT NULL THEN
        PERFORM FROM evaluate_achievements(learners, NULL, ARRAY['lessons_completed']);
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION user_courses_evaluate_achievements() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    learners text[];
BEGIN
    IF current_setting('learnstore.evaluate_achievements', true) = 'off' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(DISTINCT n.user_clerk_id) INTO learners FROM new_rows n WHERE n.completed_at IS NOT NULL;
    ELSE
        SELECT array_agg(DISTINCT n.user_clerk_id) INTO learners
        FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE n.completed_at IS NOT NULL AND o.completed_at IS NULL;
    END IF;
    IF learners IS NOT NULL THEN
        PERFORM FROM evaluate_achievements(learners, NULL, ARRAY['courses_completed']);
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION user_streaks_evaluate_achievements() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    learners text[];
BEGIN
    IF current_setting('learnstore.evaluate_achievements', true) = 'off' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(DISTINCT n.user_clerk_id) INTO learners FROM new_rows n WHERE n.current_streak > 0;
    ELSE
        SELECT array_agg(DISTINCT n.user_clerk_id) INTO learners
        FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE n.current_streak > o.current_streak OR n.longest_streak > o.longest_streak;
    END IF;
    IF learners IS NOT NULL THEN
        PERFORM FROM evaluate_achievements(learners, NULL, ARRAY['streak_days']);
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION user_flashcard_progress_evaluate_achievements() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    learners text[];
BEGIN
    IF current_setting('learnstore.evaluate_achievements', true) = 'off' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(DISTINCT n.user_clerk_id) INTO learners FROM new_rows n WHERE n.last_reviewed_at IS NOT NULL;
    ELSE
        SELECT array_agg(DISTINCT n.user_clerk_id) INTO learners
        FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE n.last_reviewed_at IS NOT NULL
          AND (o.last_reviewed_at IS NULL OR n.mastery > o.mastery);
    END IF;
    IF learners IS NOT NULL THEN
        PERFORM FROM evaluate_achievements(learners, NULL, ARRAY['flashcards_reviewed', 'cards_mastered']);
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION quiz_attempts_evaluate_achievements() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    learners text[];
BEGIN
    IF current_setting('learnstore.evaluate_achievements', true) = 'off' THEN
        RETURN NULL;
    END IF;
    SELECT array_agg(DISTINCT n.user_clerk_id) INTO learners FROM new_rows n WHERE n.is_correct;
    IF learners IS NOT NULL THEN
        PERFORM FROM evaluate_achievements(learners, NULL, ARRAY['quizzes_passed']);
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION learning_goals_evaluate_achievements() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    learners text[];
BEGIN
    IF current_setting('learnstore.evaluate_achievements', true) = 'off' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(DISTINCT n.user_clerk_id) INTO learners FROM new_rows n WHERE n.completed_at IS NOT NULL;
    ELSE
        SELECT array_agg(DISTINCT n.user_clerk_id) INTO learners
        FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE n.completed_at IS NOT NULL AND o.completed_at IS NULL;
    END IF;
    IF learners IS NOT NULL THEN
        PERFORM FROM evaluate_achievements(learners, NULL, ARRAY['goals_completed']);
    END IF;
    RETURN NULL;
END
$$;

-- Community: what a user writes counts for them; a like counts for the author of what was liked.
CREATE FUNCTION forum_evaluate_achievements() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    learners text[];
BEGIN
    IF current_setting('learnstore.evaluate_achievements', true) = 'off' THEN
        RETURN NULL;
    END IF;
    IF TG_TABLE_NAME = 'forum_posts' THEN
        SELECT array_agg(DISTINCT n.author_clerk_id) INTO learners FROM new_rows n;
        PERFORM FROM evaluate_achievements(learners, NULL, ARRAY['forum_posts']) WHERE learners IS NOT NULL;
    ELSIF TG_TABLE_NAME = 'forum_replies' THEN
        SELECT array_agg(DISTINCT n.author_clerk_id) INTO learners FROM new_rows n;
        PERFORM FROM evaluate_achievements(learners, NULL, ARRAY['forum_replies']) WHERE learners IS NOT NULL;
    ELSIF TG_TABLE_NAME = 'forum_post_likes' THEN
        SELECT array_agg(DISTINCT p.author_clerk_id) INTO learners
        FROM new_rows n JOIN forum_posts p ON p.id = n.post_id;
        PERFORM FROM evaluate_achievements(learners, NULL, ARRAY['likes_received']) WHERE learners IS NOT NULL;
    ELSE
        SELECT array_agg(DISTINCT r.author_clerk_id) INTO learners
        FROM new_rows n JOIN forum_replies r ON r.id = n.reply_id;
        PERFORM FROM evaluate_achievements(learners, NULL, ARRAY['likes_received']) WHERE learners IS NOT NULL;
    END IF;
    RETURN NULL;
END
$$;

-- user_points is kept from user_achievements by deltas: adding a change is commutative, so two
-- transactions awarding one learner at once both count (a recomputed total could miss the other's
-- uncommitted award). Positive deltas upsert the learner's row, negative ones update it (a learner
-- being erased may already have lost it).
CREATE FUNCTION add_user_points(p_user_clerk_ids text[], p_points bigint[], p_achievements bigint[])
RETURNS void
LANGUAGE sql VOLATILE AS $$
    INSERT INTO user_points AS up (user_clerk_id, points, achievements, reached_at)
    SELECT d.user_clerk_id, d.points, d.achievements, now()
    FROM unnest(p_user_clerk_ids, p_points, p_achievements) AS d (user_clerk_id, points, achievements)
    WHERE d.points >= 0 AND d.achievements >= 0 AND (d.points > 0 OR d.achievements > 0)
    ORDER BY d.user_clerk_id
    ON CONFLICT (user_clerk_id) DO UPDATE
        SET points = up.points + excluded.points,
            achievements = up.achievements + excluded.achievements,
            reached_at = CASE WHEN excluded.points <> 0 THEN now() ELSE up.reached_at END;
    UPDATE user_points AS up
    SET points = up.points + d.points, achievements = up.achievements + d.achievements, reached_at = now()
    FROM unnest(p_user_clerk_ids, p_points, p_achievements) AS d (user_clerk_id, points, achievements)
    WHERE up.user_clerk_id = d.user_clerk_id AND (d.points < 0 OR d.achievements < 0);
$$;

CREATE FUNCTION user_achievements_add_points() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    learners text[];
    points bigint[];
    counts bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(d.user_clerk_id), array_agg(d.points), array_agg(d.counted)
        INTO learners, points, counts
        FROM (SELECT n.user_clerk_id, sum(a.points) AS points, count(*) AS counted
              FROM new_rows n JOIN achievements a ON a.id = n.achievement_id
              WHERE n.earned_at IS NOT NULL GROUP BY n.user_clerk_id) AS d;
    ELSIF TG_OP = 'UPDATE' THEN
        -- A clerk_id cascade moves the award and the learner's user_points row alike: no delta.
        SELECT array_agg(d.user_clerk_id), array_agg(d.points), array_agg(d.counted)
        INTO learners, points, counts
        FROM (SELECT n.user_clerk_id,
                     sum(a.points * ((n.earned_at IS NOT NULL)::integer - (o.earned_at IS NOT NULL)::integer))
                         AS points,
                     sum((n.earned_at IS NOT NULL)::integer - (o.earned_at IS NOT NULL)::integer) AS counted
              FROM new_rows n
              JOIN old_rows o ON o.id = n.id AND o.user_clerk_id = n.user_clerk_id
              JOIN achievements a ON a.id = n.achievement_id
              WHERE (n.earned_at IS NULL) <> (o.earned_at IS NULL)
              GROUP BY n.user_clerk_id) AS d;
    ELSE
        -- An award deleted with its achievement finds no achievement here: achievements_remove_points
        -- took its points away before the cascade.
        SELECT array_agg(d.user_clerk_id), array_agg(d.points), array_agg(d.counted)
        INTO learners, points, counts
        FROM (SELECT o.user_clerk_id, -sum(a.points) AS points, -count(*) AS counted
              FROM old_rows o JOIN achievements a ON a.id = o.achievement_id
              WHERE o.earned_at IS NOT NULL GROUP BY o.user_clerk_id) AS d;
    END IF;
    IF learners IS NOT NULL THEN
        PERFORM add_user_points(learners, points, counts);
    END IF;
    RETURN NULL;
END
$$;

-- An achievement's points changed: every holder's total follows.
CREATE FUNCTION achievements_change_points() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    learners text[];
    points bigint[];
    counts bigint[];
BEGIN
    SELECT array_agg(d.user_clerk_id), array_agg(d.points), array_agg(0::bigint)
    INTO learners, points, counts
    FROM (SELECT ua.user_clerk_id, sum(n.points - o.points) AS points
          FROM new_rows n
          JOIN old_rows o ON o.id = n.id
          JOIN user_achievements ua ON ua.achievement_id = n.id AND ua.earned_at IS NOT NULL
          WHERE n.points <> o.points
          GROUP BY ua.user_clerk_id) AS d;
    IF learners IS NOT NULL THEN
        PERFORM add_user_points(learners, points, counts);
    END IF;
    RETURN NULL;
END
$$;

-- Before an achievement goes (and its awards with it, by cascade), its holders lose its points.
CREATE FUNCTION achievements_remove_points() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    learners text[];
BEGIN
    SELECT array_agg(ua.user_clerk_id) INTO learners
    FROM user_achievements ua WHERE ua.achievement_id = OLD.id AND ua.earned_at IS NOT NULL;
    IF learners IS NOT NULL THEN
        PERFORM add_user_points(learners, array_fill(-OLD.points::bigint, ARRAY[cardinality(learners)]),
                                array_fill(-1::bigint, ARRAY[cardinality(learners)]));
    END IF;
    RETURN OLD;
END
$$;

-- How many learners (of everyone, or of those enrolled in p_course_id) have more points than
-- p_points: a leaderboard rank is one more. Everyone: the sum of the histogram's values above
-- (user_points_histogram, 99_rank.sql), a range of its key as long as the distinct values above,
-- whatever the number of learners. A course: the sum of its histogram's values above
-- (course_points_histogram, 99_course_points.sql), the same range within the course. PL/pgSQL so
-- that each call is planned with its value.
CREATE FUNCTION count_learners_above(p_points integer, p_course_id uuid) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF p_course_id IS NULL THEN
        RETURN (SELECT coalesce(sum(h.learners), 0)::bigint FROM user_points_histogram h
                WHERE h.points > p_points);
    END IF;
    RETURN (SELECT coalesce(sum(h.learners), 0)::bigint FROM course_points_histogram h
            WHERE h.course_id = p_course_id AND h.points > p_points);
END
$$;

-- Transition tables need a trigger per event (see 45_progress_functions.sql).
CREATE TRIGGER user_progress_insert_evaluate_achievements AFTER INSERT ON user_progress
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION user_progress_evaluate_achievements();
CREATE TRIGGER user_progress_update_evaluate_achievements AFTER UPDATE ON user_progress
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION user_progress_evaluate_achievements();
CREATE TRIGGER user_courses_insert_evaluate_achievements AFTER INSERT ON user_courses
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION user_courses_evaluate_achievements();
CREATE TRIGGER user_courses_update_evaluate_achievements AFTER UPDATE ON user_courses
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION user_courses_evaluate_achievements();
CREATE TRIGGER user_streaks_insert_evaluate_achievements AFTER INSERT ON user_streaks
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION user_streaks_evaluate_achievements();
CREATE TRIGGER user_streaks_update_evaluate_achievements AFTER UPDATE ON user_streaks
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION user_streaks_evaluate_achievements();
CREATE TRIGGER user_flashcard_progress_insert_evaluate_achievements AFTER INSERT ON user_flashcard_progress
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION user_flashcard_progress_evaluate_achievements();
CREATE TRIGGER user_flashcard_progress_update_evaluate_achievements AFTER UPDATE ON user_flashcard_progress
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION user_flashcard_progress_evaluate_achievements();
CREATE TRIGGER quiz_attempts_insert_evaluate_achievements AFTER INSERT ON quiz_attempts
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION quiz_attempts_evaluate_achievements();
CREATE TRIGGER learning_goals_insert_evaluate_achievements AFTER INSERT ON learning_goals
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION learning_goals_evaluate_achievements();
CREATE TRIGGER learning_goals_update_evaluate_achievements AFTER UPDATE ON learning_goals
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION learning_goals_evaluate_achievements();
CREATE TRIGGER forum_posts_insert_evaluate_achievements AFTER INSERT ON forum_posts
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION forum_evaluate_achievements();
CREATE TRIGGER forum_replies_insert_evaluate_achievements AFTER INSERT ON forum_replies
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION forum_evaluate_achievements();
CREATE TRIGGER forum_post_likes_insert_evaluate_achievements AFTER INSERT ON forum_post_likes
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION forum_evaluate_achievements();
CREATE TRIGGER forum_reply_likes_insert_evaluate_achievements AFTER INSERT ON forum_reply_likes
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION forum_evaluate_achievements();
CREATE TRIGGER user_achievements_insert_add_points AFTER INSERT ON user_achievements
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION user_achievements_add_points();
CREATE TRIGGER user_achievements_update_add_points AFTER UPDATE ON user_achievements
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION user_achievements_add_points();
CREATE TRIGGER user_achievements_delete_add_points AFTER DELETE ON user_achievements
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION user_achievements_add_points();
CREATE TRIGGER achievements_update_change_points AFTER UPDATE ON achievements
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION achievements_change_points();
CREATE TRIGGER achievements_delete_remove_points BEFORE DELETE ON achievements
    FOR EACH ROW EXECUTE FUNCTION achievements_remove_points();
