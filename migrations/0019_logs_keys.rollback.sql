-- transactional: false
-- What 0019_partitioned_logs did not use (its rollback leaves the logs as they were before both).
DROP INDEX CONCURRENTLY IF EXISTS flashcard_reviews_user_card_number_time_key;
DROP INDEX CONCURRENTLY IF EXISTS flashcard_reviews_history_pkey;
DROP INDEX CONCURRENTLY IF EXISTS login_days_history_pkey;
ALTER TABLE flashcard_reviews DROP CONSTRAINT IF EXISTS flashcard_reviews_history_bound;
ALTER TABLE login_days DROP CONSTRAINT IF EXISTS login_days_history_bound;
