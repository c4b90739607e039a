-- transactional: false
-- statement_timeout: off
-- The partial indexes GetForumActivitySummary reads for a third viewer (sql/schema/99_forum_activity.sql
-- says what they serve), built concurrently so that forum_posts and forum_replies stay writable on a
-- live database; IF NOT EXISTS lets a rerun after a cancelled build finish it. Then the counter table
-- analyzed: the backfill filled it faster than autovacuum looks (a read's plan estimates its rows per user).
CREATE INDEX CONCURRENTLY IF NOT EXISTS forum_posts_hidden_by_author_idx
    ON forum_posts (author_clerk_id) WHERE hidden_at IS NOT NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS forum_replies_hidden_by_author_idx
    ON forum_replies (author_clerk_id) WHERE hidden_at IS NOT NULL;
ANALYZE forum_user_activity;
