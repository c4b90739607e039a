CREATE OR REPLACE FUNCTION course_points_lock(p_learners text[], p_exclusive boolean) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = public, pg_temp AS $$
BEGIN
    IF cardinality(p_learners) > 32 THEN
        PERFORM pg_advisory_xact_lock(hashtext('learnstore.course_points'));
    ELSIF p_exclusive THEN
        PERFORM pg_advisory_xact_lock_shared(hashtext('learnstore.course_points'));
        PERFORM pg_advisory_xact_lock(hashtext('learnstore.course_points'), l.key)
        FROM (SELECT DISTINCT hashtext(r.learner) AS key FROM unnest(p_learners) AS r (learner) ORDER BY 1) AS l;
    ELSE
        PERFORM pg_advisory_xact_lock_shared(hashtext('learnstore.course_points'));
        PERFORM pg_advisory_xact_lock_shared(hashtext('learnstore.course_points'), l.key)
        FROM (SELECT DISTINCT hashtext(r.learner) AS key FROM unnest(p_learners) AS r (learner) ORDER BY 1) AS l;
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION course_roster_names_lock(p_learners text[], p_exclusive boolean) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = public, pg_temp AS $$
BEGIN
    IF cardinality(p_learners) > 32 THEN
        PERFORM pg_advisory_xact_lock(hashtext('learnstore.course_roster_names'));
    ELSIF p_exclusive THEN
        PERFORM pg_advisory_xact_lock_shared(hashtext('learnstore.course_roster_names'));
        PERFORM pg_advisory_xact_lock(hashtext('learnstore.course_roster_names'), l.key)
        FROM (SELECT DISTINCT hashtext(r.learner) AS key FROM unnest(p_learners) AS r (learner) ORDER BY 1) AS l;
    ELSE
        PERFORM pg_advisory_xact_lock_shared(hashtext('learnstore.course_roster_names'));
        PERFORM pg_advisory_xact_lock_shared(hashtext('learnstore.course_roster_names'), l.key)
        FROM (SELECT DISTINCT hashtext(r.learner) AS key FROM unnest(p_learners) AS r (learner) ORDER BY 1) AS l;
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION lesson_progress_counts_lock(p_learners text[], p_courses uuid[]) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = public, pg_temp AS $$
BEGIN
    IF p_learners IS NULL OR cardinality(p_learners) > 32 THEN
        PERFORM pg_advisory_xact_lock(hashtext('learnstore.lesson_progress_counts'));
    ELSE
        PERFORM pg_advisory_xact_lock_shared(hashtext('learnstore.lesson_progress_counts'));
        PERFORM pg_advisory_xact_lock(hashtext('learnstore.lesson_progress_counts'), pair.key)
        FROM (SELECT DISTINCT hashtext(p.learner || '/' || p.course::text) AS key
              FROM unnest(p_learners, p_courses) AS p (learner, course) ORDER BY 1) AS pair;
    END IF;
END
$$;

DROP FUNCTION learnstore_keys_lock(text, text[], boolean);
