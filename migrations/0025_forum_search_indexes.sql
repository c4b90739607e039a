-- transactional: false
-- statement_timeout: off
-- The indexes of 0025 on existing tables (sql/schema/98_forum_search.sql says what each one serves),
-- built concurrently so that forum_posts and forum_replies stay writable on a live database; IF NOT
-- EXISTS lets a rerun after a cancelled build finish it. Then the expression indexes of 0021, which
-- no statement reads any more, dropped concurrently, and the tables analyzed: the planner's estimate
-- of how many rows a search matches comes from the new columns' statistics.
CREATE INDEX CONCURRENTLY IF NOT EXISTS forum_posts_search_document_idx ON forum_posts USING gin (search_document);
CREATE INDEX CONCURRENTLY IF NOT EXISTS forum_replies_search_document_idx ON forum_replies USING gin (search_document);
CREATE INDEX CONCURRENTLY IF NOT EXISTS forum_replies_live_created_idx
    ON forum_replies (created_at DESC, id DESC) WHERE deleted_at IS NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS forum_posts_hidden_author_idx
    ON forum_posts (author_clerk_id) INCLUDE (course_id) WHERE hidden_at IS NOT NULL AND deleted_at IS NULL;
DROP INDEX CONCURRENTLY IF EXISTS forum_posts_search_idx;
DROP INDEX CONCURRENTLY IF EXISTS forum_replies_search_idx;
ANALYZE forum_posts;
ANALYZE forum_replies;
