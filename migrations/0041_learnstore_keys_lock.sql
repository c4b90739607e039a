-- One lock for the derived state kept by triggers (sql/schema/00_foundation.sql): course_points_lock
-- (0032), lesson_progress_counts_lock (0029) and course_roster_names_lock (0040) were the same
-- function thrice with another scope. Each is now its scope's call of learnstore_keys_lock, with the
-- same keys (hashtext of the learner, or of 'learner/course'), the same modes and the same limit of
-- 32 keys, so a transaction that took a lock under the old body and one that takes it under the new
-- one still exclude each other. Replacing a function takes no lock on a table: nothing waits.

-- The lock that derived state kept by triggers takes before it reads (migration 0041): two writers of
-- one key (a learner, a learner's enrolment) in different transactions do not see each other's
-- uncommitted rows, so each locks the key for its transaction, then reads in a later statement, after
-- the other committed (READ COMMITTED). A writer that changes the key's state locks it exclusively,
-- one that only copies it shared (those need not queue on each other). More than 32 keys, or none
-- given (NULL), take the scope's one exclusive lock instead (the lock table is finite), which every
-- per-key locker shares. Keys are locked in hash order, so two lockers never wait for each other
-- in a circle.
CREATE FUNCTION learnstore_keys_lock(p_scope text, p_keys text[], p_exclusive boolean) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = public, pg_temp AS $$
BEGIN
    IF p_keys IS NULL OR cardinality(p_keys) > 32 THEN
        PERFORM pg_advisory_xact_lock(hashtext(p_scope));
    ELSIF p_exclusive THEN
        PERFORM pg_advisory_xact_lock_shared(hashtext(p_scope));
        PERFORM pg_advisory_xact_lock(hashtext(p_scope), k.key)
        FROM (SELECT DISTINCT hashtext(r.key) AS key FROM unnest(p_keys) AS r (key) ORDER BY 1) AS k;
    ELSE
        PERFORM pg_advisory_xact_lock_shared(hashtext(p_scope));
        PERFORM pg_advisory_xact_lock_shared(hashtext(p_scope), k.key)
        FROM (SELECT DISTINCT hashtext(r.key) AS key FROM unnest(p_keys) AS r (key) ORDER BY 1) AS k;
    END IF;
END
$$;
REVOKE EXECUTE ON FUNCTION learnstore_keys_lock(text, text[], boolean) FROM PUBLIC;

CREATE OR REPLACE FUNCTION course_points_lock(p_learners text[], p_exclusive boolean) RETURNS void
LANGUAGE sql VOLATILE SET search_path = public, pg_temp
AS $$ SELECT learnstore_keys_lock('learnstore.course_points', p_learners, p_exclusive) $$;

CREATE OR REPLACE FUNCTION course_roster_names_lock(p_learners text[], p_exclusive boolean) RETURNS void
LANGUAGE sql VOLATILE SET search_path = public, pg_temp
AS $$ SELECT learnstore_keys_lock('learnstore.course_roster_names', p_learners, p_exclusive) $$;

CREATE OR REPLACE FUNCTION lesson_progress_counts_lock(p_learners text[], p_courses uuid[]) RETURNS void
LANGUAGE sql VOLATILE SET search_path = public, pg_temp
AS $$
SELECT learnstore_keys_lock(
    'learnstore.lesson_progress_counts',
    CASE WHEN p_learners IS NOT NULL
         THEN ARRAY(SELECT p.learner || '/' || p.course::text FROM unnest(p_learners, p_courses) AS p (learner, course))
    END,
    true)
$$;
