-- transactional: false
-- statement_timeout: off
-- A user's likes newest first (GetUserBelongings, sql/queries/pages.sql) read through one index that
-- holds both the filter and the order: (user_clerk_id, created_at DESC, id DESC). With an index on the
-- user's column alone the planner also had forum_post_likes_created_at_idx to choose from, and a
-- generic plan walked everyone's likes backwards, keeping the user's: for a learner with no likes, all
-- 120,000 of the large benchmark scale (8.4 ms of an 8.5 ms page). The new index serves whatever the
-- user-only index did (a user's likes, the cascades from users), which is dropped. Built concurrently,
-- so that likes stay writable on a live database; IF [NOT] EXISTS lets a rerun after a cancelled build
-- finish it.
CREATE INDEX CONCURRENTLY IF NOT EXISTS forum_post_likes_user_newest_idx
    ON forum_post_likes (user_clerk_id, created_at DESC, id DESC);
DROP INDEX CONCURRENTLY IF EXISTS forum_post_likes_user_clerk_id_idx;
CREATE INDEX CONCURRENTLY IF NOT EXISTS forum_reply_likes_user_newest_idx
    ON forum_reply_likes (user_clerk_id, created_at DESC, id DESC);
DROP INDEX CONCURRENTLY IF EXISTS forum_reply_likes_user_clerk_id_idx;
ANALYZE forum_post_likes, forum_reply_likes;
