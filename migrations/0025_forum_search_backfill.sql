-- transactional: false
-- statement_timeout: off
-- The search documents of the posts and replies written before 0025_forum_search (whose trigger keeps
-- every later one), in batches of 5,000 rows in primary-key order, each committed on its own: no
-- batch holds its row locks long, and a rerun after a stop skips what is done (search_document IS
-- NULL). Only the document changes: updated_at stays (0025_forum_search's trigger condition).
DO $$
DECLARE
    v_last uuid := '00000000-0000-0000-0000-000000000000';
    v_next uuid;
BEGIN
    LOOP
        SELECT max(b.id::text)::uuid INTO v_next
        FROM (SELECT p.id FROM public.forum_posts p WHERE p.id > v_last ORDER BY p.id LIMIT 5000) AS b;
        EXIT WHEN v_next IS NULL;
        UPDATE public.forum_posts p SET search_document = public.forum_post_document(p.title, p.body)
        WHERE p.id > v_last AND p.id <= v_next AND p.search_document IS NULL;
        v_last := v_next;
        COMMIT;
    END LOOP;
    v_last := '00000000-0000-0000-0000-000000000000';
    LOOP
        SELECT max(b.id::text)::uuid INTO v_next
        FROM (SELECT r.id FROM public.forum_replies r WHERE r.id > v_last ORDER BY r.id LIMIT 5000) AS b;
        EXIT WHEN v_next IS NULL;
        UPDATE public.forum_replies r SET search_document = to_tsvector('simple'::regconfig, r.body)
        WHERE r.id > v_last AND r.id <= v_next AND r.search_document IS NULL;
        v_last := v_next;
        COMMIT;
    END LOOP;
END
$$;
