-- Moderation (docs/moderation.md): reports of posts, replies and reviews; a queue; hidden content;
-- locked and pinned threads; suspended users; and the append-only log of every moderator action.
--
-- Moderators' writes go through the SECURITY DEFINER functions below, which check their caller
-- (a site moderator or admin: under as_user the acting identity, on the service path the named
-- moderator) and change only the moderation columns, so no policy lets a moderator edit a body.

ALTER TABLE forum_posts ADD COLUMN hidden_at timestamptz;
ALTER TABLE forum_posts ADD COLUMN locked_at timestamptz;
ALTER TABLE forum_posts ADD COLUMN pinned_at timestamptz;
ALTER TABLE forum_replies ADD COLUMN hidden_at timestamptz;
ALTER TABLE course_feedback ADD COLUMN hidden_at timestamptz;
COMMENT ON COLUMN forum_posts.hidden_at IS 'Set while a moderator hides the post: only its author and moderators see it.';
COMMENT ON COLUMN forum_posts.locked_at IS 'Set while the thread is locked: a reply is refused (Conflict).';
COMMENT ON COLUMN forum_posts.pinned_at IS 'Set while the thread is pinned: listed before the others.';
COMMENT ON COLUMN forum_replies.hidden_at IS 'Set while a moderator hides the reply (and the answers under it).';
COMMENT ON COLUMN course_feedback.hidden_at IS 'Set while a moderator hides the review: out of lists and rating summaries.';
-- A course's threads, pinned first, newest first (ListCoursePostsNewest): a page reads 50 index
-- entries instead of sorting the course's every thread.
CREATE INDEX forum_posts_course_pinned_idx ON forum_posts (course_id, (pinned_at IS NOT NULL) DESC, created_at DESC, id DESC);

-- The one predicate every read of forum posts, replies and reviews applies: hidden content is seen
-- by its author and by moderators and admins, by nobody else (on the service path, with no acting
-- identity, by nobody: a service shows a moderator's view through as_user).
-- Deliberately without SET search_path: a SET clause stops PostgreSQL from inlining a SQL function,
-- and called per row it made a 50-thread page 100x slower (2 ms -> 35 ms, docs/moderation.md).
-- Inlined, `hidden_at IS NULL` decides a visible row with no call at all. It is safe unpinned: not
-- SECURITY DEFINER (it runs with the caller's rights and search_path only), and every name in it is
-- schema-qualified.
CREATE FUNCTION learnstore_visible(hidden_at timestamptz, author_clerk_id text) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN hidden_at IS NULL
        OR coalesce(author_clerk_id OPERATOR(pg_catalog.=) public.learnstore_actor(), false)
        OR public.learnstore_has_site_role('moderator')
        OR public.learnstore_has_site_role('admin');
COMMENT ON FUNCTION learnstore_visible(timestamptz, text) IS 'Whether the acting user may see a row hidden at hidden_at and written by author_clerk_id.';
REVOKE EXECUTE ON FUNCTION learnstore_visible(timestamptz, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION learnstore_visible(timestamptz, text) TO learnstore_app;

-- A user's report of a post, a reply or a review: exactly one target, by foreign key, so a report
-- goes with the content it is about.
CREATE TABLE moderation_reports (
    id                uuid        NOT NULL DEFAULT uuidv7(),
    reporter_clerk_id text,
    post_id           uuid,
    reply_id          uuid,
    feedback_id       uuid,
    reason            text        NOT NULL,
    status            text        NOT NULL DEFAULT 'open',
    resolved_by       text,
    resolved_at       timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT moderation_reports_pkey PRIMARY KEY (id),
    CONSTRAINT moderation_reports_reporter_clerk_id_fkey FOREIGN KEY (reporter_clerk_id)
        REFERENCES users (clerk_id) ON UPDATE CASCADE ON DELETE SET NULL,
    CONSTRAINT moderation_reports_post_id_fkey FOREIGN KEY (post_id) REFERENCES forum_posts (id) ON DELETE CASCADE,
    CONSTRAINT moderation_reports_reply_id_fkey FOREIGN KEY (reply_id) REFERENCES forum_replies (id) ON DELETE CASCADE,
    CONSTRAINT moderation_reports_feedback_id_fkey FOREIGN KEY (feedback_id)
        REFERENCES course_feedback (id) ON DELETE CASCADE,
    CONSTRAINT moderation_reports_resolved_by_fkey FOREIGN KEY (resolved_by)
        REFERENCES users (clerk_id) ON UPDATE CASCADE ON DELETE SET NULL,
    CONSTRAINT moderation_reports_one_target CHECK (num_nonnulls(post_id, reply_id, feedback_id) = 1),
    CONSTRAINT moderation_reports_reason_not_blank CHECK (is_not_blank(reason) AND char_length(reason) <= 2000),
    CONSTRAINT moderation_reports_status_valid CHECK (status IN ('open', 'resolved', 'dismissed')),
    CONSTRAINT moderation_reports_resolved_at_set CHECK ((status = 'open') = (resolved_at IS NULL))
);
COMMENT ON TABLE moderation_reports IS 'A user''s report of a post, reply or review, open until a moderator acts on it.';
COMMENT ON COLUMN moderation_reports.reporter_clerk_id IS 'Who reported; NULL once the reporter is erased.';
COMMENT ON COLUMN moderation_reports.status IS 'open; resolved (the target was hidden); dismissed (a moderator kept it).';
-- One open report per reporter and target: a repeated report (even 16 at once) is the first one.
-- NULLS NOT DISTINCT: the two target columns a report leaves NULL are part of its key.
CREATE UNIQUE INDEX moderation_reports_one_open_key ON moderation_reports (reporter_clerk_id, post_id, reply_id, feedback_id)
    NULLS NOT DISTINCT WHERE status = 'open' AND reporter_clerk_id IS NOT NULL;
-- The queue: open reports, oldest first.
CREATE INDEX moderation_reports_open_idx ON moderation_reports (created_at, id) WHERE status = 'open';
CREATE INDEX moderation_reports_reporter_clerk_id_idx ON moderation_reports (reporter_clerk_id);
CREATE INDEX moderation_reports_post_id_idx ON moderation_reports (post_id);
CREATE INDEX moderation_reports_reply_id_idx ON moderation_reports (reply_id);
CREATE INDEX moderation_reports_feedback_id_idx ON moderation_reports (feedback_id);
CREATE INDEX moderation_reports_resolved_by_idx ON moderation_reports (resolved_by);
CREATE TRIGGER moderation_reports_set_updated_at BEFORE UPDATE ON moderation_reports
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- A suspended user: until suspended_until, their writes are refused (learnstore_refuse_suspended).
CREATE TABLE user_suspensions (
    id              uuid        NOT NULL DEFAULT uuidv7(),
    user_clerk_id   text        NOT NULL,
    suspended_until timestamptz NOT NULL,
    reason          text        NOT NULL,
    suspended_by    text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT user_suspensions_pkey PRIMARY KEY (id),
    CONSTRAINT user_suspensions_user_clerk_id_key UNIQUE (user_clerk_id),
    CONSTRAINT user_suspensions_user_clerk_id_fkey FOREIGN KEY (user_clerk_id)
        REFERENCES users (clerk_id) ON UPDATE CASCADE ON DELETE CASCADE,
    CONSTRAINT user_suspensions_suspended_by_fkey FOREIGN KEY (suspended_by)
        REFERENCES users (clerk_id) ON UPDATE CASCADE ON DELETE SET NULL,
    CONSTRAINT user_suspensions_reason_not_blank CHECK (is_not_blank(reason) AND char_length(reason) <= 2000)
);
COMMENT ON TABLE user_suspensions IS 'A user whose writes are refused until suspended_until.';
CREATE INDEX user_suspensions_suspended_by_idx ON user_suspensions (suspended_by);
CREATE TRIGGER user_suspensions_set_updated_at BEFORE UPDATE ON user_suspensions
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Every moderator action: who, what (action and target), why, when. Append-only: the only change
-- a row admits is what the foreign keys do to its user columns (SET NULL when a user is erased,
-- CASCADE to a new clerk id).
CREATE TABLE moderation_actions (
    id                 uuid        NOT NULL DEFAULT uuidv7(),
    moderator_clerk_id text,
    action             text        NOT NULL,
    post_id            uuid,
    reply_id           uuid,
    feedback_id        uuid,
    subject_clerk_id   text,
    reason             text        NOT NULL,
    details            jsonb       NOT NULL DEFAULT '{}',
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT moderation_actions_pkey PRIMARY KEY (id),
    CONSTRAINT moderation_actions_moderator_clerk_id_fkey FOREIGN KEY (moderator_clerk_id)
        REFERENCES users (clerk_id) ON UPDATE CASCADE ON DELETE SET NULL,
    CONSTRAINT moderation_actions_subject_clerk_id_fkey FOREIGN KEY (subject_clerk_id)
        REFERENCES users (clerk_id) ON UPDATE CASCADE ON DELETE SET NULL,
    CONSTRAINT moderation_actions_action_valid CHECK (action IN (
        'hide', 'unhide', 'lock', 'unlock', 'pin', 'unpin', 'suspend', 'unsuspend', 'dismiss')),
    CONSTRAINT moderation_actions_reason_not_blank CHECK (is_not_blank(reason) AND char_length(reason) <= 2000),
    CONSTRAINT moderation_actions_details_object CHECK (jsonb_typeof(details) = 'object')
);
COMMENT ON TABLE moderation_actions IS 'The append-only log of moderator actions: who, what, why, when.';
COMMENT ON COLUMN moderation_actions.subject_clerk_id IS 'The user acted on: the hidden content''s author, the suspended user.';
COMMENT ON COLUMN moderation_actions.post_id IS 'The target, kept after the content is deleted (no foreign key: the log outlives it).';
CREATE INDEX moderation_actions_created_idx ON moderation_actions (created_at DESC, id DESC);
CREATE INDEX moderation_actions_moderator_clerk_id_idx ON moderation_actions (moderator_clerk_id);
CREATE INDEX moderation_actions_subject_clerk_id_idx ON moderation_actions (subject_clerk_id);

CREATE FUNCTION moderation_actions_append_only() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    -- A change of the user columns only from a foreign key's action (a trigger of users: depth > 1).
    IF TG_OP = 'UPDATE'
       AND (NEW.moderator_clerk_id IS NOT DISTINCT FROM OLD.moderator_clerk_id OR pg_trigger_depth() > 1)
       AND (NEW.subject_clerk_id IS NOT DISTINCT FROM OLD.subject_clerk_id OR pg_trigger_depth() > 1)
       AND (NEW.id, NEW.action, NEW.post_id, NEW.reply_id, NEW.feedback_id, NEW.reason, NEW.details, NEW.created_at)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.action, OLD.post_id, OLD.reply_id, OLD.feedback_id, OLD.reason, OLD.details, OLD.created_at)
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'moderation_actions is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege', HINT = 'moderation_actions';
END
$$;
CREATE TRIGGER moderation_actions_append_only BEFORE UPDATE OR DELETE ON moderation_actions
    FOR EACH ROW EXECUTE FUNCTION moderation_actions_append_only();
CREATE TRIGGER moderation_actions_set_updated_at BEFORE UPDATE ON moderation_actions
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- ---- suspension, enforced on every write of a suspended user ------------------------------------

-- Whether `who` is suspended now. SECURITY DEFINER: a trigger asks it for the row's user, whose
-- suspension the acting user may not read; not executable by learnstore_app (it would tell a
-- caller about others).
CREATE FUNCTION learnstore_suspended(who text) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    RETURN EXISTS (SELECT FROM public.user_suspensions s WHERE s.user_clerk_id = who AND s.suspended_until > now());
REVOKE EXECUTE ON FUNCTION learnstore_suspended(text) FROM PUBLIC;

-- BEFORE each write of a community table: a suspended acting user (as_user) writes nothing, and
-- nobody writes a new row, or an edit, in a suspended user's name (the service path).
-- TG_ARGV[0] is the table's user column. A deletion on the service path goes on (the row's user is
-- not who deletes: a course's author removing a thread, a cascade), and so does a tombstone.
CREATE FUNCTION learnstore_refuse_suspended() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    actor text := public.learnstore_actor();
    owner text;
BEGIN
    IF actor IS NOT NULL AND public.learnstore_suspended(actor) THEN
        RAISE EXCEPTION 'user % is suspended: % on % refused', actor, lower(TG_OP), TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege', HINT = 'suspended';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    owner := to_jsonb(NEW) ->> TG_ARGV[0];
    IF public.learnstore_suspended(owner)
       AND NOT (TG_OP = 'UPDATE' AND (to_jsonb(NEW) ->> 'deleted_at') IS NOT NULL) THEN
        RAISE EXCEPTION 'user % is suspended: % on % refused', owner, lower(TG_OP), TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege', HINT = 'suspended';
    END IF;
    RETURN NEW;
END
$$;
REVOKE EXECUTE ON FUNCTION learnstore_refuse_suspended() FROM PUBLIC;
-- The columns a user's own edit changes; a moderator's (hidden_at, locked_at, pinned_at) and a
-- renamed clerk id (ON UPDATE CASCADE) do not fire it.
CREATE TRIGGER forum_posts_refuse_suspended BEFORE INSERT OR DELETE OR UPDATE OF title, body ON forum_posts
    FOR EACH ROW EXECUTE FUNCTION learnstore_refuse_suspended('author_clerk_id');
CREATE TRIGGER forum_replies_refuse_suspended BEFORE INSERT OR DELETE OR UPDATE OF body ON forum_replies
    FOR EACH ROW EXECUTE FUNCTION learnstore_refuse_suspended('author_clerk_id');
CREATE TRIGGER forum_post_likes_refuse_suspended BEFORE INSERT OR DELETE ON forum_post_likes
    FOR EACH ROW EXECUTE FUNCTION learnstore_refuse_suspended('user_clerk_id');
CREATE TRIGGER forum_reply_likes_refuse_suspended BEFORE INSERT OR DELETE ON forum_reply_likes
    FOR EACH ROW EXECUTE FUNCTION learnstore_refuse_suspended('user_clerk_id');
CREATE TRIGGER course_feedback_refuse_suspended BEFORE INSERT OR DELETE OR UPDATE OF rating, comment ON course_feedback
    FOR EACH ROW EXECUTE FUNCTION learnstore_refuse_suspended('user_clerk_id');
CREATE TRIGGER feedback_upvotes_refuse_suspended BEFORE INSERT OR DELETE ON feedback_upvotes
    FOR EACH ROW EXECUTE FUNCTION learnstore_refuse_suspended('user_clerk_id');
CREATE TRIGGER suggested_edits_refuse_suspended BEFORE INSERT ON suggested_edits
    FOR EACH ROW EXECUTE FUNCTION learnstore_refuse_suspended('author_clerk_id');
CREATE TRIGGER courses_refuse_suspended BEFORE INSERT ON courses
    FOR EACH ROW EXECUTE FUNCTION learnstore_refuse_suspended('author_clerk_id');
CREATE TRIGGER moderation_reports_refuse_suspended BEFORE INSERT ON moderation_reports
    FOR EACH ROW EXECUTE FUNCTION learnstore_refuse_suspended('reporter_clerk_id');

-- ---- locked threads ----------------------------------------------------------------------------

-- A reply to a locked thread is refused. FOR SHARE on the post conflicts with the lock's UPDATE of
-- it: a reply that started before the lock commits first, one that comes after waits and then
-- reads the lock (READ COMMITTED re-reads the locked row), so no reply slips in after a lock.
-- SECURITY DEFINER: a learner may not lock (FOR SHARE) another user's post row themselves.
CREATE FUNCTION forum_replies_refuse_locked() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    locked timestamptz;
BEGIN
    SELECT p.locked_at INTO locked FROM public.forum_posts p WHERE p.id = NEW.post_id FOR SHARE;
    IF locked IS NOT NULL THEN
        RAISE EXCEPTION 'thread % is locked: no new replies', NEW.post_id
            USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'post_id';
    END IF;
    RETURN NEW;
END
$$;
REVOKE EXECUTE ON FUNCTION forum_replies_refuse_locked() FROM PUBLIC;
CREATE TRIGGER forum_replies_refuse_locked BEFORE INSERT ON forum_replies
    FOR EACH ROW EXECUTE FUNCTION forum_replies_refuse_locked();

-- ---- the moderator's operations ------------------------------------------------------------------

-- Who acts: under as_user the acting user (a different `claimed` is refused), on the service path
-- the named moderator; either must hold the site role moderator or admin.
CREATE FUNCTION moderation_moderator(claimed text) RETURNS text
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    actor text := public.learnstore_actor();
    who text := coalesce(actor, claimed);
BEGIN
    IF actor IS NOT NULL AND claimed IS DISTINCT FROM actor THEN
        RAISE EXCEPTION 'moderator_clerk_id % is not the acting user %', claimed, actor
            USING ERRCODE = 'insufficient_privilege', HINT = 'moderator_clerk_id';
    END IF;
    IF NOT EXISTS (SELECT FROM public.site_roles r WHERE r.user_clerk_id = who AND r.role IN ('moderator', 'admin')) THEN
        RAISE EXCEPTION 'user % is not a moderator or admin', who
            USING ERRCODE = 'insufficient_privilege', HINT = 'moderator_clerk_id';
    END IF;
    RETURN who;
END
$$;
REVOKE EXECUTE ON FUNCTION moderation_moderator(text) FROM PUBLIC;

-- Hides (hidden true) or unhides one post, reply or review; hiding resolves the target's open
-- reports and notifies its author. No row when it already was so: of two moderators hiding at once
-- the UPDATE's row lock lets one through, the other finds hidden_at set and records nothing.
CREATE FUNCTION moderation_set_hidden(
    p_moderator text, p_post_id uuid, p_reply_id uuid, p_feedback_id uuid, p_hidden boolean, p_reason text
) RETURNS SETOF moderation_actions
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    who text := public.moderation_moderator(p_moderator);
    author text;
    course uuid;
    post uuid;
    title text;
    changed boolean;
    result public.moderation_actions;
BEGIN
    IF num_nonnulls(p_post_id, p_reply_id, p_feedback_id) <> 1 THEN
        RAISE EXCEPTION 'exactly one of post_id, reply_id, feedback_id is the target'
            USING HINT = 'target';
    END IF;
    IF p_post_id IS NOT NULL THEN
        SELECT p.author_clerk_id, p.course_id, p.id, p.title, (p.hidden_at IS NULL) = p_hidden
        INTO author, course, post, title, changed FROM public.forum_posts p WHERE p.id = p_post_id FOR UPDATE;
    ELSIF p_reply_id IS NOT NULL THEN
        SELECT r.author_clerk_id, p.course_id, p.id, p.title, (r.hidden_at IS NULL) = p_hidden
        INTO author, course, post, title, changed
        FROM public.forum_replies r JOIN public.forum_posts p ON p.id = r.post_id
        WHERE r.id = p_reply_id FOR UPDATE OF r;
    ELSE
        SELECT f.user_clerk_id, f.course_id, NULL, c.title, (f.hidden_at IS NULL) = p_hidden
        INTO author, course, post, title, changed
        FROM public.course_feedback f JOIN public.courses c ON c.id = f.course_id
        WHERE f.id = p_feedback_id FOR UPDATE OF f;
    END IF;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no % with id %', CASE WHEN p_post_id IS NOT NULL THEN 'post' WHEN p_reply_id IS NOT NULL
            THEN 'reply' ELSE 'review' END, coalesce(p_post_id, p_reply_id, p_feedback_id)
            USING ERRCODE = 'no_data_found',
                  HINT = CASE WHEN p_post_id IS NOT NULL THEN 'post_id' WHEN p_reply_id IS NOT NULL
                              THEN 'reply_id' ELSE 'feedback_id' END;
    END IF;
    IF NOT changed THEN
        RETURN;
    END IF;
    UPDATE public.forum_posts SET hidden_at = CASE WHEN p_hidden THEN now() END WHERE id = p_post_id;
    UPDATE public.forum_replies SET hidden_at = CASE WHEN p_hidden THEN now() END WHERE id = p_reply_id;
    UPDATE public.course_feedback SET hidden_at = CASE WHEN p_hidden THEN now() END WHERE id = p_feedback_id;
    IF p_hidden THEN
        UPDATE public.moderation_reports m SET status = 'resolved', resolved_by = who, resolved_at = now()
        WHERE m.status = 'open'
          AND (m.post_id = p_post_id OR m.reply_id = p_reply_id OR m.feedback_id = p_feedback_id);
        IF author IS NOT NULL AND author <> who THEN
            INSERT INTO public.notifications (user_clerk_id, type, message, source_id, source_type, metadata)
            VALUES (author, 'system',
                    'A moderator hid your ' || CASE WHEN p_post_id IS NOT NULL THEN 'post'
                        WHEN p_reply_id IS NOT NULL THEN 'reply' ELSE 'review' END
                    || ' in "' || left(title, 200) || '": ' || left(p_reason, 1500),
                    coalesce(p_reply_id, post, course),
                    CASE WHEN p_post_id IS NOT NULL THEN 'forum_post' WHEN p_reply_id IS NOT NULL
                         THEN 'forum_reply' ELSE 'course' END,
                    jsonb_build_object('moderation', 'hide', 'course_id', course, 'post_id', post,
                                       'reply_id', p_reply_id, 'feedback_id', p_feedback_id));
        END IF;
    END IF;
    INSERT INTO public.moderation_actions (moderator_clerk_id, action, post_id, reply_id, feedback_id,
                                           subject_clerk_id, reason)
    VALUES (who, CASE WHEN p_hidden THEN 'hide' ELSE 'unhide' END, p_post_id, p_reply_id, p_feedback_id,
            author, p_reason)
    RETURNING * INTO result;
    RETURN NEXT result;
END
$$;
REVOKE EXECUTE ON FUNCTION moderation_set_hidden(text, uuid, uuid, uuid, boolean, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION moderation_set_hidden(text, uuid, uuid, uuid, boolean, text) TO learnstore_app;

-- Locks, unlocks, pins or unpins a thread (p_action); no row when it already was so.
CREATE FUNCTION moderation_set_thread(p_moderator text, p_post_id uuid, p_action text, p_reason text)
    RETURNS SETOF moderation_actions
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    who text := public.moderation_moderator(p_moderator);
    post public.forum_posts;
    result public.moderation_actions;
BEGIN
    IF p_action IS NULL OR p_action NOT IN ('lock', 'unlock', 'pin', 'unpin') THEN
        RAISE EXCEPTION 'action must be lock, unlock, pin or unpin, not %', p_action
            USING HINT = 'action';
    END IF;
    SELECT * INTO post FROM public.forum_posts p WHERE p.id = p_post_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no post with id %', p_post_id USING ERRCODE = 'no_data_found', HINT = 'post_id';
    END IF;
    IF (p_action = 'lock' AND post.locked_at IS NOT NULL) OR (p_action = 'unlock' AND post.locked_at IS NULL)
       OR (p_action = 'pin' AND post.pinned_at IS NOT NULL) OR (p_action = 'unpin' AND post.pinned_at IS NULL) THEN
        RETURN;
    END IF;
    UPDATE public.forum_posts p
    SET locked_at = CASE p_action WHEN 'lock' THEN now() WHEN 'unlock' THEN NULL ELSE p.locked_at END,
        pinned_at = CASE p_action WHEN 'pin' THEN now() WHEN 'unpin' THEN NULL ELSE p.pinned_at END
    WHERE p.id = p_post_id;
    INSERT INTO public.moderation_actions (moderator_clerk_id, action, post_id, subject_clerk_id, reason)
    VALUES (who, p_action, p_post_id, post.author_clerk_id, p_reason)
    RETURNING * INTO result;
    RETURN NEXT result;
END
$$;
REVOKE EXECUTE ON FUNCTION moderation_set_thread(text, uuid, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION moderation_set_thread(text, uuid, text, text) TO learnstore_app;

-- Suspends a user until p_until (a later call moves the end), or, with p_until NULL, lifts the
-- suspension; the user is notified. No row when lifting a suspension there is not.
CREATE FUNCTION moderation_set_suspension(p_moderator text, p_user text, p_until timestamptz, p_reason text)
    RETURNS SETOF moderation_actions
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    who text := public.moderation_moderator(p_moderator);
    result public.moderation_actions;
BEGIN
    IF NOT EXISTS (SELECT FROM public.users u WHERE u.clerk_id = p_user) THEN
        RAISE EXCEPTION 'no user with clerk_id %', p_user USING ERRCODE = 'no_data_found', HINT = 'clerk_id';
    END IF;
    IF p_user = who THEN
        RAISE EXCEPTION 'a moderator does not suspend themselves' USING HINT = 'clerk_id';
    END IF;
    IF p_until IS NULL THEN
        DELETE FROM public.user_suspensions s WHERE s.user_clerk_id = p_user AND s.suspended_until > now();
        IF NOT FOUND THEN
            RETURN;
        END IF;
        INSERT INTO public.notifications (user_clerk_id, type, message, metadata)
        VALUES (p_user, 'system', 'Your suspension was lifted: ' || left(p_reason, 1500),
                jsonb_build_object('moderation', 'unsuspend'));
    ELSE
        IF p_until <= now() THEN
            RAISE EXCEPTION 'until must be in the future' USING HINT = 'until';
        END IF;
        INSERT INTO public.user_suspensions (user_clerk_id, suspended_until, reason, suspended_by)
        VALUES (p_user, p_until, p_reason, who)
        ON CONFLICT (user_clerk_id) DO UPDATE
        SET suspended_until = excluded.suspended_until, reason = excluded.reason, suspended_by = excluded.suspended_by;
        INSERT INTO public.notifications (user_clerk_id, type, message, metadata)
        VALUES (p_user, 'system',
                'You are suspended until ' || to_char(p_until AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI "UTC"')
                || ': ' || left(p_reason, 1500),
                jsonb_build_object('moderation', 'suspend', 'until', p_until));
    END IF;
    INSERT INTO public.moderation_actions (moderator_clerk_id, action, subject_clerk_id, reason, details)
    VALUES (who, CASE WHEN p_until IS NULL THEN 'unsuspend' ELSE 'suspend' END, p_user, p_reason,
            CASE WHEN p_until IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('until', p_until) END)
    RETURNING * INTO result;
    RETURN NEXT result;
END
$$;
REVOKE EXECUTE ON FUNCTION moderation_set_suspension(text, text, timestamptz, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION moderation_set_suspension(text, text, timestamptz, text) TO learnstore_app;

-- Dismisses a target's open reports (the content stays); no row when none was open.
CREATE FUNCTION moderation_dismiss(p_moderator text, p_post_id uuid, p_reply_id uuid, p_feedback_id uuid, p_reason text)
    RETURNS SETOF moderation_actions
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    who text := public.moderation_moderator(p_moderator);
    dismissed integer;
    result public.moderation_actions;
BEGIN
    IF num_nonnulls(p_post_id, p_reply_id, p_feedback_id) <> 1 THEN
        RAISE EXCEPTION 'exactly one of post_id, reply_id, feedback_id is the target'
            USING HINT = 'target';
    END IF;
    UPDATE public.moderation_reports m SET status = 'dismissed', resolved_by = who, resolved_at = now()
    WHERE m.status = 'open'
      AND (m.post_id = p_post_id OR m.reply_id = p_reply_id OR m.feedback_id = p_feedback_id);
    GET DIAGNOSTICS dismissed = ROW_COUNT;
    IF dismissed = 0 THEN
        RETURN;
    END IF;
    INSERT INTO public.moderation_actions (moderator_clerk_id, action, post_id, reply_id, feedback_id, reason, details)
    VALUES (who, 'dismiss', p_post_id, p_reply_id, p_feedback_id, p_reason, jsonb_build_object('reports', dismissed))
    RETURNING * INTO result;
    RETURN NEXT result;
END
$$;
REVOKE EXECUTE ON FUNCTION moderation_dismiss(text, uuid, uuid, uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION moderation_dismiss(text, uuid, uuid, uuid, text) TO learnstore_app;

-- ---- what learnstore_app may do directly (docs/security.md's model) ----------------------------

-- Reports: a user files one in their own name and reads their own; moderators and admins read all.
-- Nobody updates or deletes one directly (moderation_set_hidden, moderation_dismiss do).
REVOKE ALL ON moderation_reports FROM learnstore_app;
GRANT SELECT ON moderation_reports TO learnstore_app;
GRANT INSERT (reporter_clerk_id, post_id, reply_id, feedback_id, reason) ON moderation_reports TO learnstore_app;
ALTER TABLE moderation_reports ENABLE ROW LEVEL SECURITY;
CREATE POLICY moderation_reports_own_or_moderator_select ON moderation_reports FOR SELECT
    USING (reporter_clerk_id = (select learnstore_actor())
           OR (select learnstore_has_site_role('moderator')) OR (select learnstore_has_site_role('admin')));
CREATE POLICY moderation_reports_own_insert ON moderation_reports FOR INSERT
    WITH CHECK (reporter_clerk_id = (select learnstore_actor()));

-- The action log: moderators and admins read it; only the functions above write it.
REVOKE ALL ON moderation_actions FROM learnstore_app;
GRANT SELECT ON moderation_actions TO learnstore_app;
ALTER TABLE moderation_actions ENABLE ROW LEVEL SECURITY;
CREATE POLICY moderation_actions_moderator_select ON moderation_actions FOR SELECT
    USING ((select learnstore_has_site_role('moderator')) OR (select learnstore_has_site_role('admin')));

-- Suspensions: the suspended user reads their own, moderators and admins all; only
-- moderation_set_suspension writes them.
REVOKE ALL ON user_suspensions FROM learnstore_app;
GRANT SELECT ON user_suspensions TO learnstore_app;
ALTER TABLE user_suspensions ENABLE ROW LEVEL SECURITY;
CREATE POLICY user_suspensions_own_or_moderator_select ON user_suspensions FOR SELECT
    USING (user_clerk_id = (select learnstore_actor())
           OR (select learnstore_has_site_role('moderator')) OR (select learnstore_has_site_role('admin')));

-- The moderation columns are the moderators' (through the functions above, which run as the
-- owner): learnstore_app sets none of them, in an INSERT (a thread created pinned) or an UPDATE.
-- A trigger rather than column grants, so the table grants of the permission model stay as they are.
CREATE FUNCTION learnstore_refuse_moderation_columns() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    new_row jsonb := to_jsonb(NEW);
    old_row jsonb := CASE WHEN TG_OP = 'UPDATE' THEN to_jsonb(OLD) ELSE '{}'::jsonb END;
    col text;
BEGIN
    IF current_user = 'learnstore_app' THEN
        FOREACH col IN ARRAY TG_ARGV LOOP
            IF new_row -> col IS DISTINCT FROM coalesce(old_row -> col, 'null'::jsonb) THEN
                RAISE EXCEPTION '% of % is set by a moderator only', col, TG_TABLE_NAME
                    USING ERRCODE = 'insufficient_privilege', HINT = col;
            END IF;
        END LOOP;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER forum_posts_refuse_moderation_columns BEFORE INSERT OR UPDATE ON forum_posts
    FOR EACH ROW EXECUTE FUNCTION learnstore_refuse_moderation_columns('hidden_at', 'locked_at', 'pinned_at');
CREATE TRIGGER forum_replies_refuse_moderation_columns BEFORE INSERT OR UPDATE ON forum_replies
    FOR EACH ROW EXECUTE FUNCTION learnstore_refuse_moderation_columns('hidden_at');
CREATE TRIGGER course_feedback_refuse_moderation_columns BEFORE INSERT OR UPDATE ON course_feedback
    FOR EACH ROW EXECUTE FUNCTION learnstore_refuse_moderation_columns('hidden_at');
REVOKE EXECUTE ON FUNCTION learnstore_refuse_moderation_columns() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION moderation_actions_append_only() FROM PUBLIC;
