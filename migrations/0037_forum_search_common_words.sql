-- Forum search stops counting a common word's matches (docs/scaling.md, "What grows"): before it
-- chooses between the GIN indexes and the newest-first walk, SearchForum counted the matches up to
-- 5,001, and that count's bitmap index scan read every match's entry first (for a word in a tenth
-- of the million-scale forum: 120,000 posts and 360,000 replies, 36 + 59 ms of the call). A word
-- the statistics put in more than 20,000 rows now takes the walk without a count; any other query
-- is counted as before. A new function and its grants: nothing else changes.
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
