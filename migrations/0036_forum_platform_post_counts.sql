-- The platform's live forum posts, kept in 16 shards (forum_platform_post_counts), so that the
-- platform-wide feed's total reads 16 rows instead of one counter row per published course: 9,000
-- rows at the million benchmark scale, 9.9 ms of a page whose posts took 0.4 ms (docs/scaling.md).
--
-- Each course's counter row (forum_course_post_counts, 0025) now carries whether the course is
-- published, copied from courses.status by a trigger there; a statement trigger on the counters adds
-- the published rows' changes to a shard. Whatever changes a course's published counts (a post, a
-- hide, a tombstone, a publication, a deletion, check's repair) goes through the course's row, where
-- that course's writers already queue: none is lost or counted twice.
--
-- One transaction, fast at any size: ADD COLUMN with a constant default changes the catalog only,
-- and the backfill is one UPDATE of the counter rows of published courses (one per course with
-- posts), which the new trigger adds up into the shards. The counters' lock (ACCESS EXCLUSIVE, for
-- the ALTER) holds the forum's writers and feeds for that long: they wait, none is missed.
ALTER TABLE forum_course_post_counts ADD COLUMN published boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN forum_course_post_counts.published IS
    'Whether the course is published (copied from courses.status): the platform''s counts add these rows.';

CREATE FUNCTION forum_course_published(p_course_id uuid) RETURNS boolean
LANGUAGE sql STABLE SET search_path = public, pg_temp
RETURN coalesce((SELECT c.status = 'published' FROM courses c WHERE c.id = p_course_id), false);
REVOKE EXECUTE ON FUNCTION forum_course_published(uuid) FROM PUBLIC;

CREATE OR REPLACE FUNCTION forum_course_post_counts_add(p_deltas jsonb, p_create boolean) RETURNS void
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    IF p_create AND NOT EXISTS (SELECT FROM jsonb_each(p_deltas) AS d
                                WHERE (d.value ->> 0)::bigint < 0 OR (d.value ->> 1)::bigint < 0) THEN
        INSERT INTO forum_course_post_counts AS n (course_id, visible_posts, hidden_posts, published)
        SELECT (d.key)::uuid, (d.value ->> 0)::bigint, (d.value ->> 1)::bigint, forum_course_published((d.key)::uuid)
        FROM jsonb_each(p_deltas) AS d ORDER BY 1
        ON CONFLICT (course_id) DO UPDATE
            SET visible_posts = n.visible_posts + excluded.visible_posts,
                hidden_posts = n.hidden_posts + excluded.hidden_posts;
        RETURN;
    END IF;
    IF p_create THEN
        INSERT INTO forum_course_post_counts (course_id, published)
        SELECT (d.key)::uuid, forum_course_published((d.key)::uuid) FROM jsonb_each(p_deltas) AS d ORDER BY 1
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

CREATE TABLE forum_platform_post_counts (
    id            uuid        NOT NULL DEFAULT uuidv7(),
    shard         smallint    NOT NULL,
    visible_posts bigint      NOT NULL DEFAULT 0,
    hidden_posts  bigint      NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT forum_platform_post_counts_pkey PRIMARY KEY (id),
    CONSTRAINT forum_platform_post_counts_shard_key UNIQUE (shard),
    CONSTRAINT forum_platform_post_counts_shard_range CHECK (shard BETWEEN 0 AND 15)
);
COMMENT ON TABLE forum_platform_post_counts IS
    'A shard of the live forum posts of published courses: the platform-wide feed''s total sums all 16.';
COMMENT ON COLUMN forum_platform_post_counts.shard IS 'The backend (pg_backend_pid() & 15) that wrote the deltas: a sum of deltas, possibly negative alone.';
COMMENT ON COLUMN forum_platform_post_counts.visible_posts IS 'Live posts no moderator has hidden, in published courses.';
COMMENT ON COLUMN forum_platform_post_counts.hidden_posts IS 'Live posts a moderator has hidden, in published courses.';
CREATE TRIGGER forum_platform_post_counts_set_updated_at BEFORE UPDATE ON forum_platform_post_counts
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- AFTER INSERT, UPDATE and DELETE on forum_course_post_counts, per statement: the published rows'
-- new counts in and their old ones out, added to this backend's shard. A statement that changes no
-- published count (a draft course's post, updated_at alone) writes nothing. SECURITY DEFINER: the
-- course counters' writers are triggers and `learnstore check`, and nobody writes the platform's.
CREATE FUNCTION forum_course_post_counts_count_platform() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_visible bigint;
    v_hidden bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT coalesce(sum(n.visible_posts), 0), coalesce(sum(n.hidden_posts), 0) INTO v_visible, v_hidden
        FROM new_rows n WHERE n.published;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT -coalesce(sum(o.visible_posts), 0), -coalesce(sum(o.hidden_posts), 0) INTO v_visible, v_hidden
        FROM old_rows o WHERE o.published;
    ELSE
        SELECT coalesce(sum(x.visible_posts), 0), coalesce(sum(x.hidden_posts), 0) INTO v_visible, v_hidden
        FROM (SELECT n.visible_posts, n.hidden_posts FROM new_rows n WHERE n.published
              UNION ALL
              SELECT -o.visible_posts, -o.hidden_posts FROM old_rows o WHERE o.published) AS x;
    END IF;
    IF v_visible <> 0 OR v_hidden <> 0 THEN
        INSERT INTO forum_platform_post_counts AS t (shard, visible_posts, hidden_posts)
        VALUES ((pg_backend_pid() & 15)::smallint, v_visible, v_hidden)
        ON CONFLICT (shard) DO UPDATE
            SET visible_posts = t.visible_posts + excluded.visible_posts,
                hidden_posts = t.hidden_posts + excluded.hidden_posts;
    END IF;
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION forum_course_post_counts_count_platform() FROM PUBLIC;
CREATE TRIGGER forum_course_post_counts_count_platform_inserted AFTER INSERT ON forum_course_post_counts
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION forum_course_post_counts_count_platform();
CREATE TRIGGER forum_course_post_counts_count_platform_updated AFTER UPDATE ON forum_course_post_counts
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION forum_course_post_counts_count_platform();
CREATE TRIGGER forum_course_post_counts_count_platform_deleted AFTER DELETE ON forum_course_post_counts
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION forum_course_post_counts_count_platform();

-- A course published or unpublished: its counter row's flag, made with the row when the course has
-- none yet (an UPSERT, so a first post being counted at the same moment either made the row, which
-- this then updates, or waits for this one and finds the flag set: forum_course_published).
CREATE FUNCTION courses_flag_forum_post_counts() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    INSERT INTO forum_course_post_counts AS n (course_id, published)
    VALUES (NEW.id, NEW.status = 'published')
    ON CONFLICT (course_id) DO UPDATE SET published = excluded.published
        WHERE n.published IS DISTINCT FROM excluded.published;
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION courses_flag_forum_post_counts() FROM PUBLIC;
CREATE TRIGGER courses_flag_forum_post_counts AFTER UPDATE OF status ON courses
    FOR EACH ROW WHEN ((OLD.status = 'published') IS DISTINCT FROM (NEW.status = 'published'))
    EXECUTE FUNCTION courses_flag_forum_post_counts();

-- Anyone reads the shards (as the course counters: how many posts the platform has is no secret).
-- Nobody writes them under as_user: the trigger above does.
GRANT SELECT ON forum_platform_post_counts TO learnstore_app;
ALTER TABLE forum_platform_post_counts ENABLE ROW LEVEL SECURITY;
CREATE POLICY forum_platform_post_counts_anyone_select ON forum_platform_post_counts FOR SELECT USING (true);

-- The flags of the courses published now: the trigger above adds their counts to a shard. No course
-- changes status meanwhile: CREATE TRIGGER holds courses (SHARE ROW EXCLUSIVE) to this migration's
-- commit, when the trigger on courses takes over.
UPDATE forum_course_post_counts n SET published = true
FROM courses c
WHERE c.id = n.course_id AND c.status = 'published';
