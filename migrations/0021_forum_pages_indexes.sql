-- transactional: false
-- statement_timeout: off
-- Forum pages' indexes on existing tables (sql/schema/96_forum_pages.sql says what each one serves).
-- Built concurrently so that forum_posts, forum_replies and notifications stay writable on a live
-- database; IF NOT EXISTS lets a rerun after a cancelled build finish it.
CREATE INDEX CONCURRENTLY IF NOT EXISTS forum_posts_search_idx ON forum_posts USING gin (forum_post_document(title, body));
CREATE INDEX CONCURRENTLY IF NOT EXISTS forum_replies_search_idx
    ON forum_replies USING gin (to_tsvector('simple'::regconfig, body));
CREATE INDEX CONCURRENTLY IF NOT EXISTS forum_posts_live_created_idx
    ON forum_posts (created_at DESC, id DESC) INCLUDE (course_id, hidden_at, author_clerk_id) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS notifications_reply_once_key ON notifications (source_id, user_clerk_id)
    WHERE source_type = 'forum_reply' AND type IN ('reply', 'mention');
