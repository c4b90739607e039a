-- audit_record_changes as 0014 defined it.
CREATE OR REPLACE FUNCTION audit_record_changes() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    -- The as_user() identity; '' is what a caller's transaction holds after an identity was swapped out.
    v_actor text := nullif(current_setting('learnstore.clerk_id', true), '');
BEGIN
    -- An identity with no user row (a forged or not yet synced one) is not a user to point at.
    IF v_actor IS NOT NULL AND NOT EXISTS (SELECT FROM users WHERE clerk_id = v_actor) THEN
        v_actor := NULL;
    END IF;
    -- Transition tables are planned only in the branch of the operation that has them.
    IF TG_OP = 'INSERT' THEN
        INSERT INTO audit_log (actor_clerk_id, actor_role, table_name, operation, row_id, course_id, after)
        SELECT v_actor, session_user, TG_TABLE_NAME, TG_OP, (r.j ->> 'id')::uuid,
               audit_course_of(TG_TABLE_NAME, r.j), r.j
        FROM (SELECT to_jsonb(n) AS j FROM new_rows n) AS r;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO audit_log (actor_clerk_id, actor_role, table_name, operation, row_id, course_id, before)
        SELECT v_actor, session_user, TG_TABLE_NAME, TG_OP, (r.j ->> 'id')::uuid,
               audit_course_of(TG_TABLE_NAME, r.j), r.j
        FROM (SELECT to_jsonb(o) AS j FROM old_rows o) AS r;
    ELSE
        -- Only the columns that changed (updated_at always does: it says nothing); nothing changed,
        -- no entry.
        INSERT INTO audit_log (actor_clerk_id, actor_role, table_name, operation, row_id, course_id, before, after)
        SELECT v_actor, session_user, TG_TABLE_NAME, TG_OP, d.id, audit_course_of(TG_TABLE_NAME, d.new_j),
               d.before, d.after
        FROM (
            SELECT p.id, p.new_j,
                   jsonb_object_agg(k.key, p.old_j -> k.key) AS before,
                   jsonb_object_agg(k.key, k.value) AS after
            FROM (SELECT o.id, to_jsonb(o) AS old_j, to_jsonb(n) AS new_j
                  FROM old_rows o JOIN new_rows n ON n.id = o.id) AS p
            CROSS JOIN LATERAL jsonb_each(p.new_j) AS k
            WHERE k.key <> 'updated_at' AND p.old_j -> k.key IS DISTINCT FROM k.value
            GROUP BY p.id, p.new_j
        ) AS d;
    END IF;
    RETURN NULL;
END
$$;
DROP FUNCTION fork_flashcard_set(uuid, text, text);
DROP FUNCTION clone_course(uuid, text, text);
ALTER TABLE flashcard_sets DROP COLUMN forked_from;
ALTER TABLE flashcard_sets DROP COLUMN language_id;
DROP FUNCTION delete_lesson_item(text, uuid);
DROP FUNCTION move_media(uuid, integer);
DROP FUNCTION move_quiz(uuid, integer);
DROP FUNCTION move_lesson_item(text, uuid, integer, text);
DROP TRIGGER media_append ON media;
DROP TRIGGER quizzes_append ON quizzes;
DROP FUNCTION lesson_items_append();
DROP FUNCTION lock_lesson_course(uuid);
ALTER TABLE media DROP COLUMN position;
ALTER TABLE quizzes DROP COLUMN position;
