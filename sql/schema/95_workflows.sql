-- Workflows (issue 19): a user asks to collaborate on a course, and a course's author answers a
-- review. Each rule is PostgreSQL's: a trigger on every path, a row-level security policy under
-- as_user(); the notifications each step causes are written by a trigger running as the owner,
-- because under as_user() a user may not write another user's notifications (notifications_own_rows).

CREATE TABLE collaboration_requests (
    id                 uuid        NOT NULL DEFAULT uuidv7(),
    course_id          uuid        NOT NULL,
    requester_clerk_id text        NOT NULL,
    role               text        NOT NULL,
    message            text,
    status             text        NOT NULL DEFAULT 'pending',
    decided_at         timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT collaboration_requests_pkey PRIMARY KEY (id),
    CONSTRAINT collaboration_requests_course_id_fkey FOREIGN KEY (course_id) REFERENCES courses (id) ON DELETE CASCADE,
    CONSTRAINT collaboration_requests_requester_clerk_id_fkey FOREIGN KEY (requester_clerk_id)
        REFERENCES users (clerk_id) ON UPDATE CASCADE ON DELETE CASCADE,
    CONSTRAINT collaboration_requests_role_valid CHECK (role IN ('editor', 'reviewer')),
    CONSTRAINT collaboration_requests_status_valid CHECK (status IN ('pending', 'accepted', 'declined', 'withdrawn')),
    CONSTRAINT collaboration_requests_decided_at_set CHECK ((status = 'pending') = (decided_at IS NULL)),
    CONSTRAINT collaboration_requests_message_length CHECK (char_length(message) <= 2000)
);
COMMENT ON TABLE collaboration_requests IS 'A user asks to join a course open to collaboration as editor or reviewer; its author decides.';
COMMENT ON COLUMN collaboration_requests.status IS 'pending until the author accepts or declines it, or the requester withdraws it; then final.';
CREATE INDEX collaboration_requests_course_id_idx ON collaboration_requests (course_id, created_at DESC);
CREATE INDEX collaboration_requests_requester_clerk_id_idx ON collaboration_requests (requester_clerk_id, created_at DESC);
-- One open request per user and course: two concurrent asks insert one row (the other waits on
-- this index and then does nothing, ON CONFLICT DO NOTHING). A decided request does not count.
CREATE UNIQUE INDEX collaboration_requests_one_open_key ON collaboration_requests (course_id, requester_clerk_id)
    WHERE status = 'pending';
CREATE TRIGGER collaboration_requests_set_updated_at BEFORE UPDATE ON collaboration_requests
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Asking: only on a course open to collaboration (Conflict), not by its author (InvalidValue), not
-- by a user who already holds an accepted seat (Conflict). Deciding: only a pending request changes,
-- and only to a decision; decided_at is the decision's time. SECURITY DEFINER: it reads the course
-- and its seats whatever the acting user may see of them.
CREATE FUNCTION collaboration_requests_enforce_rules() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_course courses%ROWTYPE;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW.status IS DISTINCT FROM OLD.status THEN
            IF OLD.status <> 'pending' THEN
                RAISE EXCEPTION 'collaboration request % is already %', OLD.id, OLD.status
                    USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'request_id';
            END IF;
            NEW.decided_at := now();
        END IF;
        RETURN NEW;
    END IF;
    SELECT * INTO v_course FROM courses WHERE id = NEW.course_id FOR KEY SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no course with id %', NEW.course_id USING ERRCODE = 'no_data_found', HINT = 'course_id';
    END IF;
    IF v_course.author_clerk_id = NEW.requester_clerk_id THEN
        RAISE EXCEPTION 'the author of course % cannot ask to collaborate on it', NEW.course_id
            USING ERRCODE = 'raise_exception', HINT = 'requester_clerk_id';
    END IF;
    IF NOT v_course.open_to_collaboration THEN
        RAISE EXCEPTION 'course % is not open to collaboration', NEW.course_id
            USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'course_id';
    END IF;
    IF EXISTS (SELECT FROM collaborators k WHERE k.course_id = NEW.course_id
               AND k.user_clerk_id = NEW.requester_clerk_id AND k.status = 'accepted') THEN
        RAISE EXCEPTION 'user % already collaborates on course %', NEW.requester_clerk_id, NEW.course_id
            USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'requester_clerk_id';
    END IF;
    NEW.status := 'pending';
    NEW.decided_at := NULL;
    RETURN NEW;
END
$$;
CREATE TRIGGER collaboration_requests_enforce_rules BEFORE INSERT OR UPDATE ON collaboration_requests
    FOR EACH ROW EXECUTE FUNCTION collaboration_requests_enforce_rules();

-- What follows a request: the author is told of a new one; an accepted request gives the
-- requester an accepted seat in the role asked for (an invitation pending for them is settled by
-- it); the requester is told of the decision. In the statement of the change, so both commit or
-- neither does.
CREATE FUNCTION collaboration_requests_follow_up() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_title text;
    v_author text;
BEGIN
    SELECT left(c.title, 200), c.author_clerk_id INTO v_title, v_author FROM courses c WHERE c.id = NEW.course_id;
    IF TG_OP = 'INSERT' THEN
        IF v_author IS NOT NULL THEN
            INSERT INTO notifications (user_clerk_id, type, message, source_id, source_type, metadata)
            VALUES (v_author, 'system',
                    NEW.requester_clerk_id || ' asks to collaborate on "' || v_title || '" as ' || NEW.role,
                    NEW.course_id, 'course',
                    jsonb_build_object('by', NEW.requester_clerk_id, 'course_id', NEW.course_id,
                                       'request_id', NEW.id, 'role', NEW.role));
        END IF;
        RETURN NULL;
    END IF;
    IF NEW.status = 'accepted' THEN
        INSERT INTO collaborators (course_id, user_clerk_id, role, status)
        VALUES (NEW.course_id, NEW.requester_clerk_id, NEW.role, 'accepted')
        ON CONFLICT (course_id, user_clerk_id) DO UPDATE SET role = excluded.role, status = 'accepted';
    END IF;
    IF NEW.status IN ('accepted', 'declined') THEN
        INSERT INTO notifications (user_clerk_id, type, message, source_id, source_type, metadata)
        VALUES (NEW.requester_clerk_id, 'system',
                'Your request to collaborate on "' || v_title || '" was ' || NEW.status,
                NEW.course_id, 'course',
                jsonb_build_object('course_id', NEW.course_id, 'request_id', NEW.id, 'role', NEW.role,
                                   'status', NEW.status));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER collaboration_requests_follow_up AFTER INSERT OR UPDATE OF status ON collaboration_requests
    FOR EACH ROW EXECUTE FUNCTION collaboration_requests_follow_up();

-- Under as_user() (learnstore.security.MODEL): the requester and the course's author see a request;
-- a user asks only in their own name; the requester may only withdraw, the course's author decides;
-- nobody deletes one (the course or the user going takes it, as the owner). Column grants: an ask
-- names its course, role and message (status and decided_at are the trigger's), a change is of
-- status alone (decided_at follows it, in the trigger).
GRANT SELECT ON collaboration_requests TO learnstore_app;
GRANT INSERT (course_id, requester_clerk_id, role, message) ON collaboration_requests TO learnstore_app;
GRANT UPDATE (status) ON collaboration_requests TO learnstore_app;
ALTER TABLE collaboration_requests ENABLE ROW LEVEL SECURITY;
CREATE POLICY collaboration_requests_own_select ON collaboration_requests FOR SELECT
    USING (requester_clerk_id = (select learnstore_actor()));
CREATE POLICY collaboration_requests_course_author_select ON collaboration_requests FOR SELECT
    USING (course_id IN (SELECT learnstore_team_courses('{author}')));
CREATE POLICY collaboration_requests_own_insert ON collaboration_requests FOR INSERT
    WITH CHECK (requester_clerk_id = (select learnstore_actor()));
CREATE POLICY collaboration_requests_own_update ON collaboration_requests FOR UPDATE
    USING (requester_clerk_id = (select learnstore_actor()))
    WITH CHECK (requester_clerk_id = (select learnstore_actor()) AND status = 'withdrawn');
CREATE POLICY collaboration_requests_course_author_update ON collaboration_requests FOR UPDATE
    USING (course_id IN (SELECT learnstore_team_courses('{author}')))
    WITH CHECK (course_id IN (SELECT learnstore_team_courses('{author}')));

CREATE TABLE review_replies (
    id              uuid        NOT NULL DEFAULT uuidv7(),
    feedback_id     uuid        NOT NULL,
    author_clerk_id text,
    body            text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    edited_at       timestamptz,
    CONSTRAINT review_replies_pkey PRIMARY KEY (id),
    -- One answer per review: a second answer is an edit of the first.
    CONSTRAINT review_replies_feedback_id_key UNIQUE (feedback_id),
    CONSTRAINT review_replies_feedback_id_fkey FOREIGN KEY (feedback_id)
        REFERENCES course_feedback (id) ON DELETE CASCADE,
    -- The answer stays readable beside the review when its author is erased.
    CONSTRAINT review_replies_author_clerk_id_fkey FOREIGN KEY (author_clerk_id)
        REFERENCES users (clerk_id) ON UPDATE CASCADE ON DELETE SET NULL,
    CONSTRAINT review_replies_body_not_blank CHECK (is_not_blank(body) AND char_length(body) <= 5000)
);
COMMENT ON TABLE review_replies IS 'The course author''s answer to a review, at most one per review.';
COMMENT ON COLUMN review_replies.edited_at IS 'When the author last changed the answer.';
CREATE INDEX review_replies_author_clerk_id_idx ON review_replies (author_clerk_id);
CREATE TRIGGER review_replies_set_updated_at BEFORE UPDATE ON review_replies
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Only the reviewed course's author answers a review, or moves an answer to another review
-- (insufficient_privilege: PermissionDenied). An unknown review is left to the foreign key.
-- SECURITY DEFINER: the course is read whatever the acting user may see of it.
CREATE FUNCTION review_replies_enforce_author() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_author text;
BEGIN
    SELECT c.author_clerk_id INTO v_author
    FROM course_feedback f JOIN courses c ON c.id = f.course_id WHERE f.id = NEW.feedback_id;
    IF NOT FOUND THEN
        RETURN NEW;
    END IF;
    IF v_author IS DISTINCT FROM NEW.author_clerk_id THEN
        RAISE EXCEPTION 'user % may not answer review %: only the course''s author may',
            NEW.author_clerk_id, NEW.feedback_id
            USING ERRCODE = 'insufficient_privilege', HINT = 'author_clerk_id';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER review_replies_enforce_author BEFORE INSERT OR UPDATE OF feedback_id ON review_replies
    FOR EACH ROW EXECUTE FUNCTION review_replies_enforce_author();

-- The reviewer is told of the first answer (not of its edits).
CREATE FUNCTION review_replies_notify() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    INSERT INTO notifications (user_clerk_id, type, message, source_id, source_type, metadata)
    SELECT f.user_clerk_id, 'reply', 'The author answered your review of "' || left(c.title, 200) || '"',
           c.id, 'course', jsonb_build_object('by', NEW.author_clerk_id, 'feedback_id', f.id, 'reply_id', NEW.id)
    FROM course_feedback f JOIN courses c ON c.id = f.course_id
    WHERE f.id = NEW.feedback_id AND f.user_clerk_id IS NOT NULL;
    RETURN NULL;
END
$$;
CREATE TRIGGER review_replies_notify AFTER INSERT ON review_replies
    FOR EACH ROW EXECUTE FUNCTION review_replies_notify();

-- Under as_user() (learnstore.security.MODEL): an owned table, everyone reads an answer and only
-- its author writes it (that the author is the course's is review_replies_enforce_author's rule).
-- An answer to a hidden review is hidden with it: the reads apply learnstore_visible to the review
-- (sql/queries/reviews.sql, community.sql). Column grants: never the author of an existing answer.
GRANT SELECT, DELETE ON review_replies TO learnstore_app;
GRANT INSERT (feedback_id, author_clerk_id, body) ON review_replies TO learnstore_app;
GRANT UPDATE (body, edited_at) ON review_replies TO learnstore_app;
ALTER TABLE review_replies ENABLE ROW LEVEL SECURITY;
CREATE POLICY review_replies_anyone_select ON review_replies FOR SELECT USING (true);
CREATE POLICY review_replies_own_insert ON review_replies FOR INSERT
    WITH CHECK (author_clerk_id = (select learnstore_actor()));
CREATE POLICY review_replies_own_update ON review_replies FOR UPDATE
    USING (author_clerk_id = (select learnstore_actor())) WITH CHECK (author_clerk_id = (select learnstore_actor()));
CREATE POLICY review_replies_own_delete ON review_replies FOR DELETE
    USING (author_clerk_id = (select learnstore_actor()));

-- A suspended user asks nothing and answers nothing (learnstore_refuse_suspended, 94_moderation.sql):
-- under as_user the acting user, on the service path the row's user. A decision on a request stays
-- open to the course's author whoever asked, so only the ask is checked there.
CREATE TRIGGER collaboration_requests_refuse_suspended BEFORE INSERT ON collaboration_requests
    FOR EACH ROW EXECUTE FUNCTION learnstore_refuse_suspended('requester_clerk_id');
CREATE TRIGGER review_replies_refuse_suspended BEFORE INSERT OR DELETE OR UPDATE OF body ON review_replies
    FOR EACH ROW EXECUTE FUNCTION learnstore_refuse_suspended('author_clerk_id');
