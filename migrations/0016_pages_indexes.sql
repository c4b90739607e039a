-- transactional: false
-- statement_timeout: off
-- The pages' indexes on existing tables (sql/schema/95_pages.sql says what each one serves). Built
-- concurrently so that course_feedback, user_progress, users and user_courses stay writable on a live
-- database; IF NOT EXISTS lets a rerun after a cancelled build finish it.
CREATE INDEX CONCURRENTLY IF NOT EXISTS course_feedback_course_rating_idx
    ON course_feedback (course_id, rating) INCLUDE (hidden_at, user_clerk_id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS user_progress_user_updated_idx
    ON user_progress (user_clerk_id, updated_at DESC, id DESC);
CREATE INDEX CONCURRENTLY IF NOT EXISTS users_full_name_prefix_idx
    ON users ((lower(coalesce(first_name, '') || ' ' || coalesce(last_name, '')) COLLATE "C"), clerk_id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS users_last_name_prefix_idx ON users ((lower(last_name) COLLATE "C"), clerk_id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS users_email_prefix_idx ON users ((lower(email) COLLATE "C"), clerk_id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS user_courses_course_progress_idx
    ON user_courses (course_id, progress DESC, user_clerk_id DESC);
CREATE INDEX CONCURRENTLY IF NOT EXISTS user_courses_course_activity_idx
    ON user_courses (course_id, updated_at DESC, user_clerk_id DESC);
