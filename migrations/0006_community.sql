-- Community: edits and tombstones of forum posts and replies, a reply's parent in the same post,
-- collaborator invitations, and the staleness check and review note of suggested edits
-- (sql/schema/50_community.sql).

ALTER TABLE forum_posts ADD COLUMN edited_at timestamptz, ADD COLUMN deleted_at timestamptz;
COMMENT ON COLUMN forum_posts.edited_at IS 'When the author last changed the title or body.';
COMMENT ON COLUMN forum_posts.deleted_at IS 'Set when a post with replies is deleted: a tombstone that keeps the thread.';

ALTER TABLE forum_replies ADD COLUMN edited_at timestamptz, ADD COLUMN deleted_at timestamptz;
COMMENT ON COLUMN forum_replies.edited_at IS 'When the author last changed the body.';
COMMENT ON COLUMN forum_replies.deleted_at IS 'Set when a reply with answers is deleted: a tombstone that keeps them.';

-- A reply's parent must be a reply of the same post: the foreign key now includes post_id.
CREATE UNIQUE INDEX forum_replies_post_id_id_key ON forum_replies (post_id, id);
ALTER TABLE forum_replies DROP CONSTRAINT forum_replies_parent_reply_id_fkey;
DROP INDEX forum_replies_parent_reply_id_idx;
CREATE INDEX forum_replies_parent_reply_id_idx ON forum_replies (parent_reply_id, post_id);
ALTER TABLE forum_replies ADD CONSTRAINT forum_replies_parent_reply_id_fkey FOREIGN KEY (post_id, parent_reply_id)
    REFERENCES forum_replies (post_id, id) ON DELETE CASCADE;

-- Collaborators seated before invitations existed stay seated.
ALTER TABLE collaborators ADD COLUMN status text NOT NULL DEFAULT 'accepted';
ALTER TABLE collaborators ALTER COLUMN status SET DEFAULT 'pending';
ALTER TABLE collaborators ADD CONSTRAINT collaborators_status_valid
    CHECK (status IN ('pending', 'accepted', 'declined'));
COMMENT ON COLUMN collaborators.status IS 'pending until the invitee accepts (accepted) or declines (declined).';

ALTER TABLE suggested_edits ADD COLUMN base_updated_at timestamptz, ADD COLUMN review_note text;
ALTER TABLE suggested_edits ADD CONSTRAINT suggested_edits_review_note_length
    CHECK (char_length(review_note) <= 2000);
COMMENT ON COLUMN suggested_edits.base_updated_at IS 'The target''s updated_at when the edit was proposed: approval fails if it moved.';
COMMENT ON COLUMN suggested_edits.review_note IS 'The reviewer''s reason for approving or rejecting.';

-- ---- 55_community_functions.sql ----

-- The Bayesian average of a course's ratings: (C * m + sum of ratings) / (C + count), with a prior
-- of C = 10 ratings at m = 3 stars (the middle of the 1-5 scale), rounded to 4 decimals. A course
-- with few ratings sits near 3; many ratings pull the score to their own mean: one 5-star review
-- scores 3.18, five hundred averaging 4.8 score 4.76. An unrated course scores exactly 3.
CREATE FUNCTION course_rating_score(p_rating_sum bigint, p_rating_count bigint) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN round((10 * 3.0 + coalesce(p_rating_sum, 0)) / (10 + coalesce(p_rating_count, 0)), 4);

-- The user's role in a course: 'author', or the role of an accepted collaborator ('editor',
-- 'reviewer'); NULL for anyone else, and for an unknown course.
CREATE FUNCTION course_role(p_course_id uuid, p_clerk_id text) RETURNS text
LANGUAGE sql STABLE
RETURN (
    SELECT CASE WHEN c.author_clerk_id = p_clerk_id THEN 'author'
                ELSE (SELECT k.role FROM collaborators k
                      WHERE k.course_id = c.id AND k.user_clerk_id = p_clerk_id AND k.status = 'accepted')
           END
    FROM courses c WHERE c.id = p_course_id
);

-- Raises insufficient_privilege (HINT 'acting_clerk_id') unless the user may change the course:
-- its author or an accepted editor. Holds a share lock on the seat that allows it until the end
-- of the transaction, so the author cannot remove the editor halfway through a change. Returns
-- the course id; NULL (and no check) when p_course_id is NULL, so the change itself reports the
-- unknown id it was given (so does an unknown course).
CREATE FUNCTION assert_may_edit_course(p_course_id uuid, p_clerk_id text) RETURNS uuid
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_author text;
BEGIN
    SELECT author_clerk_id INTO v_author FROM courses WHERE id = p_course_id FOR KEY SHARE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF v_author = p_clerk_id THEN
        RETURN p_course_id;
    END IF;
    PERFORM FROM collaborators
    WHERE course_id = p_course_id AND user_clerk_id = p_clerk_id AND status = 'accepted' AND role = 'editor'
    FOR SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'user % may not change course %: only its author or an accepted editor may',
            p_clerk_id, p_course_id
            USING ERRCODE = 'insufficient_privilege', HINT = 'acting_clerk_id';
    END IF;
    RETURN p_course_id;
END
$$;

-- Trending (ListTrendingCourses, ListTrendingTags) reads the forum's recent rows by time.
CREATE INDEX forum_posts_created_at_idx ON forum_posts (created_at);
CREATE INDEX forum_replies_created_at_idx ON forum_replies (created_at);
CREATE INDEX forum_post_likes_created_at_idx ON forum_post_likes (created_at);
CREATE INDEX forum_reply_likes_created_at_idx ON forum_reply_likes (created_at);

-- A like notifies the author of a user's first like only: LikePost and LikeReply look for an
-- earlier 'like' notification of the same source, here instead of in all the author's notifications.
CREATE INDEX notifications_source_id_like_idx ON notifications (source_id, user_clerk_id) WHERE type = 'like';
