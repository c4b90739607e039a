-- A flashcard review takes its set's row before its card's (sql/schema/97_set_usage.sql, the last
-- function): a learner's first review of a set deadlocked with a concurrent card add, move or deletion.

CREATE FUNCTION flashcard_review_lock_set(p_flashcard_id uuid, p_user_clerk_id text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM FROM flashcards f JOIN flashcard_sets s ON s.id = f.set_id
    WHERE f.id = p_flashcard_id
      AND p_user_clerk_id = coalesce(learnstore_actor(), p_user_clerk_id)
      AND (s.is_public OR s.owner_clerk_id = p_user_clerk_id)
      AND NOT EXISTS (SELECT FROM flashcard_set_learners l
                      WHERE l.set_id = s.id AND l.user_clerk_id = p_user_clerk_id)
    FOR NO KEY UPDATE OF s;
    RETURN true;
END
$$;
REVOKE EXECUTE ON FUNCTION flashcard_review_lock_set(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION flashcard_review_lock_set(uuid, text) TO learnstore_app;
