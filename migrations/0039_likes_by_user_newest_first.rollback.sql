-- transactional: false
-- statement_timeout: off
CREATE INDEX CONCURRENTLY IF NOT EXISTS forum_post_likes_user_clerk_id_idx ON forum_post_likes (user_clerk_id);
DROP INDEX CONCURRENTLY IF EXISTS forum_post_likes_user_newest_idx;
CREATE INDEX CONCURRENTLY IF NOT EXISTS forum_reply_likes_user_clerk_id_idx ON forum_reply_likes (user_clerk_id);
DROP INDEX CONCURRENTLY IF EXISTS forum_reply_likes_user_newest_idx;
