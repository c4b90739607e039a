-- Community: forum threads, likes, collaborators, suggested edits, feedback and upvotes.
-- What a user wrote for others stays readable when the user is erased (author set NULL);
-- what only records the user's own gesture (a like, an upvote, a collaborator seat) goes with them.

CREATE TABLE forum_posts (
    id              uuid        NOT NULL DEFAULT uuidv7(),
    course_id       uuid        NOT NULL,
    author_clerk_id text,
    title           text        NOT NULL,
    body            text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    edited_at       timestamptz,
    deleted_at      timestamptz,
    CONSTRAINT forum_posts_pkey PRIMARY KEY (id),
    CONSTRAINT forum_posts_course_id_fkey FOREIGN KEY (course_id) REFERENCES courses (id) ON DELETE CASCADE,
    CONSTRAINT forum_posts_author_clerk_id_fkey FOREIGN KEY (author_clerk_id)
        REFERENCES users (clerk_id) ON UPDATE CASCADE ON DELETE SET NULL,
    CONSTRAINT forum_posts_title_not_blank CHECK (is_not_blank(title) AND char_length(title) <= 300),
    CONSTRAINT forum_posts_body_not_blank CHECK (is_not_blank(body) AND char_length(body) <= 50000)
);
COMMENT ON TABLE forum_posts IS 'A discussion thread in a course''s forum.';
COMMENT ON COLUMN forum_posts.edited_at IS 'When the author last changed the title or body.';
COMMENT ON COLUMN forum_posts.deleted_at IS 'Set when a post with replies is deleted: a tombstone that keeps the thread.';
CREATE INDEX forum_posts_course_id_idx ON forum_posts (course_id, created_at DESC);
CREATE INDEX forum_posts_author_clerk_id_idx ON forum_posts (author_clerk_id);
CREATE TRIGGER forum_posts_set_updated_at BEFORE UPDATE ON forum_posts
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE forum_replies (
    id              uuid        NOT NULL DEFAULT uuidv7(),
    post_id         uuid        NOT NULL,
    parent_reply_id uuid,
    author_clerk_id text,
    body            text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    edited_at       timestamptz,
    deleted_at      timestamptz,
    CONSTRAINT forum_replies_pkey PRIMARY KEY (id),
    CONSTRAINT forum_replies_post_id_fkey FOREIGN KEY (post_id) REFERENCES forum_posts (id) ON DELETE CASCADE,
    CONSTRAINT forum_replies_author_clerk_id_fkey FOREIGN KEY (author_clerk_id)
        REFERENCES users (clerk_id) ON UPDATE CASCADE ON DELETE SET NULL,
    CONSTRAINT forum_replies_body_not_blank CHECK (is_not_blank(body) AND char_length(body) <= 50000),
    CONSTRAINT forum_replies_not_own_parent CHECK (parent_reply_id <> id)
);
COMMENT ON TABLE forum_replies IS 'A reply to a post, or (parent_reply_id) to another reply.';
COMMENT ON COLUMN forum_replies.edited_at IS 'When the author last changed the body.';
COMMENT ON COLUMN forum_replies.deleted_at IS 'Set when a reply with answers is deleted: a tombstone that keeps them.';
CREATE INDEX forum_replies_post_id_idx ON forum_replies (post_id, created_at);
-- The target of forum_replies_parent_reply_id_fkey (a unique index: id alone is already unique).
CREATE UNIQUE INDEX forum_replies_post_id_id_key ON forum_replies (post_id, id);
CREATE INDEX forum_replies_parent_reply_id_idx ON forum_replies (parent_reply_id, post_id);
-- Removing a reply removes the answers nested under it. The key includes post_id, so a reply's
-- parent is always a reply of the same post (MATCH SIMPLE: a reply without parent is not checked);
-- a parent exists before its child and the repository never changes it, so no cycle can form.
ALTER TABLE forum_replies ADD CONSTRAINT forum_replies_parent_reply_id_fkey FOREIGN KEY (post_id, parent_reply_id)
    REFERENCES forum_replies (post_id, id) ON DELETE CASCADE;
CREATE INDEX forum_replies_author_clerk_id_idx ON forum_replies (author_clerk_id);
CREATE TRIGGER forum_replies_set_updated_at BEFORE UPDATE ON forum_replies
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE forum_post_likes (
    id            uuid        NOT NULL DEFAULT uuidv7(),
    post_id       uuid        NOT NULL,
    user_clerk_id text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT forum_post_likes_pkey PRIMARY KEY (id),
    CONSTRAINT forum_post_likes_post_user_key UNIQUE (post_id, user_clerk_id),
    CONSTRAINT forum_post_likes_post_id_fkey FOREIGN KEY (post_id) REFERENCES forum_posts (id) ON DELETE CASCADE,
    CONSTRAINT forum_post_likes_user_clerk_id_fkey FOREIGN KEY (user_clerk_id)
        REFERENCES users (clerk_id) ON UPDATE CASCADE ON DELETE CASCADE
);
COMMENT ON TABLE forum_post_likes IS 'A user likes a post, at most once.';
-- A user's likes newest first (GetUserBelongings): the filter and the order in one index.
CREATE INDEX forum_post_likes_user_newest_idx ON forum_post_likes (user_clerk_id, created_at DESC, id DESC);
CREATE TRIGGER forum_post_likes_set_updated_at BEFORE UPDATE ON forum_post_likes
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE forum_reply_likes (
    id            uuid        NOT NULL DEFAULT uuidv7(),
    reply_id      uuid        NOT NULL,
    user_clerk_id text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT forum_reply_likes_pkey PRIMARY KEY (id),
    CONSTRAINT forum_reply_likes_reply_user_key UNIQUE (reply_id, user_clerk_id),
    CONSTRAINT forum_reply_likes_reply_id_fkey FOREIGN KEY (reply_id)
        REFERENCES forum_replies (id) ON DELETE CASCADE,
    CONSTRAINT forum_reply_likes_user_clerk_id_fkey FOREIGN KEY (user_clerk_id)
        REFERENCES users (clerk_id) ON UPDATE CASCADE ON DELETE CASCADE
);
COMMENT ON TABLE forum_reply_likes IS 'A user likes a reply, at most once.';
CREATE INDEX forum_reply_likes_user_newest_idx ON forum_reply_likes (user_clerk_id, created_at DESC, id DESC);
CREATE TRIGGER forum_reply_likes_set_updated_at BEFORE UPDATE ON forum_reply_likes
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE collaborators (
    id            uuid        NOT NULL DEFAULT uuidv7(),
    course_id     uuid        NOT NULL,
    user_clerk_id text        NOT NULL,
    role          text        NOT NULL DEFAULT 'editor',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    status        text        NOT NULL DEFAULT 'pending',
    CONSTRAINT collaborators_pkey PRIMARY KEY (id),
    CONSTRAINT collaborators_course_user_key UNIQUE (course_id, user_clerk_id),
    CONSTRAINT collaborators_course_id_fkey FOREIGN KEY (course_id) REFERENCES courses (id) ON DELETE CASCADE,
    CONSTRAINT collaborators_user_clerk_id_fkey FOREIGN KEY (user_clerk_id)
        REFERENCES users (clerk_id) ON UPDATE CASCADE ON DELETE CASCADE,
    CONSTRAINT collaborators_role_valid CHECK (role IN ('editor', 'reviewer')),
    CONSTRAINT collaborators_status_valid CHECK (status IN ('pending', 'accepted', 'declined'))
);
COMMENT ON TABLE collaborators IS 'A user who co-manages a course besides its author.';
COMMENT ON COLUMN collaborators.status IS 'pending until the invitee accepts (accepted) or declines (declined).';
CREATE INDEX collaborators_user_clerk_id_idx ON collaborators (user_clerk_id);
CREATE TRIGGER collaborators_set_updated_at BEFORE UPDATE ON collaborators
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE suggested_edits (
    id                uuid        NOT NULL DEFAULT uuidv7(),
    course_id         uuid        NOT NULL,
    lesson_id         uuid,
    author_clerk_id   text,
    summary           text        NOT NULL,
    payload           jsonb       NOT NULL,
    status            text        NOT NULL DEFAULT 'pending',
    reviewer_clerk_id text,
    reviewed_at       timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    base_updated_at   timestamptz,
    review_note       text,
    kind              text        NOT NULL DEFAULT 'fields',
    unit_id           uuid,
    quiz_id           uuid,
    base_lesson_ids   uuid[],
    CONSTRAINT suggested_edits_pkey PRIMARY KEY (id),
    CONSTRAINT suggested_edits_course_id_fkey FOREIGN KEY (course_id) REFERENCES courses (id) ON DELETE CASCADE,
    CONSTRAINT suggested_edits_lesson_id_fkey FOREIGN KEY (lesson_id) REFERENCES lessons (id) ON DELETE CASCADE,
    CONSTRAINT suggested_edits_author_clerk_id_fkey FOREIGN KEY (author_clerk_id)
        REFERENCES users (clerk_id) ON UPDATE CASCADE ON DELETE SET NULL,
    CONSTRAINT suggested_edits_reviewer_clerk_id_fkey FOREIGN KEY (reviewer_clerk_id)
        REFERENCES users (clerk_id) ON UPDATE CASCADE ON DELETE SET NULL,
    CONSTRAINT suggested_edits_summary_not_blank CHECK (is_not_blank(summary) AND char_length(summary) <= 500),
    CONSTRAINT suggested_edits_payload_object CHECK (jsonb_typeof(payload) = 'object' AND payload <> '{}'),
    CONSTRAINT suggested_edits_status_valid CHECK (status IN ('pending', 'approved', 'rejected', 'withdrawn')),
    CONSTRAINT suggested_edits_reviewed_at_set CHECK ((status = 'pending') = (reviewed_at IS NULL)),
    CONSTRAINT suggested_edits_review_note_length CHECK (char_length(review_note) <= 2000),
    CONSTRAINT suggested_edits_unit_id_fkey FOREIGN KEY (unit_id) REFERENCES units (id) ON DELETE CASCADE,
    CONSTRAINT suggested_edits_quiz_id_fkey FOREIGN KEY (quiz_id) REFERENCES quizzes (id) ON DELETE CASCADE,
    CONSTRAINT suggested_edits_kind_valid
        CHECK (kind IN ('fields', 'add_lesson', 'remove_lesson', 'reorder_lessons', 'quiz')),
    -- What each kind targets: fields the course (or lesson_id), quiz a quiz, the others a unit whose
    -- lessons (in order) the proposal saw.
    CONSTRAINT suggested_edits_kind_target CHECK (
        CASE kind
            WHEN 'fields' THEN unit_id IS NULL AND quiz_id IS NULL AND base_lesson_ids IS NULL
            WHEN 'quiz' THEN quiz_id IS NOT NULL AND lesson_id IS NULL AND unit_id IS NULL AND base_lesson_ids IS NULL
            WHEN 'add_lesson' THEN unit_id IS NOT NULL AND lesson_id IS NULL AND quiz_id IS NULL AND base_lesson_ids IS NOT NULL
            WHEN 'remove_lesson' THEN unit_id IS NOT NULL AND lesson_id IS NULL AND quiz_id IS NULL AND base_lesson_ids IS NOT NULL
            WHEN 'reorder_lessons' THEN unit_id IS NOT NULL AND lesson_id IS NULL AND quiz_id IS NULL AND base_lesson_ids IS NOT NULL
            ELSE true
        END),
    CONSTRAINT suggested_edits_kind_payload CHECK (  -- a missing key is NULL: refused, not let through
        coalesce(CASE kind
            WHEN 'add_lesson' THEN payload ?& ARRAY['title', 'content_type', 'content']
                                   AND jsonb_typeof(payload -> 'content') = 'object'
            WHEN 'remove_lesson' THEN jsonb_typeof(payload -> 'lesson_id') = 'string'
            WHEN 'reorder_lessons' THEN jsonb_typeof(payload -> 'lesson_ids') = 'array'
            WHEN 'quiz' THEN payload ?| ARRAY['question', 'options', 'correct_answer']
            ELSE true
        END, false)),
    -- A withdrawn edit was never reviewed: its proposer closed it.
    CONSTRAINT suggested_edits_withdrawn_unreviewed CHECK (status <> 'withdrawn' OR reviewer_clerk_id IS NULL)
);
COMMENT ON TABLE suggested_edits IS 'A proposed change to a course or lesson, reviewed by its author or a collaborator.';
COMMENT ON COLUMN suggested_edits.base_updated_at IS 'The target''s updated_at when the edit was proposed: approval fails if it moved.';
COMMENT ON COLUMN suggested_edits.review_note IS 'The reviewer''s reason for approving or rejecting.';
COMMENT ON COLUMN suggested_edits.kind IS 'What the edit does: fields, add_lesson, remove_lesson, reorder_lessons or quiz.';
COMMENT ON COLUMN suggested_edits.base_lesson_ids IS 'A unit''s lessons in order when the edit was proposed: approval fails if they moved.';
COMMENT ON COLUMN suggested_edits.reviewed_at IS 'When the edit was approved, rejected or withdrawn.';
CREATE INDEX suggested_edits_course_id_idx ON suggested_edits (course_id, status);
CREATE INDEX suggested_edits_lesson_id_idx ON suggested_edits (lesson_id);
CREATE INDEX suggested_edits_author_clerk_id_idx ON suggested_edits (author_clerk_id);
CREATE INDEX suggested_edits_reviewer_clerk_id_idx ON suggested_edits (reviewer_clerk_id);
CREATE INDEX suggested_edits_unit_id_idx ON suggested_edits (unit_id);
CREATE INDEX suggested_edits_quiz_id_idx ON suggested_edits (quiz_id);
-- A course's edit history in every status, newest first (edits.list_edits' keyset).
CREATE INDEX suggested_edits_course_history_idx ON suggested_edits (course_id, created_at DESC, id DESC);
CREATE TRIGGER suggested_edits_set_updated_at BEFORE UPDATE ON suggested_edits
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE course_feedback (
    id            uuid        NOT NULL DEFAULT uuidv7(),
    course_id     uuid        NOT NULL,
    user_clerk_id text,
    rating        integer     NOT NULL,
    comment       text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT course_feedback_pkey PRIMARY KEY (id),
    CONSTRAINT course_feedback_course_user_key UNIQUE (course_id, user_clerk_id),
    CONSTRAINT course_feedback_course_id_fkey FOREIGN KEY (course_id) REFERENCES courses (id) ON DELETE CASCADE,
    -- A rating stays in the course's summary when its author is erased.
    CONSTRAINT course_feedback_user_clerk_id_fkey FOREIGN KEY (user_clerk_id)
        REFERENCES users (clerk_id) ON UPDATE CASCADE ON DELETE SET NULL,
    CONSTRAINT course_feedback_rating_range CHECK (rating BETWEEN 1 AND 5),
    CONSTRAINT course_feedback_comment_length CHECK (char_length(comment) <= 5000)
);
COMMENT ON TABLE course_feedback IS 'A learner''s 1-5 rating of a course, once per learner per course.';
CREATE INDEX course_feedback_user_clerk_id_idx ON course_feedback (user_clerk_id);
CREATE TRIGGER course_feedback_set_updated_at BEFORE UPDATE ON course_feedback
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE feedback_upvotes (
    id            uuid        NOT NULL DEFAULT uuidv7(),
    feedback_id   uuid        NOT NULL,
    user_clerk_id text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT feedback_upvotes_pkey PRIMARY KEY (id),
    CONSTRAINT feedback_upvotes_feedback_user_key UNIQUE (feedback_id, user_clerk_id),
    CONSTRAINT feedback_upvotes_feedback_id_fkey FOREIGN KEY (feedback_id)
        REFERENCES course_feedback (id) ON DELETE CASCADE,
    CONSTRAINT feedback_upvotes_user_clerk_id_fkey FOREIGN KEY (user_clerk_id)
        REFERENCES users (clerk_id) ON UPDATE CASCADE ON DELETE CASCADE
);
COMMENT ON TABLE feedback_upvotes IS 'A user endorses a piece of feedback, at most once.';
CREATE INDEX feedback_upvotes_user_clerk_id_idx ON feedback_upvotes (user_clerk_id);
CREATE TRIGGER feedback_upvotes_set_updated_at BEFORE UPDATE ON feedback_upvotes
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
