-- transactional: false
DROP INDEX CONCURRENTLY IF EXISTS suggested_edits_course_history_idx;
DROP INDEX CONCURRENTLY IF EXISTS suggested_edits_quiz_id_idx;
DROP INDEX CONCURRENTLY IF EXISTS suggested_edits_unit_id_idx;
