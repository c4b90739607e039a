-- Trending as derived state (issue 18 point 1, issue 20 point 5; migration 0031, docs/scaling.md):
-- ListTrendingCourses, ListTrendingTags and ListTrendingCourseCards read a rollup of forum events
-- per course and hour (forum_course_activity_since) instead of counting every post, reply and like
-- of the window at read time. The rows of courses active before 0031 are filled by
-- 0031_forum_course_activity_backfill.
--
-- What counts is what the read-time queries counted: every post, reply, like of a post and like of a
-- reply (deleted_at or not), one event each, in the course of the post, at the row's created_at;
-- hidden content, and the likes and replies under it, count only for the viewers who see it
-- (learnstore_visible: moderators, and the author of the hidden row). Each hour's count is stored as
-- a moderator sees it (events) and as everyone sees it (events_public); a viewer who authored hidden
-- rows also sees what only those hide, which the read adds from their few hidden rows.
--
-- Hours, not days: the read sums the window's whole hours from the rollup and counts the first,
-- partial hour (the window's start is any instant) from the base tables, joined to their posts as the
-- read-time query did: that part is bounded by an hour's events of the platform, where a day's would
-- be a seventh of a week's window. The rollup's part is bounded by the window's hours times the
-- courses active in them times the shards they were written to, an index-only range of narrow rows.
--
-- Sharded as forum_user_activity is: each writer adds to one of up to 16 rows of a (course, hour), by
-- its transaction's id, so 16 learners posting and liking in one course at once do not queue on one
-- row (bench/forum_course_activity_counter.py measures it).

-- The hour an event falls in, in UTC whatever the session's time zone (a zone half an hour off UTC
-- would cut other hours): immutable, so the rollup's rows and the read agree on every connection.
CREATE FUNCTION forum_activity_hour(p_at timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
RETURN date_bin('1 hour'::interval, p_at, '2000-01-01 00:00:00+00'::timestamptz);

CREATE TABLE forum_course_activity (
    id            uuid        NOT NULL DEFAULT uuidv7(),
    course_id     uuid        NOT NULL,
    bucket        timestamptz NOT NULL,
    shard         smallint    NOT NULL DEFAULT 0,
    events        bigint      NOT NULL DEFAULT 0,
    events_public bigint      NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT forum_course_activity_pkey PRIMARY KEY (id),
    CONSTRAINT forum_course_activity_course_bucket_shard_key UNIQUE (course_id, bucket, shard),
    -- A deleted course's rows go with it (the triggers never write a course that is not there).
    CONSTRAINT forum_course_activity_course_id_fkey FOREIGN KEY (course_id)
        REFERENCES courses (id) ON DELETE CASCADE,
    CONSTRAINT forum_course_activity_shard_range CHECK (shard BETWEEN 0 AND 15),
    CONSTRAINT forum_course_activity_bucket_shape CHECK (bucket = forum_activity_hour(bucket))
);
COMMENT ON TABLE forum_course_activity IS 'A shard of a course''s forum events in one hour: trending sums them.';
COMMENT ON COLUMN forum_course_activity.bucket IS 'The hour (UTC) the events were created in.';
COMMENT ON COLUMN forum_course_activity.shard IS 'The shard a writer adds to: its transaction''s id modulo 16.';
COMMENT ON COLUMN forum_course_activity.events IS 'Posts, replies and likes of both, hidden ones included (as moderators see them).';
COMMENT ON COLUMN forum_course_activity.events_public IS 'The events nothing hidden is part of (as everyone sees them).';
CREATE TRIGGER forum_course_activity_set_updated_at BEFORE UPDATE ON forum_course_activity
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
-- The read: every course's rows of the window's whole hours, index-only.
CREATE INDEX forum_course_activity_bucket_idx ON forum_course_activity (bucket)
    INCLUDE (course_id, events, events_public);

-- ---- adding events ------------------------------------------------------------------------------------
-- Terms (course_id, bucket, n, public): n events of the course in the hour, public when nothing
-- hidden is part of them. Summed per (course, hour) and added to this transaction's shard, in
-- (course_id, bucket) order (two statements that touch several courses cannot deadlock): one UPSERT
-- that inserts the shard's row or adds to it under its row lock. Additions commute, so concurrent
-- writers lose none. A course is written only if there: a deleted course's posts going with it
-- have nowhere to go, and need none.
CREATE FUNCTION forum_course_activity_add(p_terms jsonb) RETURNS void
LANGUAGE sql SET search_path = public, pg_temp
    SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off
BEGIN ATOMIC
    INSERT INTO forum_course_activity AS a (course_id, bucket, shard, events, events_public)
    SELECT d.course_id, d.bucket, (pg_current_xact_id()::text::bigint % 16)::smallint, d.events, d.events_public
    FROM (SELECT t.course_id, t.bucket, sum(t.n)::bigint AS events,
                 coalesce(sum(t.n) FILTER (WHERE t.public), 0)::bigint AS events_public
          FROM jsonb_to_recordset(p_terms) AS t (course_id uuid, bucket timestamptz, n integer, public boolean)
          WHERE t.course_id IS NOT NULL
          GROUP BY t.course_id, t.bucket) AS d
    WHERE (d.events, d.events_public) <> (0, 0)
      AND EXISTS (SELECT FROM courses c WHERE c.id = d.course_id)
    ORDER BY d.course_id, d.bucket
    ON CONFLICT (course_id, bucket, shard) DO UPDATE
        SET events = a.events + excluded.events, events_public = a.events_public + excluded.events_public;
END;
REVOKE EXECUTE ON FUNCTION forum_course_activity_add(jsonb) FROM PUBLIC;

-- Replies in the given states (a jsonb array of {id, sign, hidden, created_at, post_id}), on their
-- posts as they are now, with their likes as they are now: the reply and each like one event of the
-- post's course, public when neither the reply nor its post is hidden.
CREATE FUNCTION forum_course_activity_reply_terms(p_states jsonb)
RETURNS TABLE (course_id uuid, bucket timestamptz, n integer, public boolean)
LANGUAGE sql STABLE SET search_path = public, pg_temp
    SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off
BEGIN ATOMIC
    WITH s AS (
        SELECT s.id, s.sign, p.course_id, s.created_at, NOT s.hidden AND p.hidden_at IS NULL AS public
        FROM jsonb_to_recordset(p_states) AS s (id uuid, sign integer, hidden boolean, created_at timestamptz, post_id uuid)
        JOIN forum_posts p ON p.id = s.post_id
    )
    SELECT s.course_id, forum_activity_hour(s.created_at), s.sign, s.public FROM s
    UNION ALL
    SELECT s.course_id, forum_activity_hour(l.created_at), s.sign, s.public
    FROM s JOIN forum_reply_likes l ON l.reply_id = s.id;
END;
REVOKE EXECUTE ON FUNCTION forum_course_activity_reply_terms(jsonb) FROM PUBLIC;

-- Posts in the given states (a jsonb array of {id, sign, course_id, hidden, created_at}), with their
-- likes, replies and the replies' likes as they are now.
CREATE FUNCTION forum_course_activity_post_terms(p_states jsonb)
RETURNS TABLE (course_id uuid, bucket timestamptz, n integer, public boolean)
LANGUAGE sql STABLE SET search_path = public, pg_temp
    SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off
BEGIN ATOMIC
    WITH s AS (
        SELECT * FROM jsonb_to_recordset(p_states)
            AS s (id uuid, sign integer, course_id uuid, hidden boolean, created_at timestamptz)
    )
    SELECT s.course_id, forum_activity_hour(s.created_at), s.sign, NOT s.hidden FROM s
    UNION ALL
    SELECT s.course_id, forum_activity_hour(l.created_at), s.sign, NOT s.hidden
    FROM s JOIN forum_post_likes l ON l.post_id = s.id
    UNION ALL
    SELECT s.course_id, forum_activity_hour(r.created_at), s.sign, NOT s.hidden AND r.hidden_at IS NULL
    FROM s JOIN forum_replies r ON r.post_id = s.id
    UNION ALL
    SELECT s.course_id, forum_activity_hour(l.created_at), s.sign, NOT s.hidden AND r.hidden_at IS NULL
    FROM s JOIN forum_replies r ON r.post_id = s.id JOIN forum_reply_likes l ON l.reply_id = r.id;
END;
REVOKE EXECUTE ON FUNCTION forum_course_activity_post_terms(jsonb) FROM PUBLIC;

-- ---- the triggers -------------------------------------------------------------------------------------
-- SECURITY DEFINER: the writer may not write the rollup. What counts is every row, deleted_at or not
-- (a tombstone still counted in the read-time queries); what changes a count is a row coming or going,
-- and a hide or unhide of a post or reply (its events, and those of everything under it, move in or
-- out of events_public). A changed row's events are taken out with its old state and put back with
-- its new one, the rows around it as they are now.

-- Posts: a new post is one event (nothing is under it yet). A deleted post takes its likes, replies
-- and their likes out with it, before the cascade removes them (a BEFORE ROW trigger: the rows under
-- it are gone by the statement's end; their own triggers find no post and add nothing).
CREATE FUNCTION forum_posts_course_activity_inserted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM forum_course_activity_add((
        SELECT jsonb_agg(jsonb_build_object('course_id', n.course_id, 'bucket', forum_activity_hour(n.created_at),
                                            'n', 1, 'public', n.hidden_at IS NULL))
        FROM new_rows n));
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION forum_posts_course_activity_inserted() FROM PUBLIC;

CREATE FUNCTION forum_posts_course_activity_updated() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_states jsonb;
BEGIN
    SELECT jsonb_agg(s) INTO v_states FROM (
        SELECT o.id, -1 AS sign, o.course_id, o.hidden_at IS NOT NULL AS hidden, o.created_at
        FROM old_rows o JOIN new_rows n ON n.id = o.id
        WHERE (o.hidden_at IS NULL) <> (n.hidden_at IS NULL) OR o.course_id <> n.course_id
           OR forum_activity_hour(o.created_at) <> forum_activity_hour(n.created_at)
        UNION ALL
        SELECT n.id, 1, n.course_id, n.hidden_at IS NOT NULL, n.created_at
        FROM old_rows o JOIN new_rows n ON n.id = o.id
        WHERE (o.hidden_at IS NULL) <> (n.hidden_at IS NULL) OR o.course_id <> n.course_id
           OR forum_activity_hour(o.created_at) <> forum_activity_hour(n.created_at)) AS s;
    IF v_states IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM forum_course_activity_add((SELECT jsonb_agg(t) FROM forum_course_activity_post_terms(v_states) AS t));
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION forum_posts_course_activity_updated() FROM PUBLIC;

CREATE FUNCTION forum_posts_course_activity_deleting() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM forum_course_activity_add((
        SELECT jsonb_agg(t) FROM forum_course_activity_post_terms(jsonb_build_array(jsonb_build_object(
            'id', OLD.id, 'sign', -1, 'course_id', OLD.course_id, 'hidden', OLD.hidden_at IS NOT NULL,
            'created_at', OLD.created_at))) AS t));
    RETURN OLD;
END
$$;
REVOKE EXECUTE ON FUNCTION forum_posts_course_activity_deleting() FROM PUBLIC;

CREATE TRIGGER forum_posts_course_activity_inserted AFTER INSERT ON forum_posts
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION forum_posts_course_activity_inserted();
CREATE TRIGGER forum_posts_course_activity_updated AFTER UPDATE ON forum_posts
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION forum_posts_course_activity_updated();
CREATE TRIGGER forum_posts_course_activity_deleting BEFORE DELETE ON forum_posts
    FOR EACH ROW EXECUTE FUNCTION forum_posts_course_activity_deleting();

-- Replies: in the given states, on their posts as they are now (locked FOR SHARE first, in id order:
-- a hide of the post waits for this writer, or this writer for the hide, and reads the result).
CREATE FUNCTION forum_replies_course_activity_add(p_states jsonb) RETURNS void
LANGUAGE plpgsql SET search_path = public, pg_temp
    SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off AS $$
BEGIN
    PERFORM FROM forum_posts p
    WHERE p.id IN (SELECT (e ->> 'post_id')::uuid FROM jsonb_array_elements(p_states) AS e)
    ORDER BY p.id FOR SHARE;
    PERFORM forum_course_activity_add((SELECT jsonb_agg(t) FROM forum_course_activity_reply_terms(p_states) AS t));
END
$$;
REVOKE EXECUTE ON FUNCTION forum_replies_course_activity_add(jsonb) FROM PUBLIC;

CREATE FUNCTION forum_replies_course_activity_inserted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM forum_replies_course_activity_add((
        SELECT jsonb_agg(jsonb_build_object('id', n.id, 'sign', 1, 'hidden', n.hidden_at IS NOT NULL,
                                            'created_at', n.created_at, 'post_id', n.post_id))
        FROM new_rows n));
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION forum_replies_course_activity_inserted() FROM PUBLIC;

CREATE FUNCTION forum_replies_course_activity_updated() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_states jsonb;
BEGIN
    SELECT jsonb_agg(s) INTO v_states FROM (
        SELECT o.id, -1 AS sign, o.hidden_at IS NOT NULL AS hidden, o.created_at, o.post_id
        FROM old_rows o JOIN new_rows n ON n.id = o.id
        WHERE (o.hidden_at IS NULL) <> (n.hidden_at IS NULL) OR o.post_id <> n.post_id
           OR forum_activity_hour(o.created_at) <> forum_activity_hour(n.created_at)
        UNION ALL
        SELECT n.id, 1, n.hidden_at IS NOT NULL, n.created_at, n.post_id
        FROM old_rows o JOIN new_rows n ON n.id = o.id
        WHERE (o.hidden_at IS NULL) <> (n.hidden_at IS NULL) OR o.post_id <> n.post_id
           OR forum_activity_hour(o.created_at) <> forum_activity_hour(n.created_at)) AS s;
    IF v_states IS NOT NULL THEN
        PERFORM forum_replies_course_activity_add(v_states);
    END IF;
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION forum_replies_course_activity_updated() FROM PUBLIC;

-- A deleted reply takes its likes out with it (BEFORE ROW, as for posts); a reply deleted with its
-- post finds no post (counted out with it) and adds nothing.
CREATE FUNCTION forum_replies_course_activity_deleting() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM forum_replies_course_activity_add(jsonb_build_array(jsonb_build_object(
        'id', OLD.id, 'sign', -1, 'hidden', OLD.hidden_at IS NOT NULL, 'created_at', OLD.created_at,
        'post_id', OLD.post_id)));
    RETURN OLD;
END
$$;
REVOKE EXECUTE ON FUNCTION forum_replies_course_activity_deleting() FROM PUBLIC;

CREATE TRIGGER forum_replies_course_activity_inserted AFTER INSERT ON forum_replies
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION forum_replies_course_activity_inserted();
CREATE TRIGGER forum_replies_course_activity_updated AFTER UPDATE ON forum_replies
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION forum_replies_course_activity_updated();
CREATE TRIGGER forum_replies_course_activity_deleting BEFORE DELETE ON forum_replies
    FOR EACH ROW EXECUTE FUNCTION forum_replies_course_activity_deleting();

-- Likes (sign +1 new, -1 removed): one event of the liked post's course in the like's hour, public
-- as the post (and the reply) is now, both locked FOR SHARE first (a hide waits, or is waited for).
-- A like whose post or reply is gone was counted out with it.
CREATE FUNCTION forum_post_likes_course_activity(p_likes jsonb) RETURNS void
LANGUAGE plpgsql SET search_path = public, pg_temp
    SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off AS $$
BEGIN
    PERFORM FROM forum_posts p
    WHERE p.id IN (SELECT (e ->> 'post_id')::uuid FROM jsonb_array_elements(p_likes) AS e)
    ORDER BY p.id FOR SHARE;
    PERFORM forum_course_activity_add((
        SELECT jsonb_agg(jsonb_build_object('course_id', p.course_id, 'bucket', forum_activity_hour(l.created_at),
                                            'n', l.sign, 'public', p.hidden_at IS NULL))
        FROM jsonb_to_recordset(p_likes) AS l (post_id uuid, created_at timestamptz, sign integer)
        JOIN forum_posts p ON p.id = l.post_id));
END
$$;
REVOKE EXECUTE ON FUNCTION forum_post_likes_course_activity(jsonb) FROM PUBLIC;

CREATE FUNCTION forum_reply_likes_course_activity(p_likes jsonb) RETURNS void
LANGUAGE plpgsql SET search_path = public, pg_temp
    SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off AS $$
BEGIN
    -- the replies first, then their posts (the order forum_reply_likes_activity takes them in)
    PERFORM FROM forum_replies r
    WHERE r.id IN (SELECT (e ->> 'reply_id')::uuid FROM jsonb_array_elements(p_likes) AS e)
    ORDER BY r.id FOR SHARE;
    PERFORM FROM forum_posts p
    WHERE p.id IN (SELECT r.post_id FROM forum_replies r
                   WHERE r.id IN (SELECT (e ->> 'reply_id')::uuid FROM jsonb_array_elements(p_likes) AS e))
    ORDER BY p.id FOR SHARE;
    PERFORM forum_course_activity_add((
        SELECT jsonb_agg(jsonb_build_object('course_id', p.course_id, 'bucket', forum_activity_hour(l.created_at),
                                            'n', l.sign, 'public', r.hidden_at IS NULL AND p.hidden_at IS NULL))
        FROM jsonb_to_recordset(p_likes) AS l (reply_id uuid, created_at timestamptz, sign integer)
        JOIN forum_replies r ON r.id = l.reply_id JOIN forum_posts p ON p.id = r.post_id));
END
$$;
REVOKE EXECUTE ON FUNCTION forum_reply_likes_course_activity(jsonb) FROM PUBLIC;

CREATE FUNCTION forum_post_likes_course_activity_inserted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM forum_post_likes_course_activity((SELECT jsonb_agg(jsonb_build_object(
        'post_id', n.post_id, 'created_at', n.created_at, 'sign', 1)) FROM new_rows n));
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION forum_post_likes_course_activity_inserted() FROM PUBLIC;
CREATE FUNCTION forum_post_likes_course_activity_deleted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM forum_post_likes_course_activity((SELECT jsonb_agg(jsonb_build_object(
        'post_id', o.post_id, 'created_at', o.created_at, 'sign', -1)) FROM old_rows o));
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION forum_post_likes_course_activity_deleted() FROM PUBLIC;
CREATE FUNCTION forum_reply_likes_course_activity_inserted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM forum_reply_likes_course_activity((SELECT jsonb_agg(jsonb_build_object(
        'reply_id', n.reply_id, 'created_at', n.created_at, 'sign', 1)) FROM new_rows n));
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION forum_reply_likes_course_activity_inserted() FROM PUBLIC;
CREATE FUNCTION forum_reply_likes_course_activity_deleted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM forum_reply_likes_course_activity((SELECT jsonb_agg(jsonb_build_object(
        'reply_id', o.reply_id, 'created_at', o.created_at, 'sign', -1)) FROM old_rows o));
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION forum_reply_likes_course_activity_deleted() FROM PUBLIC;

-- A like is never moved to another post or reply nor re-dated (a renamed liker's is renamed, which
-- counts the same): inserts and deletes are all there is to count.
CREATE TRIGGER forum_post_likes_course_activity_inserted AFTER INSERT ON forum_post_likes
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION forum_post_likes_course_activity_inserted();
CREATE TRIGGER forum_post_likes_course_activity_deleted AFTER DELETE ON forum_post_likes
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION forum_post_likes_course_activity_deleted();
CREATE TRIGGER forum_reply_likes_course_activity_inserted AFTER INSERT ON forum_reply_likes
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION forum_reply_likes_course_activity_inserted();
CREATE TRIGGER forum_reply_likes_course_activity_deleted AFTER DELETE ON forum_reply_likes
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION forum_reply_likes_course_activity_deleted();

-- ---- recomputing --------------------------------------------------------------------------------------
-- The given courses' events per hour from the base rows: what learnstore check compares and what
-- forum_course_activity_recount writes. By each course's posts (forum_posts_course_id_idx) and the
-- rows under them, by key, in one process: the planner takes the array for many courses, hashed whole
-- tables for one, and started workers for a few hundred rows (learnstore check runs it per course).
CREATE FUNCTION forum_course_activity_expected(p_course_ids uuid[])
RETURNS TABLE (course_id uuid, bucket timestamptz, events bigint, events_public bigint)
LANGUAGE sql STABLE SET search_path = public, pg_temp
    SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off
    SET max_parallel_workers_per_gather = 0
BEGIN ATOMIC
    SELECT e.course_id, e.bucket, count(*)::bigint, count(*) FILTER (WHERE e.public)::bigint
    FROM (
        SELECT p.course_id, forum_activity_hour(p.created_at) AS bucket, p.hidden_at IS NULL AS public
        FROM forum_posts p WHERE p.course_id = ANY (p_course_ids)
        UNION ALL
        SELECT p.course_id, forum_activity_hour(l.created_at), p.hidden_at IS NULL
        FROM forum_posts p JOIN forum_post_likes l ON l.post_id = p.id WHERE p.course_id = ANY (p_course_ids)
        UNION ALL
        SELECT p.course_id, forum_activity_hour(r.created_at), p.hidden_at IS NULL AND r.hidden_at IS NULL
        FROM forum_posts p JOIN forum_replies r ON r.post_id = p.id WHERE p.course_id = ANY (p_course_ids)
        UNION ALL
        SELECT p.course_id, forum_activity_hour(l.created_at), p.hidden_at IS NULL AND r.hidden_at IS NULL
        FROM forum_posts p JOIN forum_replies r ON r.post_id = p.id JOIN forum_reply_likes l ON l.reply_id = r.id
        WHERE p.course_id = ANY (p_course_ids)
    ) AS e
    GROUP BY e.course_id, e.bucket;
END;
REVOKE EXECUTE ON FUNCTION forum_course_activity_expected(uuid[]) FROM PUBLIC;

-- Brings the given courses' rows to their recomputed counts by adding the difference, in one
-- statement: the stored sums and the base rows are read in one snapshot (a writer either committed
-- before it, and is in both, or is in neither), and the difference is added to shard 0 as a writer
-- adds its events, so it commutes with the writers adding theirs meanwhile. No lock is held beyond
-- the rows it adds to. What learnstore check's repair and the backfill run, one short transaction
-- per batch.
CREATE FUNCTION forum_course_activity_recount(p_course_ids uuid[]) RETURNS void
LANGUAGE sql SET search_path = public, pg_temp
BEGIN ATOMIC
    INSERT INTO forum_course_activity AS a (course_id, bucket, shard, events, events_public)
    SELECT d.course_id, d.bucket, 0, d.events, d.events_public
    FROM (SELECT coalesce(e.course_id, s.course_id) AS course_id, coalesce(e.bucket, s.bucket) AS bucket,
                 coalesce(e.events, 0) - coalesce(s.events, 0) AS events,
                 coalesce(e.events_public, 0) - coalesce(s.events_public, 0) AS events_public
          FROM forum_course_activity_expected(p_course_ids) AS e
          FULL JOIN (SELECT x.course_id, x.bucket, sum(x.events)::bigint AS events,
                            sum(x.events_public)::bigint AS events_public
                     FROM forum_course_activity x WHERE x.course_id = ANY (p_course_ids)
                     GROUP BY x.course_id, x.bucket) AS s
            ON s.course_id = e.course_id AND s.bucket = e.bucket) AS d
    WHERE (d.events, d.events_public) <> (0, 0)
      AND EXISTS (SELECT FROM courses c WHERE c.id = d.course_id)
    ORDER BY d.course_id, d.bucket
    ON CONFLICT (course_id, bucket, shard) DO UPDATE
        SET events = a.events + excluded.events, events_public = a.events_public + excluded.events_public;
END;
REVOKE EXECUTE ON FUNCTION forum_course_activity_recount(uuid[]) FROM PUBLIC;

-- ---- reading ------------------------------------------------------------------------------------------
-- Every course's forum activity since p_since as the acting user sees it (what ListTrendingCourses,
-- ListTrendingTags and ListTrendingCourseCards counted at read time: every post, reply and like of
-- the window, nothing hidden from the viewer part of it): the rollup's whole hours from the first
-- hour boundary at or after p_since, plus the events of the first, partial hour from the base
-- tables by their created_at indexes (at most an hour's events). A moderator reads events, everyone
-- else events_public; a viewer who is neither also sees what only their own hidden posts and replies
-- hide from everyone else (found from those few rows, forum_*_hidden_by_author_idx). Courses of no
-- activity have no row. Index lookups only: the window's rows come from ranges the planner cannot
-- size for a generic plan. PL/pgSQL, not SQL (migration 0034): a SQL function's statement is planned
-- anew on every call, and planning this union of eleven branches was 4-5 ms of the small scale's
-- 5.6 ms trending page; PL/pgSQL keeps the plan for the session.
CREATE FUNCTION forum_course_activity_since(p_since timestamptz)
RETURNS TABLE (course_id uuid, activity bigint)
LANGUAGE plpgsql STABLE SET search_path = public, pg_temp
    SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH v AS (
        SELECT a.actor,
               CASE WHEN a.actor IS NULL THEN false
                    ELSE learnstore_visible('-infinity'::timestamptz, NULL) END AS moderator,
               CASE WHEN forum_activity_hour(p_since) = p_since THEN p_since
                    ELSE forum_activity_hour(p_since) + interval '1 hour' END AS whole_from
        FROM (SELECT learnstore_actor() AS actor OFFSET 0) AS a
        OFFSET 0
    ), events AS (
        SELECT a.course_id, CASE WHEN v.moderator THEN a.events ELSE a.events_public END AS n
        FROM v JOIN forum_course_activity a ON a.bucket >= v.whole_from
        -- the first, partial hour, as the read-time queries counted it
        UNION ALL
        SELECT p.course_id, 1 FROM v JOIN forum_posts p ON p.created_at >= p_since AND p.created_at < v.whole_from
        WHERE learnstore_visible(p.hidden_at, p.author_clerk_id)
        UNION ALL
        SELECT p.course_id, 1
        FROM v JOIN forum_replies r ON r.created_at >= p_since AND r.created_at < v.whole_from
        JOIN forum_posts p ON p.id = r.post_id
        WHERE learnstore_visible(r.hidden_at, r.author_clerk_id) AND learnstore_visible(p.hidden_at, p.author_clerk_id)
        UNION ALL
        SELECT p.course_id, 1
        FROM v JOIN forum_post_likes l ON l.created_at >= p_since AND l.created_at < v.whole_from
        JOIN forum_posts p ON p.id = l.post_id
        WHERE learnstore_visible(p.hidden_at, p.author_clerk_id)
        UNION ALL
        SELECT p.course_id, 1
        FROM v JOIN forum_reply_likes l ON l.created_at >= p_since AND l.created_at < v.whole_from
        JOIN forum_replies r ON r.id = l.reply_id JOIN forum_posts p ON p.id = r.post_id
        WHERE learnstore_visible(r.hidden_at, r.author_clerk_id) AND learnstore_visible(p.hidden_at, p.author_clerk_id)
        -- the whole hours' events that only the viewer's own hidden rows hide from everyone else:
        -- under the viewer's hidden posts, their likes, the replies the viewer sees and those replies'
        -- likes; the viewer's hidden replies on posts nobody hid, and their likes
        UNION ALL
        SELECT p.course_id, 1
        FROM v JOIN forum_posts p ON p.author_clerk_id = v.actor AND p.hidden_at IS NOT NULL
        WHERE NOT v.moderator AND p.created_at >= v.whole_from
        UNION ALL
        SELECT p.course_id, 1
        FROM v JOIN forum_posts p ON p.author_clerk_id = v.actor AND p.hidden_at IS NOT NULL
        JOIN forum_post_likes l ON l.post_id = p.id
        WHERE NOT v.moderator AND l.created_at >= v.whole_from
        UNION ALL
        SELECT p.course_id, 1
        FROM v JOIN forum_posts p ON p.author_clerk_id = v.actor AND p.hidden_at IS NOT NULL
        JOIN forum_replies r ON r.post_id = p.id
        WHERE NOT v.moderator AND r.created_at >= v.whole_from
          AND (r.hidden_at IS NULL OR r.author_clerk_id = v.actor)
        UNION ALL
        SELECT p.course_id, 1
        FROM v JOIN forum_posts p ON p.author_clerk_id = v.actor AND p.hidden_at IS NOT NULL
        JOIN forum_replies r ON r.post_id = p.id JOIN forum_reply_likes l ON l.reply_id = r.id
        WHERE NOT v.moderator AND l.created_at >= v.whole_from
          AND (r.hidden_at IS NULL OR r.author_clerk_id = v.actor)
        UNION ALL
        SELECT p.course_id, 1
        FROM v JOIN forum_replies r ON r.author_clerk_id = v.actor AND r.hidden_at IS NOT NULL
        JOIN forum_posts p ON p.id = r.post_id
        WHERE NOT v.moderator AND r.created_at >= v.whole_from AND p.hidden_at IS NULL
        UNION ALL
        SELECT p.course_id, 1
        FROM v JOIN forum_replies r ON r.author_clerk_id = v.actor AND r.hidden_at IS NOT NULL
        JOIN forum_posts p ON p.id = r.post_id JOIN forum_reply_likes l ON l.reply_id = r.id
        WHERE NOT v.moderator AND l.created_at >= v.whole_from AND p.hidden_at IS NULL
    )
    SELECT e.course_id, sum(e.n)::bigint FROM events e GROUP BY e.course_id HAVING sum(e.n) > 0;
END
$$;
REVOKE EXECUTE ON FUNCTION forum_course_activity_since(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION forum_course_activity_since(timestamptz) TO learnstore_app;
GRANT EXECUTE ON FUNCTION forum_activity_hour(timestamptz) TO learnstore_app;

-- ---- folding past hours' shards -----------------------------------------------------------------------
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

-- Anyone reads the rows (a course's public activity per hour, and how many hidden events there are,
-- no more than the feeds' counters tell); which things are hidden stays with learnstore_visible.
-- Nobody writes them under as_user: the triggers above do, and a row goes with its course.
GRANT SELECT ON forum_course_activity TO learnstore_app;
ALTER TABLE forum_course_activity ENABLE ROW LEVEL SECURITY;
CREATE POLICY forum_course_activity_anyone_select ON forum_course_activity FOR SELECT USING (true);
