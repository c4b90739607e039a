CREATE OR REPLACE FUNCTION forum_course_activity_since(p_since timestamptz)
RETURNS TABLE (course_id uuid, activity bigint)
LANGUAGE sql STABLE SET search_path = public, pg_temp
    SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off
BEGIN ATOMIC
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
END;
