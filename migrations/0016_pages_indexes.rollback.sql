DROP INDEX CONCURRENTLY IF EXISTS user_courses_course_activity_idx;
DROP INDEX CONCURRENTLY IF EXISTS user_courses_course_progress_idx;
DROP INDEX CONCURRENTLY IF EXISTS users_email_prefix_idx;
DROP INDEX CONCURRENTLY IF EXISTS users_last_name_prefix_idx;
DROP INDEX CONCURRENTLY IF EXISTS users_full_name_prefix_idx;
DROP INDEX CONCURRENTLY IF EXISTS user_progress_user_updated_idx;
DROP INDEX CONCURRENTLY IF EXISTS course_feedback_course_rating_idx;
