ALTER TABLE forum_replies RESET (parallel_workers);
ALTER TABLE forum_posts RESET (parallel_workers);
DROP TRIGGER forum_posts_count_inserted ON forum_posts;
DROP TRIGGER forum_posts_count_updated ON forum_posts;
DROP TRIGGER forum_posts_count_deleted ON forum_posts;
DROP FUNCTION forum_posts_count_inserted();
DROP FUNCTION forum_posts_count_updated();
DROP FUNCTION forum_posts_count_deleted();
DROP FUNCTION forum_course_post_counts_add(jsonb, boolean);
DROP TABLE forum_course_post_counts;
DROP TRIGGER forum_replies_set_updated_at ON forum_replies;
CREATE TRIGGER forum_replies_set_updated_at BEFORE UPDATE ON forum_replies
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
DROP TRIGGER forum_posts_set_updated_at ON forum_posts;
CREATE TRIGGER forum_posts_set_updated_at BEFORE UPDATE ON forum_posts
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
DROP TRIGGER forum_replies_search_document ON forum_replies;
DROP TRIGGER forum_posts_search_document ON forum_posts;
DROP FUNCTION forum_replies_set_search_document();
DROP FUNCTION forum_posts_set_search_document();
ALTER TABLE forum_replies DROP COLUMN search_document;
ALTER TABLE forum_posts DROP COLUMN search_document;
