-- Undo 0006_community.
DROP INDEX notifications_source_id_like_idx;
DROP INDEX forum_reply_likes_created_at_idx;
DROP INDEX forum_post_likes_created_at_idx;
DROP INDEX forum_replies_created_at_idx;
DROP INDEX forum_posts_created_at_idx;
DROP FUNCTION assert_may_edit_course(uuid, text);
DROP FUNCTION course_role(uuid, text);
DROP FUNCTION course_rating_score(bigint, bigint);
ALTER TABLE suggested_edits DROP CONSTRAINT suggested_edits_review_note_length;
ALTER TABLE suggested_edits DROP COLUMN review_note, DROP COLUMN base_updated_at;
ALTER TABLE collaborators DROP CONSTRAINT collaborators_status_valid;
ALTER TABLE collaborators DROP COLUMN status;
ALTER TABLE forum_replies DROP CONSTRAINT forum_replies_parent_reply_id_fkey;
DROP INDEX forum_replies_parent_reply_id_idx;
CREATE INDEX forum_replies_parent_reply_id_idx ON forum_replies (parent_reply_id);
DROP INDEX forum_replies_post_id_id_key;
ALTER TABLE forum_replies ADD CONSTRAINT forum_replies_parent_reply_id_fkey FOREIGN KEY (parent_reply_id)
    REFERENCES forum_replies (id) ON DELETE CASCADE;
ALTER TABLE forum_replies DROP COLUMN deleted_at, DROP COLUMN edited_at;
ALTER TABLE forum_posts DROP COLUMN deleted_at, DROP COLUMN edited_at;
