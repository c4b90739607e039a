DROP INDEX CONCURRENTLY IF EXISTS forum_posts_hidden_by_author_idx;
DROP INDEX CONCURRENTLY IF EXISTS forum_replies_hidden_by_author_idx;
