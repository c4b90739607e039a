DROP TRIGGER courses_flag_forum_post_counts ON courses;
DROP FUNCTION courses_flag_forum_post_counts();
DROP TRIGGER forum_course_post_counts_count_platform_inserted ON forum_course_post_counts;
DROP TRIGGER forum_course_post_counts_count_platform_updated ON forum_course_post_counts;
DROP TRIGGER forum_course_post_counts_count_platform_deleted ON forum_course_post_counts;
DROP FUNCTION forum_course_post_counts_count_platform();
DROP TABLE forum_platform_post_counts;
CREATE OR REPLACE FUNCTION forum_course_post_counts_add(p_deltas jsonb, p_create boolean) RETURNS void
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    IF p_create AND NOT EXISTS (SELECT FROM jsonb_each(p_deltas) AS d
                                WHERE (d.value ->> 0)::bigint < 0 OR (d.value ->> 1)::bigint < 0) THEN
        INSERT INTO forum_course_post_counts AS n (course_id, visible_posts, hidden_posts)
        SELECT (d.key)::uuid, (d.value ->> 0)::bigint, (d.value ->> 1)::bigint
        FROM jsonb_each(p_deltas) AS d ORDER BY 1
        ON CONFLICT (course_id) DO UPDATE
            SET visible_posts = n.visible_posts + excluded.visible_posts,
                hidden_posts = n.hidden_posts + excluded.hidden_posts;
        RETURN;
    END IF;
    IF p_create THEN
        INSERT INTO forum_course_post_counts (course_id)
        SELECT (d.key)::uuid FROM jsonb_each(p_deltas) AS d ORDER BY 1
        ON CONFLICT (course_id) DO NOTHING;
    END IF;
    PERFORM FROM forum_course_post_counts n
    WHERE n.course_id IN (SELECT (d.key)::uuid FROM jsonb_each(p_deltas) AS d)
    ORDER BY n.course_id FOR NO KEY UPDATE;
    UPDATE forum_course_post_counts n
    SET visible_posts = n.visible_posts + (d.value ->> 0)::bigint,
        hidden_posts = n.hidden_posts + (d.value ->> 1)::bigint
    FROM jsonb_each(p_deltas) AS d
    WHERE n.course_id = (d.key)::uuid;
END
$$;

DROP FUNCTION forum_course_published(uuid);
ALTER TABLE forum_course_post_counts DROP COLUMN published;
