-- Forum search and feed totals (issue 18 point 5; migration 0025, docs/forum-pages.md): stored search
-- documents of posts and replies with their GIN indexes (search ranks from them instead of parsing
-- each match's text again), and a per-course counter of live posts that the feeds' totals sum. The
-- documents of rows written before 0025 are filled by 0025_forum_search_backfill, the indexes built
-- concurrently by 0025_forum_search_indexes.

-- ---- stored search documents -----------------------------------------------------------------------
ALTER TABLE forum_posts ADD COLUMN search_document tsvector;
ALTER TABLE forum_replies ADD COLUMN search_document tsvector;
COMMENT ON COLUMN forum_posts.search_document IS 'The post''s searchable document, forum_post_document(title, body), kept by a trigger.';
COMMENT ON COLUMN forum_replies.search_document IS 'The reply''s searchable document, to_tsvector(''simple'', body), kept by a trigger.';

-- BEFORE INSERT and BEFORE UPDATE OF the text: the document follows the text it is made of, on every
-- path. learnstore_app may not write the column (its grants name the text columns only).
CREATE FUNCTION forum_posts_set_search_document() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    NEW.search_document := forum_post_document(NEW.title, NEW.body);
    RETURN NEW;
END
$$;
CREATE FUNCTION forum_replies_set_search_document() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    NEW.search_document := to_tsvector('simple'::regconfig, NEW.body);
    RETURN NEW;
END
$$;
CREATE TRIGGER forum_posts_search_document BEFORE INSERT OR UPDATE OF title, body ON forum_posts
    FOR EACH ROW EXECUTE FUNCTION forum_posts_set_search_document();
CREATE TRIGGER forum_replies_search_document BEFORE INSERT OR UPDATE OF body ON forum_replies
    FOR EACH ROW EXECUTE FUNCTION forum_replies_set_search_document();

-- A change of the document alone (the backfill, a repair by learnstore check) is not an edit:
-- updated_at stays. An edit of the text changes both and still moves it.
DROP TRIGGER forum_posts_set_updated_at ON forum_posts;
CREATE TRIGGER forum_posts_set_updated_at BEFORE UPDATE ON forum_posts
    FOR EACH ROW WHEN (OLD.search_document IS NOT DISTINCT FROM NEW.search_document
                       OR OLD.title IS DISTINCT FROM NEW.title OR OLD.body IS DISTINCT FROM NEW.body)
    EXECUTE FUNCTION set_updated_at();
DROP TRIGGER forum_replies_set_updated_at ON forum_replies;
CREATE TRIGGER forum_replies_set_updated_at BEFORE UPDATE ON forum_replies
    FOR EACH ROW WHEN (OLD.search_document IS NOT DISTINCT FROM NEW.search_document
                       OR OLD.body IS DISTINCT FROM NEW.body)
    EXECUTE FUNCTION set_updated_at();

-- The forum's reads are page-sized (a feed page, a search's 1,001 newest matches): a parallel plan's
-- workers took longer to start (10-17 ms each on the 2-core benchmark machine) than the statement
-- takes without them (forum search about three times as long with them), so no scan of these
-- tables is parallel.
ALTER TABLE forum_posts SET (parallel_workers = 0);
ALTER TABLE forum_replies SET (parallel_workers = 0);

-- ---- live posts per course ---------------------------------------------------------------------------
-- A course's live (not deleted) posts, visible (not hidden) and hidden apart: the feeds' totals sum
-- them (published courses only, decided at read time) instead of counting every post. Kept by the
-- statement triggers below; a course without a row has none.
CREATE TABLE forum_course_post_counts (
    id            uuid        NOT NULL DEFAULT uuidv7(),
    course_id     uuid        NOT NULL,
    visible_posts bigint      NOT NULL DEFAULT 0,
    hidden_posts  bigint      NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    published     boolean     NOT NULL DEFAULT false,
    CONSTRAINT forum_course_post_counts_pkey PRIMARY KEY (id),
    CONSTRAINT forum_course_post_counts_course_id_key UNIQUE (course_id),
    CONSTRAINT forum_course_post_counts_course_id_fkey FOREIGN KEY (course_id) REFERENCES courses (id) ON DELETE CASCADE,
    CONSTRAINT forum_course_post_counts_visible_posts_non_negative CHECK (visible_posts >= 0),
    CONSTRAINT forum_course_post_counts_hidden_posts_non_negative CHECK (hidden_posts >= 0)
);
COMMENT ON TABLE forum_course_post_counts IS 'A course''s live forum posts, visible and hidden: what the feeds'' totals sum.';
COMMENT ON COLUMN forum_course_post_counts.visible_posts IS 'Live posts no moderator has hidden.';
COMMENT ON COLUMN forum_course_post_counts.hidden_posts IS 'Live posts a moderator has hidden (seen by their authors and moderators).';
COMMENT ON COLUMN forum_course_post_counts.published IS
    'Whether the course is published (copied from courses.status): the platform''s counts add these rows.';
CREATE TRIGGER forum_course_post_counts_set_updated_at BEFORE UPDATE ON forum_course_post_counts
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Whether a course is published, as a new counter row starts (forum_course_post_counts.published).
-- A course published or unpublished meanwhile is not missed: its trigger (99_forum_platform_counts)
-- upserts the row's flag, so it either made the row first (the insert below then updates it and
-- keeps its flag) or waits for this one and sets the flag on it (migration 0036).
CREATE FUNCTION forum_course_published(p_course_id uuid) RETURNS boolean
LANGUAGE sql STABLE SET search_path = public, pg_temp
RETURN coalesce((SELECT c.status = 'published' FROM courses c WHERE c.id = p_course_id), false);
REVOKE EXECUTE ON FUNCTION forum_course_published(uuid) FROM PUBLIC;

-- Adds each course's (visible, hidden) deltas, in course order (two statements that touch several
-- courses cannot deadlock). Additions commute, so concurrent writers lose none. p_create: a course
-- without a row gets one (inserts and updates); a deletion never creates one (a course deleted with
-- its posts is no longer there to count, and its row goes with it). Only new posts (deltas >= 0)
-- take the one-statement UPSERT: a row's CHECKs are checked on what an INSERT proposes.
CREATE FUNCTION forum_course_post_counts_add(p_deltas jsonb, p_create boolean) RETURNS void
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
REVOKE EXECUTE ON FUNCTION forum_course_post_counts_add(jsonb, boolean) FROM PUBLIC;

-- AFTER INSERT, UPDATE and DELETE on forum_posts, per statement: what the statement's rows add (new
-- rows) and take away (old rows), per course, as {course: [visible, hidden]}. An update counts each
-- row's old state out and its new one in, so deleting, hiding, unhiding or moving a post all fall
-- out; a statement that changes no count (an edit, a pin) writes nothing. SECURITY DEFINER: the
-- writer may not write the counters. One function per operation: a statement trigger has only the
-- transition tables of its operation.
CREATE FUNCTION forum_posts_count_inserted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_deltas jsonb;
BEGIN
    SELECT jsonb_object_agg(c.course_id, jsonb_build_array(c.visible, c.hidden)) INTO v_deltas
    FROM (SELECT n.course_id, count(*) FILTER (WHERE n.hidden_at IS NULL) AS visible,
                 count(*) FILTER (WHERE n.hidden_at IS NOT NULL) AS hidden
          FROM new_rows n WHERE n.deleted_at IS NULL GROUP BY n.course_id) AS c;
    IF v_deltas IS NOT NULL THEN
        PERFORM forum_course_post_counts_add(v_deltas, true);
    END IF;
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION forum_posts_count_inserted() FROM PUBLIC;
CREATE FUNCTION forum_posts_count_updated() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_deltas jsonb;
BEGIN
    SELECT jsonb_object_agg(c.course_id, jsonb_build_array(c.visible, c.hidden)) INTO v_deltas
    FROM (SELECT x.course_id, coalesce(sum(x.sign) FILTER (WHERE x.hidden_at IS NULL), 0) AS visible,
                 coalesce(sum(x.sign) FILTER (WHERE x.hidden_at IS NOT NULL), 0) AS hidden
          FROM (SELECT n.course_id, n.hidden_at, 1 AS sign FROM new_rows n WHERE n.deleted_at IS NULL
                UNION ALL
                SELECT o.course_id, o.hidden_at, -1 FROM old_rows o WHERE o.deleted_at IS NULL) AS x
          GROUP BY x.course_id) AS c
    WHERE c.visible <> 0 OR c.hidden <> 0;
    IF v_deltas IS NOT NULL THEN
        PERFORM forum_course_post_counts_add(v_deltas, true);
    END IF;
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION forum_posts_count_updated() FROM PUBLIC;
CREATE FUNCTION forum_posts_count_deleted() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_deltas jsonb;
BEGIN
    SELECT jsonb_object_agg(c.course_id, jsonb_build_array(-c.visible, -c.hidden)) INTO v_deltas
    FROM (SELECT o.course_id, count(*) FILTER (WHERE o.hidden_at IS NULL) AS visible,
                 count(*) FILTER (WHERE o.hidden_at IS NOT NULL) AS hidden
          FROM old_rows o WHERE o.deleted_at IS NULL GROUP BY o.course_id) AS c;
    IF v_deltas IS NOT NULL THEN
        PERFORM forum_course_post_counts_add(v_deltas, false);
    END IF;
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION forum_posts_count_deleted() FROM PUBLIC;
CREATE TRIGGER forum_posts_count_inserted AFTER INSERT ON forum_posts
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION forum_posts_count_inserted();
CREATE TRIGGER forum_posts_count_updated AFTER UPDATE ON forum_posts
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION forum_posts_count_updated();
CREATE TRIGGER forum_posts_count_deleted AFTER DELETE ON forum_posts
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION forum_posts_count_deleted();

-- Anyone reads the counts (as the view counters: how many posts a course has, hidden ones included,
-- is no secret; which posts are hidden stays with learnstore_visible). Nobody writes them under
-- as_user: the triggers above do, and they go with their course.
GRANT SELECT ON forum_course_post_counts TO learnstore_app;
ALTER TABLE forum_course_post_counts ENABLE ROW LEVEL SECURITY;
CREATE POLICY forum_course_post_counts_anyone_select ON forum_course_post_counts FOR SELECT USING (true);

-- Search (SearchForum): the GIN indexes on the stored documents find the matches of a rare query;
-- the newest matches of a common one are found walking live posts and replies newest first
-- (forum_posts_live_created_idx, and forum_replies_live_created_idx below).
CREATE INDEX forum_posts_search_document_idx ON forum_posts USING gin (search_document);
CREATE INDEX forum_replies_search_document_idx ON forum_replies USING gin (search_document);
CREATE INDEX forum_replies_live_created_idx ON forum_replies (created_at DESC, id DESC) WHERE deleted_at IS NULL;
-- How many posts and replies a one-word query matches, by the statistics of search_document: the
-- word's frequency among the column's most common elements (what ANALYZE keeps of a tsvector)
-- times the table's rows; NULL for a table where the word is not among them (it is then rare
-- enough to count) and for a query of more than one word. SearchForum takes a word the statistics
-- put in more than 20,000 rows as common without counting it: the count's bitmap index scan reads
-- every match's entry before its LIMIT (120,000 posts and 360,000 replies, 36 + 59 ms, for a word
-- in a tenth of the million-scale forum), where this reads one row of pg_stats per table.
-- PL/pgSQL, so the plan of pg_stats (a view of several joins) is made once per session. SECURITY
-- DEFINER: pg_stats shows no row of a table whose row-level security applies to the caller, and
-- what the statistics say of a column is no secret (an estimate, hidden posts included).
CREATE FUNCTION forum_search_common_matches(p_query tsquery) RETURNS TABLE (posts bigint, replies bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_text text := p_query::text;
BEGIN
    -- one lexeme, quoted ('it''s'), no weight or prefix mark
    IF numnode(p_query) <> 1 OR v_text NOT LIKE '''%''' THEN
        RETURN QUERY SELECT NULL::bigint, NULL::bigint;
        RETURN;
    END IF;
    RETURN QUERY
    SELECT max(e.n) FILTER (WHERE e.tablename = 'forum_posts'),
           max(e.n) FILTER (WHERE e.tablename = 'forum_replies')
    FROM (SELECT s.tablename,
                 (c.reltuples * s.most_common_elem_freqs[
                     array_position(s.most_common_elems::text::text[],
                                    replace(substr(v_text, 2, length(v_text) - 2), '''''', ''''))])::bigint AS n
          FROM pg_stats s JOIN pg_class c ON c.oid = format('public.%I', s.tablename)::regclass
          WHERE s.schemaname = 'public' AND s.tablename IN ('forum_posts', 'forum_replies')
            AND s.attname = 'search_document') AS e;
END
$$;
REVOKE EXECUTE ON FUNCTION forum_search_common_matches(tsquery) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION forum_search_common_matches(tsquery) TO learnstore_app;

-- The feeds' totals: the hidden live posts an author sees of their own (a few rows per author).
CREATE INDEX forum_posts_hidden_author_idx ON forum_posts (author_clerk_id) INCLUDE (course_id)
    WHERE hidden_at IS NOT NULL AND deleted_at IS NULL;
