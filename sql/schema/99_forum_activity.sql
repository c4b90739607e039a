-- A user's forum activity as derived state (issue 18 point 5; migration 0027, docs/forum-pages.md):
-- GetForumActivitySummary reads one counter row instead of counting every post, reply and like of
-- the user at read time. The rows of users active before 0027 are filled by
-- 0027_forum_activity_backfill, the indexes below built concurrently by 0027_forum_activity_indexes.
--
-- What counts is what the summary counted at read time (GetForumActivitySummary before 0027):
--   posts           the user's live (not deleted) posts;
--   replies         the user's live replies (on any post, a tombstone's too) whose post is visible;
--   likes given     the user's likes of live posts, and of live replies whose post is visible;
--   likes received  the likes of the user's live posts, and of their live replies whose post is visible;
-- where hidden content (a post's or a reply's hidden_at) is seen by its author and moderators only
-- (learnstore_visible). What a viewer sees therefore depends on who they are: each count is stored as
-- a moderator sees it (every hidden row counted), as everyone sees it (_public: no hidden row
-- involved), and as the user sees their own (_own: hidden rows of their own count, others' do not;
-- posts_own is posts). A third viewer also sees what involves their own hidden rows only: the read
-- adds it from their hidden posts and replies (the partial indexes below, a few rows per author).
--
-- Sharded as forum_post_view_counts is: each writer adds to one of up to 16 rows of a user (by its
-- transaction's id: concurrent transactions have consecutive ids, so 16 of them write 16 different
-- shards, where pids collide), so the likers of a popular author do not all queue on the author's one row
-- (bench/forum_activity_counter.py measured 16 likers of one author at a third of the throughput of
-- 16 likers of 16 authors with one row per user; docs/forum-pages.md). A count is the sum of the
-- user's rows; a shard may go below zero (a like added on one, removed on another), the sum never.

CREATE TABLE forum_user_activity (
    id                    uuid        NOT NULL DEFAULT uuidv7(),
    clerk_id              text        NOT NULL,
    shard                 smallint    NOT NULL DEFAULT 0,
    posts                 bigint      NOT NULL DEFAULT 0,
    posts_public          bigint      NOT NULL DEFAULT 0,
    replies               bigint      NOT NULL DEFAULT 0,
    replies_public        bigint      NOT NULL DEFAULT 0,
    replies_own           bigint      NOT NULL DEFAULT 0,
    likes_given           bigint      NOT NULL DEFAULT 0,
    likes_given_public    bigint      NOT NULL DEFAULT 0,
    likes_given_own       bigint      NOT NULL DEFAULT 0,
    likes_received        bigint      NOT NULL DEFAULT 0,
    likes_received_public bigint      NOT NULL DEFAULT 0,
    likes_received_own    bigint      NOT NULL DEFAULT 0,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT forum_user_activity_pkey PRIMARY KEY (id),
    CONSTRAINT forum_user_activity_clerk_shard_key UNIQUE (clerk_id, shard),
    -- A renamed user keeps their row; an erased one loses it (the triggers never write a user that
    -- is not there).
    CONSTRAINT forum_user_activity_clerk_id_fkey FOREIGN KEY (clerk_id)
        REFERENCES users (clerk_id) ON UPDATE CASCADE ON DELETE CASCADE,
    CONSTRAINT forum_user_activity_shard_range CHECK (shard BETWEEN 0 AND 15)
);
COMMENT ON TABLE forum_user_activity IS 'A shard of a user''s forum activity counts: the summary sums up to 16.';
COMMENT ON COLUMN forum_user_activity.shard IS 'The shard a writer adds to: its transaction''s id modulo 16.';
COMMENT ON COLUMN forum_user_activity.posts IS 'Live posts, hidden ones included (as moderators and the author see them).';
COMMENT ON COLUMN forum_user_activity.posts_public IS 'Live posts no moderator has hidden.';
COMMENT ON COLUMN forum_user_activity.replies IS 'Live replies, hidden ones and those on hidden posts included.';
COMMENT ON COLUMN forum_user_activity.replies_public IS 'Live replies, neither they nor their post hidden.';
COMMENT ON COLUMN forum_user_activity.replies_own IS 'Live replies as their author sees them: not on another''s hidden post.';
COMMENT ON COLUMN forum_user_activity.likes_given IS 'Likes of live posts and live replies, hidden ones included.';
COMMENT ON COLUMN forum_user_activity.likes_given_public IS 'Likes of live posts and replies, nothing liked hidden.';
COMMENT ON COLUMN forum_user_activity.likes_given_own IS 'Likes as the liker sees them: nothing liked hidden but their own.';
COMMENT ON COLUMN forum_user_activity.likes_received IS 'Likes of the user''s live posts and replies, hidden ones included.';
COMMENT ON COLUMN forum_user_activity.likes_received_public IS 'Likes of the user''s live posts and replies, nothing liked hidden.';
COMMENT ON COLUMN forum_user_activity.likes_received_own IS 'Likes received as the user sees them: not on another''s hidden post.';
CREATE TRIGGER forum_user_activity_set_updated_at BEFORE UPDATE ON forum_user_activity
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- ---- terms: what rows add to whom ----------------------------------------------------------------
-- The functions that read rows by the terms' keys plan with sequential scans, hash and merge joins
-- off: their row sets come from arrays and jsonb, which the planner takes for 100 rows each, and it
-- read all of forum_posts and users (a hash join) to find the one post and two users of a like (2.3
-- ms a like at the small scale, more with the tables). A term's rows are always found by key.
-- Each counted thing adds one term (clerk_id, metric, n, public, own): n to the moderators' count of
-- metric for clerk_id, to _public when public, to _own when own. A trigger takes a changed row's
-- terms out with its old state and puts them back with its new one (n = -1, +1), the rows around it
-- (likes, replies, the post) as they are now: what changes is exactly what the row's change changes.

-- Replies in the given states (p_*: one element per reply, the state of the reply and of its post),
-- with their likes as they are now: the reply to its author, each like to its liker and to the author.
CREATE FUNCTION forum_user_activity_reply_terms(
    p_ids uuid[], p_signs integer[], p_authors text[], p_hidden boolean[], p_live boolean[],
    p_post_authors text[], p_post_hidden boolean[]
) RETURNS TABLE (clerk_id text, metric text, n integer, public boolean, own boolean)
LANGUAGE sql STABLE SET search_path = public, pg_temp
    SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off
BEGIN ATOMIC
    WITH s AS (
        SELECT * FROM unnest(p_ids, p_signs, p_authors, p_hidden, p_live, p_post_authors, p_post_hidden)
            AS s (id, sign, author, hidden, live, post_author, post_hidden)
        WHERE s.live
    )
    SELECT s.author, 'replies', s.sign, NOT s.hidden AND NOT s.post_hidden,
           NOT s.post_hidden OR coalesce(s.post_author = s.author, false)
    FROM s
    UNION ALL
    SELECT l.user_clerk_id, 'likes_given', s.sign, NOT s.hidden AND NOT s.post_hidden,
           (NOT s.hidden OR coalesce(s.author = l.user_clerk_id, false))
           AND (NOT s.post_hidden OR coalesce(s.post_author = l.user_clerk_id, false))
    FROM s JOIN forum_reply_likes l ON l.reply_id = s.id
    UNION ALL
    SELECT s.author, 'likes_received', s.sign * count(*)::integer, NOT s.hidden AND NOT s.post_hidden,
           NOT s.post_hidden OR coalesce(s.post_author = s.author, false)
    FROM s JOIN forum_reply_likes l ON l.reply_id = s.id
    GROUP BY s.id, s.sign, s.author, s.hidden, s.post_author, s.post_hidden;
END;
REVOKE EXECUTE ON FUNCTION forum_user_activity_reply_terms(uuid[], integer[], text[], boolean[], boolean[], text[], boolean[]) FROM PUBLIC;

-- Posts in the given states, with their likes and replies (and the replies' likes) as they are now.
-- A reply counts whether its post is live or a tombstone: only the post's own terms and its likes
-- need it live.
CREATE FUNCTION forum_user_activity_post_terms(
    p_ids uuid[], p_signs integer[], p_authors text[], p_hidden boolean[], p_live boolean[]
) RETURNS TABLE (clerk_id text, metric text, n integer, public boolean, own boolean)
LANGUAGE sql STABLE SET search_path = public, pg_temp
    SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off
BEGIN ATOMIC
    WITH s AS (
        SELECT * FROM unnest(p_ids, p_signs, p_authors, p_hidden, p_live) AS s (id, sign, author, hidden, live)
    ), replies AS (
        SELECT array_agg(r.id) AS ids, array_agg(s.sign) AS signs, array_agg(r.author_clerk_id) AS authors,
               array_agg(r.hidden_at IS NOT NULL) AS hidden, array_agg(r.deleted_at IS NULL) AS live,
               array_agg(s.author) AS post_authors, array_agg(s.hidden) AS post_hidden
        FROM s JOIN forum_replies r ON r.post_id = s.id
    )
    SELECT s.author, 'posts', s.sign, NOT s.hidden, true FROM s WHERE s.live
    UNION ALL
    SELECT l.user_clerk_id, 'likes_given', s.sign, NOT s.hidden, NOT s.hidden OR coalesce(s.author = l.user_clerk_id, false)
    FROM s JOIN forum_post_likes l ON l.post_id = s.id WHERE s.live
    UNION ALL
    SELECT s.author, 'likes_received', s.sign * count(*)::integer, NOT s.hidden, true
    FROM s JOIN forum_post_likes l ON l.post_id = s.id WHERE s.live
    GROUP BY s.id, s.sign, s.author, s.hidden
    UNION ALL
    SELECT t.clerk_id, t.metric, t.n, t.public, t.own
    FROM replies, forum_user_activity_reply_terms(replies.ids, replies.signs, replies.authors, replies.hidden,
                                                  replies.live, replies.post_authors, replies.post_hidden) AS t
    WHERE replies.ids IS NOT NULL;
END;
REVOKE EXECUTE ON FUNCTION forum_user_activity_post_terms(uuid[], integer[], text[], boolean[], boolean[]) FROM PUBLIC;

-- ---- adding the terms -------------------------------------------------------------------------------
-- Sums the terms per user and adds them to the users' rows of this transaction's shard, in clerk_id order
-- (two statements that touch several users cannot deadlock): one UPSERT that either inserts the
-- shard's row or adds to it under its row lock. Additions commute, so concurrent writers lose none.
-- A user is written only if there: an erased user's terms (their likes going, their posts' author
-- set NULL) have nowhere to go, and need none.
CREATE FUNCTION forum_user_activity_add(p_terms jsonb) RETURNS void
LANGUAGE plpgsql SET search_path = public, pg_temp
    SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off AS $$
DECLARE
    v_deltas jsonb;
BEGIN
    SELECT jsonb_object_agg(d.clerk_id, jsonb_build_array(
               d.posts, d.posts_public, d.replies, d.replies_public, d.replies_own, d.likes_given,
               d.likes_given_public, d.likes_given_own, d.likes_received, d.likes_received_public,
               d.likes_received_own)) INTO v_deltas
    FROM (SELECT t.clerk_id,
                 coalesce(sum(t.n) FILTER (WHERE t.metric = 'posts'), 0) AS posts,
                 coalesce(sum(t.n) FILTER (WHERE t.metric = 'posts' AND t.public), 0) AS posts_public,
                 coalesce(sum(t.n) FILTER (WHERE t.metric = 'replies'), 0) AS replies,
                 coalesce(sum(t.n) FILTER (WHERE t.metric = 'replies' AND t.public), 0) AS replies_public,
                 coalesce(sum(t.n) FILTER (WHERE t.metric = 'replies' AND t.own), 0) AS replies_own,
                 coalesce(sum(t.n) FILTER (WHERE t.metric = 'likes_given'), 0) AS likes_given,
                 coalesce(sum(t.n) FILTER (WHERE t.metric = 'likes_given' AND t.public), 0) AS likes_given_public,
                 coalesce(sum(t.n) FILTER (WHERE t.metric = 'likes_given' AND t.own), 0) AS likes_given_own,
                 coalesce(sum(t.n) FILTER (WHERE t.metric = 'likes_received'), 0) AS likes_received,
                 coalesce(sum(t.n) FILTER (WHERE t.metric = 'likes_received' AND t.public), 0) AS likes_received_public,
                 coalesce(sum(t.n) FILTER (WHERE t.metric = 'likes_received' AND t.own), 0) AS likes_received_own
          FROM jsonb_to_recordset(p_terms) AS t (clerk_id text, metric text, n integer, public boolean, own boolean)
          WHERE t.clerk_id IS NOT NULL
          GROUP BY t.clerk_id) AS d
    WHERE (d.posts, d.posts_public, d.replies, d.replies_public, d.replies_own, d.likes_given,
           d.likes_given_public, d.likes_given_own, d.likes_received, d.likes_received_public,
           d.likes_received_own) <> (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    IF v_deltas IS NULL THEN
        RETURN;
    END IF;
    INSERT INTO forum_user_activity AS a (
        clerk_id, shard, posts, posts_public, replies, replies_public, replies_own, likes_given, likes_given_public,
        likes_given_own, likes_received, likes_received_public, likes_received_own)
    SELECT u.clerk_id, (pg_current_xact_id()::text::bigint % 16)::smallint, (d.value ->> 0)::bigint, (d.value ->> 1)::bigint,
           (d.value ->> 2)::bigint, (d.value ->> 3)::bigint, (d.value ->> 4)::bigint, (d.value ->> 5)::bigint,
           (d.value ->> 6)::bigint, (d.value ->> 7)::bigint, (d.value ->> 8)::bigint, (d.value ->> 9)::bigint,
           (d.value ->> 10)::bigint
    FROM jsonb_each(v_deltas) AS d JOIN users u ON u.clerk_id = d.key
    ORDER BY 1
    ON CONFLICT (clerk_id, shard) DO UPDATE
        SET posts = a.posts + excluded.posts, posts_public = a.posts_public + excluded.posts_public,
            replies = a.replies + excluded.replies, replies_public = a.replies_public + excluded.replies_public,
            replies_own = a.replies_own + excluded.replies_own,
            likes_given = a.likes_given + excluded.likes_given,
            likes_given_public = a.likes_given_public + excluded.likes_given_public,
            likes_given_own = a.likes_given_own + excluded.likes_given_own,
            likes_received = a.likes_received + excluded.likes_received,
            likes_received_public = a.likes_received_public + excluded.likes_received_public,
            likes_received_own = a.likes_received_own + excluded.likes_received_own;
END
$$;
REVOKE EXECUTE ON FUNCTION forum_user_activity_add(jsonb) FROM PUBLIC;

-- ---- the triggers -----------------------------------------------------------------------------------
-- SECURITY DEFINER: the writer may not write the counters (nor read others' likes under as_user).
-- Races: a term depends on the state of the rows around the changed one (a like's on its post's and
-- reply's hidden_at), so each trigger takes FOR SHARE locks on the posts and replies it reads the state
-- of, in id order: a moderator hiding a post (its UPDATE's row lock) and a like of it are ordered,
-- and whichever comes second reads what the first committed (each statement here takes a new snapshot).
-- Only a change of what counts is a change: hidden_at, deleted_at, the author set NULL (an erasure),
-- the post moved; an edit writes nothing. A renamed author (clerk_id to clerk_id, ON UPDATE CASCADE)
-- moves no term: their counter row is renamed with them.
-- Deletions are counted BEFORE the row goes, per row: a post's likes and replies are still there
-- then (ON DELETE CASCADE takes them after), and the likes and replies that go with it find their
-- post gone and add nothing.

CREATE FUNCTION forum_posts_activity_inserted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM forum_user_activity_add((
        SELECT jsonb_agg(t) FROM forum_user_activity_post_terms(
            ARRAY(SELECT n.id FROM new_rows n ORDER BY n.id), ARRAY(SELECT 1 FROM new_rows n ORDER BY n.id),
            ARRAY(SELECT n.author_clerk_id FROM new_rows n ORDER BY n.id),
            ARRAY(SELECT n.hidden_at IS NOT NULL FROM new_rows n ORDER BY n.id),
            ARRAY(SELECT n.deleted_at IS NULL FROM new_rows n ORDER BY n.id)) AS t));
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION forum_posts_activity_inserted() FROM PUBLIC;

CREATE FUNCTION forum_posts_activity_updated() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_ids uuid[];
    v_signs integer[];
    v_authors text[];
    v_hidden boolean[];
    v_live boolean[];
BEGIN
    SELECT array_agg(s.id), array_agg(s.sign), array_agg(s.author), array_agg(s.hidden), array_agg(s.live)
    INTO v_ids, v_signs, v_authors, v_hidden, v_live
    FROM (SELECT o.id, -1 AS sign, o.author_clerk_id AS author, o.hidden_at IS NOT NULL AS hidden,
                 o.deleted_at IS NULL AS live
          FROM old_rows o JOIN new_rows n ON n.id = o.id
          WHERE (o.hidden_at IS NULL) <> (n.hidden_at IS NULL) OR (o.deleted_at IS NULL) <> (n.deleted_at IS NULL)
             OR (o.author_clerk_id IS NULL) <> (n.author_clerk_id IS NULL)
          UNION ALL
          SELECT n.id, 1, n.author_clerk_id, n.hidden_at IS NOT NULL, n.deleted_at IS NULL
          FROM old_rows o JOIN new_rows n ON n.id = o.id
          WHERE (o.hidden_at IS NULL) <> (n.hidden_at IS NULL) OR (o.deleted_at IS NULL) <> (n.deleted_at IS NULL)
             OR (o.author_clerk_id IS NULL) <> (n.author_clerk_id IS NULL)) AS s;
    IF v_ids IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM forum_user_activity_add((
        SELECT jsonb_agg(t) FROM forum_user_activity_post_terms(v_ids, v_signs, v_authors, v_hidden, v_live) AS t));
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION forum_posts_activity_updated() FROM PUBLIC;

CREATE FUNCTION forum_posts_activity_deleting() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM forum_user_activity_add((
        SELECT jsonb_agg(t) FROM forum_user_activity_post_terms(
            ARRAY[OLD.id], ARRAY[-1], ARRAY[OLD.author_clerk_id], ARRAY[OLD.hidden_at IS NOT NULL],
            ARRAY[OLD.deleted_at IS NULL]) AS t));
    RETURN OLD;
END
$$;
REVOKE EXECUTE ON FUNCTION forum_posts_activity_deleting() FROM PUBLIC;

CREATE TRIGGER forum_posts_activity_inserted AFTER INSERT ON forum_posts
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION forum_posts_activity_inserted();
CREATE TRIGGER forum_posts_activity_updated AFTER UPDATE ON forum_posts
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION forum_posts_activity_updated();
CREATE TRIGGER forum_posts_activity_deleting BEFORE DELETE ON forum_posts
    FOR EACH ROW EXECUTE FUNCTION forum_posts_activity_deleting();

-- Replies: in the given states (a jsonb array of {id, sign, author, hidden, live, post_id}), on their
-- posts as they are now (locked FOR SHARE first).
CREATE FUNCTION forum_replies_activity_add(p_states jsonb) RETURNS void
LANGUAGE plpgsql SET search_path = public, pg_temp
    SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off AS $$
BEGIN
    PERFORM FROM forum_posts p
    WHERE p.id IN (SELECT (e ->> 'post_id')::uuid FROM jsonb_array_elements(p_states) AS e)
    ORDER BY p.id FOR SHARE;
    PERFORM forum_user_activity_add((
        SELECT jsonb_agg(t) FROM (
            SELECT array_agg(s.id) AS ids, array_agg(s.sign) AS signs, array_agg(s.author) AS authors,
                   array_agg(s.hidden) AS hidden, array_agg(s.live) AS live,
                   array_agg(p.author_clerk_id) AS post_authors, array_agg(p.hidden_at IS NOT NULL) AS post_hidden
            FROM jsonb_to_recordset(p_states) AS s (id uuid, sign integer, author text, hidden boolean, live boolean, post_id uuid)
            JOIN forum_posts p ON p.id = s.post_id
        ) AS a, forum_user_activity_reply_terms(a.ids, a.signs, a.authors, a.hidden, a.live, a.post_authors,
                                                a.post_hidden) AS t
        WHERE a.ids IS NOT NULL));
END
$$;
REVOKE EXECUTE ON FUNCTION forum_replies_activity_add(jsonb) FROM PUBLIC;

CREATE FUNCTION forum_replies_activity_inserted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM forum_replies_activity_add((
        SELECT jsonb_agg(jsonb_build_object('id', n.id, 'sign', 1, 'author', n.author_clerk_id,
                                            'hidden', n.hidden_at IS NOT NULL, 'live', n.deleted_at IS NULL,
                                            'post_id', n.post_id))
        FROM new_rows n WHERE n.deleted_at IS NULL AND n.author_clerk_id IS NOT NULL));
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION forum_replies_activity_inserted() FROM PUBLIC;

CREATE FUNCTION forum_replies_activity_updated() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_states jsonb;
BEGIN
    SELECT jsonb_agg(s.state) INTO v_states
    FROM old_rows o JOIN new_rows n ON n.id = o.id,
         LATERAL (VALUES (jsonb_build_object('id', o.id, 'sign', -1, 'author', o.author_clerk_id,
                                             'hidden', o.hidden_at IS NOT NULL, 'live', o.deleted_at IS NULL,
                                             'post_id', o.post_id)),
                         (jsonb_build_object('id', n.id, 'sign', 1, 'author', n.author_clerk_id,
                                             'hidden', n.hidden_at IS NOT NULL, 'live', n.deleted_at IS NULL,
                                             'post_id', n.post_id))) AS s (state)
    WHERE (o.hidden_at IS NULL) <> (n.hidden_at IS NULL) OR (o.deleted_at IS NULL) <> (n.deleted_at IS NULL)
       OR (o.author_clerk_id IS NULL) <> (n.author_clerk_id IS NULL) OR o.post_id <> n.post_id;
    IF v_states IS NOT NULL THEN
        PERFORM forum_replies_activity_add(v_states);
    END IF;
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION forum_replies_activity_updated() FROM PUBLIC;

CREATE FUNCTION forum_replies_activity_deleting() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM forum_replies_activity_add(jsonb_build_array(jsonb_build_object(
        'id', OLD.id, 'sign', -1, 'author', OLD.author_clerk_id, 'hidden', OLD.hidden_at IS NOT NULL,
        'live', OLD.deleted_at IS NULL, 'post_id', OLD.post_id)));
    RETURN OLD;
END
$$;
REVOKE EXECUTE ON FUNCTION forum_replies_activity_deleting() FROM PUBLIC;

CREATE TRIGGER forum_replies_activity_inserted AFTER INSERT ON forum_replies
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION forum_replies_activity_inserted();
CREATE TRIGGER forum_replies_activity_updated AFTER UPDATE ON forum_replies
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION forum_replies_activity_updated();
CREATE TRIGGER forum_replies_activity_deleting BEFORE DELETE ON forum_replies
    FOR EACH ROW EXECUTE FUNCTION forum_replies_activity_deleting();

-- Likes: a like (sign +1 new, -1 removed) of a live post adds to its liker's likes given and its
-- author's likes received, as the post is now; of a live reply, as the reply and its post are now.
-- A like whose post or reply is gone was counted out with it.
CREATE FUNCTION forum_post_likes_activity(p_likes jsonb) RETURNS void
LANGUAGE plpgsql SET search_path = public, pg_temp
    SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off AS $$
BEGIN
    PERFORM FROM forum_posts p
    WHERE p.id IN (SELECT (e ->> 'post_id')::uuid FROM jsonb_array_elements(p_likes) AS e)
    ORDER BY p.id FOR SHARE;
    PERFORM forum_user_activity_add((
        SELECT jsonb_agg(t) FROM (
            SELECT l.user_clerk_id AS clerk_id, 'likes_given' AS metric, l.sign AS n, p.hidden_at IS NULL AS public,
                   p.hidden_at IS NULL OR coalesce(p.author_clerk_id = l.user_clerk_id, false) AS own
            FROM jsonb_to_recordset(p_likes) AS l (post_id uuid, user_clerk_id text, sign integer)
            JOIN forum_posts p ON p.id = l.post_id WHERE p.deleted_at IS NULL
            UNION ALL
            SELECT p.author_clerk_id, 'likes_received', l.sign, p.hidden_at IS NULL, true
            FROM jsonb_to_recordset(p_likes) AS l (post_id uuid, user_clerk_id text, sign integer)
            JOIN forum_posts p ON p.id = l.post_id WHERE p.deleted_at IS NULL
        ) AS t));
END
$$;
REVOKE EXECUTE ON FUNCTION forum_post_likes_activity(jsonb) FROM PUBLIC;

CREATE FUNCTION forum_reply_likes_activity(p_likes jsonb) RETURNS void
LANGUAGE plpgsql SET search_path = public, pg_temp
    SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off AS $$
BEGIN
    -- the replies first, then their posts: a hide takes one of them, never both
    PERFORM FROM forum_replies r
    WHERE r.id IN (SELECT (e ->> 'reply_id')::uuid FROM jsonb_array_elements(p_likes) AS e)
    ORDER BY r.id FOR SHARE;
    PERFORM FROM forum_posts p
    WHERE p.id IN (SELECT r.post_id FROM forum_replies r
                   WHERE r.id IN (SELECT (e ->> 'reply_id')::uuid FROM jsonb_array_elements(p_likes) AS e))
    ORDER BY p.id FOR SHARE;
    PERFORM forum_user_activity_add((
        SELECT jsonb_agg(t) FROM (
            SELECT l.user_clerk_id AS clerk_id, 'likes_given' AS metric, l.sign AS n,
                   r.hidden_at IS NULL AND p.hidden_at IS NULL AS public,
                   (r.hidden_at IS NULL OR coalesce(r.author_clerk_id = l.user_clerk_id, false))
                   AND (p.hidden_at IS NULL OR coalesce(p.author_clerk_id = l.user_clerk_id, false)) AS own
            FROM jsonb_to_recordset(p_likes) AS l (reply_id uuid, user_clerk_id text, sign integer)
            JOIN forum_replies r ON r.id = l.reply_id JOIN forum_posts p ON p.id = r.post_id
            WHERE r.deleted_at IS NULL
            UNION ALL
            SELECT r.author_clerk_id, 'likes_received', l.sign, r.hidden_at IS NULL AND p.hidden_at IS NULL,
                   p.hidden_at IS NULL OR coalesce(p.author_clerk_id = r.author_clerk_id, false)
            FROM jsonb_to_recordset(p_likes) AS l (reply_id uuid, user_clerk_id text, sign integer)
            JOIN forum_replies r ON r.id = l.reply_id JOIN forum_posts p ON p.id = r.post_id
            WHERE r.deleted_at IS NULL
        ) AS t));
END
$$;
REVOKE EXECUTE ON FUNCTION forum_reply_likes_activity(jsonb) FROM PUBLIC;

CREATE FUNCTION forum_post_likes_activity_inserted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM forum_post_likes_activity((SELECT jsonb_agg(jsonb_build_object(
        'post_id', n.post_id, 'user_clerk_id', n.user_clerk_id, 'sign', 1)) FROM new_rows n));
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION forum_post_likes_activity_inserted() FROM PUBLIC;
CREATE FUNCTION forum_post_likes_activity_deleted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM forum_post_likes_activity((SELECT jsonb_agg(jsonb_build_object(
        'post_id', o.post_id, 'user_clerk_id', o.user_clerk_id, 'sign', -1)) FROM old_rows o));
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION forum_post_likes_activity_deleted() FROM PUBLIC;
CREATE FUNCTION forum_reply_likes_activity_inserted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM forum_reply_likes_activity((SELECT jsonb_agg(jsonb_build_object(
        'reply_id', n.reply_id, 'user_clerk_id', n.user_clerk_id, 'sign', 1)) FROM new_rows n));
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION forum_reply_likes_activity_inserted() FROM PUBLIC;
CREATE FUNCTION forum_reply_likes_activity_deleted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM forum_reply_likes_activity((SELECT jsonb_agg(jsonb_build_object(
        'reply_id', o.reply_id, 'user_clerk_id', o.user_clerk_id, 'sign', -1)) FROM old_rows o));
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION forum_reply_likes_activity_deleted() FROM PUBLIC;

-- A like is never moved to another post or reply (a renamed liker's is renamed, which counts the
-- same): inserts and deletes are all there is to count.
CREATE TRIGGER forum_post_likes_activity_inserted AFTER INSERT ON forum_post_likes
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION forum_post_likes_activity_inserted();
CREATE TRIGGER forum_post_likes_activity_deleted AFTER DELETE ON forum_post_likes
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION forum_post_likes_activity_deleted();
CREATE TRIGGER forum_reply_likes_activity_inserted AFTER INSERT ON forum_reply_likes
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION forum_reply_likes_activity_inserted();
CREATE TRIGGER forum_reply_likes_activity_deleted AFTER DELETE ON forum_reply_likes
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION forum_reply_likes_activity_deleted();

-- ---- recomputing ------------------------------------------------------------------------------------
-- The counts of the given users from the base rows: what learnstore check compares and repairs, and
-- what 0027_forum_activity_backfill writes. By each user's own rows (the author and liker indexes).
CREATE FUNCTION forum_user_activity_expected(p_clerk_ids text[])
RETURNS TABLE (clerk_id text, posts bigint, posts_public bigint, replies bigint, replies_public bigint,
               replies_own bigint, likes_given bigint, likes_given_public bigint, likes_given_own bigint,
               likes_received bigint, likes_received_public bigint, likes_received_own bigint)
LANGUAGE sql STABLE SET search_path = public, pg_temp
BEGIN ATOMIC
    SELECT k.id,
           ps.n, ps.public, rs.n, rs.public, rs.own,
           pl.n + rl.n, pl.public + rl.public, pl.own + rl.own,
           pr.n + rr.n, pr.public + rr.public, pr.n + rr.own
    FROM unnest(p_clerk_ids) AS k (id)
    CROSS JOIN LATERAL (
        SELECT count(*) AS n, count(*) FILTER (WHERE p.hidden_at IS NULL) AS public
        FROM forum_posts p WHERE p.author_clerk_id = k.id AND p.deleted_at IS NULL) AS ps
    CROSS JOIN LATERAL (
        SELECT count(*) AS n, count(*) FILTER (WHERE r.hidden_at IS NULL AND p.hidden_at IS NULL) AS public,
               count(*) FILTER (WHERE p.hidden_at IS NULL OR p.author_clerk_id = k.id) AS own
        FROM forum_replies r JOIN forum_posts p ON p.id = r.post_id
        WHERE r.author_clerk_id = k.id AND r.deleted_at IS NULL) AS rs
    CROSS JOIN LATERAL (
        SELECT count(*) AS n, count(*) FILTER (WHERE p.hidden_at IS NULL) AS public,
               count(*) FILTER (WHERE p.hidden_at IS NULL OR p.author_clerk_id = k.id) AS own
        FROM forum_post_likes l JOIN forum_posts p ON p.id = l.post_id
        WHERE l.user_clerk_id = k.id AND p.deleted_at IS NULL) AS pl
    CROSS JOIN LATERAL (
        SELECT count(*) AS n, count(*) FILTER (WHERE r.hidden_at IS NULL AND p.hidden_at IS NULL) AS public,
               count(*) FILTER (WHERE (r.hidden_at IS NULL OR r.author_clerk_id = k.id)
                                AND (p.hidden_at IS NULL OR p.author_clerk_id = k.id)) AS own
        FROM forum_reply_likes l JOIN forum_replies r ON r.id = l.reply_id JOIN forum_posts p ON p.id = r.post_id
        WHERE l.user_clerk_id = k.id AND r.deleted_at IS NULL) AS rl
    CROSS JOIN LATERAL (
        SELECT coalesce(sum((SELECT count(*) FROM forum_post_likes l WHERE l.post_id = p.id)), 0)::bigint AS n,
               coalesce(sum((SELECT count(*) FROM forum_post_likes l WHERE l.post_id = p.id))
                        FILTER (WHERE p.hidden_at IS NULL), 0)::bigint AS public
        FROM forum_posts p WHERE p.author_clerk_id = k.id AND p.deleted_at IS NULL) AS pr
    CROSS JOIN LATERAL (
        SELECT coalesce(sum(c.likes), 0)::bigint AS n,
               coalesce(sum(c.likes) FILTER (WHERE c.rh IS NULL AND c.ph IS NULL), 0)::bigint AS public,
               coalesce(sum(c.likes) FILTER (WHERE c.ph IS NULL OR c.pa = k.id), 0)::bigint AS own
        FROM (SELECT r.hidden_at AS rh, p.hidden_at AS ph, p.author_clerk_id AS pa,
                     (SELECT count(*) FROM forum_reply_likes l WHERE l.reply_id = r.id) AS likes
              FROM forum_replies r JOIN forum_posts p ON p.id = r.post_id
              WHERE r.author_clerk_id = k.id AND r.deleted_at IS NULL) AS c) AS rr;
END;
REVOKE EXECUTE ON FUNCTION forum_user_activity_expected(text[]) FROM PUBLIC;

-- Sets the given users' counts to their recomputed ones: shard 0 made first if missing, every shard
-- there locked in (clerk_id, shard) order, then, in a later statement and one snapshot, shard 0 set to
-- the count and every other shard to zero. READ COMMITTED: a writer waiting on a lock adds its term
-- after (its rows were not counted); one that made a new shard meanwhile either committed before the
-- snapshot (its rows counted, its shard zeroed) or did not (neither). What learnstore check's repair
-- and the backfill run, one short transaction per batch.
CREATE FUNCTION forum_user_activity_recount(p_clerk_ids text[]) RETURNS void
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    INSERT INTO forum_user_activity (clerk_id)
    SELECT u.clerk_id FROM users u WHERE u.clerk_id = ANY (p_clerk_ids) ORDER BY 1
    ON CONFLICT (clerk_id, shard) DO NOTHING;
    PERFORM FROM forum_user_activity a WHERE a.clerk_id = ANY (p_clerk_ids)
    ORDER BY a.clerk_id, a.shard FOR NO KEY UPDATE;
    UPDATE forum_user_activity a
    SET posts = CASE WHEN a.shard = 0 THEN e.posts ELSE 0 END,
        posts_public = CASE WHEN a.shard = 0 THEN e.posts_public ELSE 0 END,
        replies = CASE WHEN a.shard = 0 THEN e.replies ELSE 0 END,
        replies_public = CASE WHEN a.shard = 0 THEN e.replies_public ELSE 0 END,
        replies_own = CASE WHEN a.shard = 0 THEN e.replies_own ELSE 0 END,
        likes_given = CASE WHEN a.shard = 0 THEN e.likes_given ELSE 0 END,
        likes_given_public = CASE WHEN a.shard = 0 THEN e.likes_given_public ELSE 0 END,
        likes_given_own = CASE WHEN a.shard = 0 THEN e.likes_given_own ELSE 0 END,
        likes_received = CASE WHEN a.shard = 0 THEN e.likes_received ELSE 0 END,
        likes_received_public = CASE WHEN a.shard = 0 THEN e.likes_received_public ELSE 0 END,
        likes_received_own = CASE WHEN a.shard = 0 THEN e.likes_received_own ELSE 0 END
    FROM forum_user_activity_expected(p_clerk_ids) AS e
    WHERE a.clerk_id = e.clerk_id;
END
$$;
REVOKE EXECUTE ON FUNCTION forum_user_activity_recount(text[]) FROM PUBLIC;

-- ---- reading ----------------------------------------------------------------------------------------
-- What a third viewer adds: the things of the user's that only the viewer's own hidden posts and
-- replies hide from everyone else (GetForumActivitySummary), found from those few rows.
CREATE INDEX forum_posts_hidden_by_author_idx ON forum_posts (author_clerk_id) WHERE hidden_at IS NOT NULL;
CREATE INDEX forum_replies_hidden_by_author_idx ON forum_replies (author_clerk_id) WHERE hidden_at IS NOT NULL;

-- Anyone reads the rows (together a user's public counts and how many hidden things there are, no
-- more than the feeds' counters tell); which things are hidden stays with learnstore_visible.
-- Nobody writes them under as_user: the triggers above do, and a row goes with its user.
GRANT SELECT ON forum_user_activity TO learnstore_app;
ALTER TABLE forum_user_activity ENABLE ROW LEVEL SECURITY;
CREATE POLICY forum_user_activity_anyone_select ON forum_user_activity FOR SELECT USING (true);
