CREATE INDEX CONCURRENTLY IF NOT EXISTS forum_posts_search_idx ON forum_posts USING gin (forum_post_document(title, body));
CREATE INDEX CONCURRENTLY IF NOT EXISTS forum_replies_search_idx
    ON forum_replies USING gin (to_tsvector('simple'::regconfig, body));
DROP INDEX CONCURRENTLY IF EXISTS forum_posts_hidden_author_idx;
DROP INDEX CONCURRENTLY IF EXISTS forum_replies_live_created_idx;
DROP INDEX CONCURRENTLY IF EXISTS forum_replies_search_document_idx;
DROP INDEX CONCURRENTLY IF EXISTS forum_posts_search_document_idx;
