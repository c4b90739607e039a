-- Trending's rollup (forum_course_activity, 0031) folded: a busy course's hour is up to 16 shard rows,
-- written at once by writers who must not queue on one row, and trending's read sums every row of
-- its window. Once an hour is past, its writers are few (an unlike, a hide, a deletion), and
-- `learnstore maintain` folds its shards into one row with forum_course_activity_fold: the read
-- then sums one row per course and hour. At the million benchmark scale the window held 147,529
-- rows for 9,000 courses (trending 42 ms, against 8.3 at the large scale; docs/scaling.md).
-- A new function: nothing else changes, and nothing is folded until maintain runs.
-- Folds the shards of each (course, hour) before p_before into one row, the lowest shard's, for at
-- most p_groups (course, hour) pairs, oldest first; returns how many rows it removed (0: nothing left
-- to fold). The trending read sums every row of the window, and a busy course's hour has up to 16;
-- a past hour is still written (an unlike, a hide or a deletion takes its events out again), so the
-- fold is exact under writers: its first statement locks the group's rows (in (course, hour, shard)
-- order, as they come), the second sums them, the latest versions, and keeps the sum on one of them.
-- A writer waiting on a removed row inserts it again (its UPSERT retries), and one that adds a new
-- shard meanwhile keeps it for a later fold: none of their events is lost or counted twice. Run by
-- `learnstore maintain` (learnstore.rollups), in short transactions.
CREATE FUNCTION forum_course_activity_fold(p_before timestamptz, p_groups integer) RETURNS integer
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    v_ids uuid[];
    v_removed integer;
BEGIN
    SELECT array_agg(l.id) INTO v_ids
    FROM (SELECT a.id FROM forum_course_activity a
          JOIN (SELECT g.course_id, g.bucket FROM forum_course_activity g
                WHERE g.bucket < forum_activity_hour(p_before)
                GROUP BY g.course_id, g.bucket HAVING count(*) > 1
                ORDER BY g.bucket, g.course_id LIMIT p_groups) AS k
            ON k.course_id = a.course_id AND k.bucket = a.bucket
          ORDER BY a.course_id, a.bucket, a.shard
          FOR UPDATE OF a) AS l;
    IF v_ids IS NULL THEN
        RETURN 0;
    END IF;
    WITH s AS (
        SELECT a.course_id, a.bucket, min(a.shard) AS keep, sum(a.events) AS events,
               sum(a.events_public) AS events_public
        FROM forum_course_activity a WHERE a.id = ANY (v_ids) GROUP BY a.course_id, a.bucket
    ), kept AS (
        UPDATE forum_course_activity a SET events = s.events, events_public = s.events_public
        FROM s WHERE a.id = ANY (v_ids) AND a.course_id = s.course_id AND a.bucket = s.bucket AND a.shard = s.keep
        RETURNING a.id
    )
    DELETE FROM forum_course_activity a
    WHERE a.id = ANY (v_ids) AND a.id NOT IN (SELECT kept.id FROM kept);
    GET DIAGNOSTICS v_removed = ROW_COUNT;
    RETURN v_removed;
END
$$;
REVOKE EXECUTE ON FUNCTION forum_course_activity_fold(timestamptz, integer) FROM PUBLIC;
