DROP INDEX CONCURRENTLY IF EXISTS notifications_reply_once_key;
DROP INDEX CONCURRENTLY IF EXISTS forum_posts_live_created_idx;
DROP INDEX CONCURRENTLY IF EXISTS forum_replies_search_idx;
DROP INDEX CONCURRENTLY IF EXISTS forum_posts_search_idx;
