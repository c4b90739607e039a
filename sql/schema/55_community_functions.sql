-- Community functions: who may do what to a course, and the "best rated" score that course
-- summaries and discovery share.

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
    -- A site admin may change any course (learnstore.security.MODEL, migration 0013).
    IF EXISTS (SELECT FROM site_roles WHERE user_clerk_id = p_clerk_id AND role = 'admin') THEN
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

-- A like notifies the author of a user's first like only, and "once" is this key: LikePost and
-- LikeReply insert with ON CONFLICT DO NOTHING on it. A NOT EXISTS test could not promise it: its
-- snapshot is the statement's, taken before the statement waited on a concurrent like, so a like
-- racing an unlike and another like saw no notification and sent a second one.
CREATE UNIQUE INDEX notifications_like_once_key ON notifications (source_id, user_clerk_id, (metadata ->> 'by'))
    WHERE type = 'like';
