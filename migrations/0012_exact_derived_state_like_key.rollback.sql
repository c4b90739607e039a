-- Undo 0012_exact_derived_state_like_key (the duplicate notifications it removed stay removed).
CREATE INDEX CONCURRENTLY IF NOT EXISTS notifications_source_id_like_idx
    ON notifications (source_id, user_clerk_id) WHERE type = 'like';
DROP INDEX CONCURRENTLY IF EXISTS notifications_like_once_key;
