-- transactional: false
DROP INDEX CONCURRENTLY IF EXISTS flashcard_sets_search_idx;
DROP INDEX CONCURRENTLY IF EXISTS flashcard_sets_public_created_idx;
DROP INDEX CONCURRENTLY IF EXISTS flashcard_sets_forked_from_idx;
DROP INDEX CONCURRENTLY IF EXISTS flashcard_sets_language_id_idx;
DROP INDEX CONCURRENTLY IF EXISTS media_lesson_position_key;
DROP INDEX CONCURRENTLY IF EXISTS quizzes_lesson_position_key;
