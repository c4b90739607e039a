DROP FUNCTION flashcard_review_lock_set(uuid, text);
