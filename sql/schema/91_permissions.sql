-- The permission model (docs/security.md, learnstore.security.MODEL): site-wide roles, and the
-- helpers every policy reads the acting identity through.
--
-- Under as_user() the acting identity is the transaction-local setting learnstore.clerk_id; the
-- policies call learnstore_actor() wrapped in a sub-select, `(select learnstore_actor())`, so the
-- planner evaluates it once per statement (an InitPlan), not once per row.

-- Site-wide roles: a moderator or an admin of the whole platform (a course's team is `collaborators`).
CREATE TABLE site_roles (
    id            uuid        NOT NULL DEFAULT uuidv7(),
    user_clerk_id text        NOT NULL,
    role          text        NOT NULL,
    granted_by    text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT site_roles_pkey PRIMARY KEY (id),
    CONSTRAINT site_roles_user_role_key UNIQUE (user_clerk_id, role),
    CONSTRAINT site_roles_user_clerk_id_fkey FOREIGN KEY (user_clerk_id)
        REFERENCES users (clerk_id) ON UPDATE CASCADE ON DELETE CASCADE,
    CONSTRAINT site_roles_granted_by_fkey FOREIGN KEY (granted_by)
        REFERENCES users (clerk_id) ON UPDATE CASCADE ON DELETE SET NULL,
    CONSTRAINT site_roles_role_valid CHECK (role IN ('moderator', 'admin'))
);
COMMENT ON TABLE site_roles IS 'A user''s site-wide role (moderator or admin), granted by an admin or the service.';
COMMENT ON COLUMN site_roles.granted_by IS 'The admin who granted the role; NULL when the service granted it (or the admin was erased).';
CREATE INDEX site_roles_granted_by_idx ON site_roles (granted_by);
CREATE TRIGGER site_roles_set_updated_at BEFORE UPDATE ON site_roles
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- The acting identity: the clerk id as_user() set for this transaction, NULL on the service path.
-- STABLE: one value per statement, which is what lets `(select learnstore_actor())` run once.
CREATE FUNCTION learnstore_actor() RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    RETURN nullif(current_setting('learnstore.clerk_id', true), '');
COMMENT ON FUNCTION learnstore_actor() IS 'The acting user''s clerk id under as_user(), NULL without one.';

-- Whether the acting identity holds a site-wide role. SECURITY DEFINER because learnstore_app reads
-- only its own site_roles rows... and a policy on site_roles that read site_roles as the invoker
-- would recurse. Its caller check: it answers for the acting identity only, never for a given user.
CREATE FUNCTION learnstore_has_site_role(wanted text) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    RETURN EXISTS (SELECT FROM public.site_roles r
                   WHERE r.user_clerk_id = public.learnstore_actor() AND r.role = wanted);
COMMENT ON FUNCTION learnstore_has_site_role(text) IS 'Whether the acting user (learnstore_actor()) holds the site-wide role `wanted`.';
REVOKE EXECUTE ON FUNCTION learnstore_actor() FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION learnstore_has_site_role(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION learnstore_actor() TO learnstore_app;
GRANT EXECUTE ON FUNCTION learnstore_has_site_role(text) TO learnstore_app;

-- site_roles: a user sees their own roles, an admin sees everyone's; only an admin grants (in their
-- own name) and revokes. Nobody updates a grant: revoke and grant again.
REVOKE ALL ON site_roles FROM learnstore_app;
GRANT SELECT, DELETE ON site_roles TO learnstore_app;
GRANT INSERT (user_clerk_id, role, granted_by) ON site_roles TO learnstore_app;
ALTER TABLE site_roles ENABLE ROW LEVEL SECURITY;
CREATE POLICY site_roles_own_or_admin_select ON site_roles FOR SELECT
    USING (user_clerk_id = (select learnstore_actor()) OR (select learnstore_has_site_role('admin')));
CREATE POLICY site_roles_admin_insert ON site_roles FOR INSERT
    WITH CHECK ((select learnstore_has_site_role('admin')) AND granted_by = (select learnstore_actor()));
CREATE POLICY site_roles_admin_delete ON site_roles FOR DELETE
    USING ((select learnstore_has_site_role('admin')));

-- What learnstore_app may touch, table by table and column by column (learnstore.security.MODEL); the
-- policies below narrow it to rows. No table gets a blanket grant: a new table gets nothing until
-- a migration grants it (and tests/test_permissions.py fails until the model has its rule).
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM learnstore_app;
REVOKE ALL ON achievements FROM learnstore_app;
GRANT SELECT, DELETE ON achievements TO learnstore_app;
GRANT INSERT (code, title, description, icon_url, points, requirement) ON achievements TO learnstore_app;
GRANT UPDATE (code, title, description, icon_url, points, requirement) ON achievements TO learnstore_app;
REVOKE ALL ON collaborators FROM learnstore_app;
GRANT SELECT, DELETE ON collaborators TO learnstore_app;
GRANT INSERT (course_id, user_clerk_id, role, status) ON collaborators TO learnstore_app;
GRANT UPDATE (role, status) ON collaborators TO learnstore_app;
REVOKE ALL ON course_feedback FROM learnstore_app;
GRANT SELECT, DELETE ON course_feedback TO learnstore_app;
GRANT INSERT (course_id, user_clerk_id, rating, comment) ON course_feedback TO learnstore_app;
GRANT UPDATE (rating, comment) ON course_feedback TO learnstore_app;
REVOKE ALL ON course_tags FROM learnstore_app;
GRANT SELECT, DELETE ON course_tags TO learnstore_app;
GRANT INSERT (course_id, tag_id) ON course_tags TO learnstore_app;
REVOKE ALL ON courses FROM learnstore_app;
GRANT SELECT, DELETE ON courses TO learnstore_app;
GRANT INSERT (author_clerk_id, title, description, difficulty, estimated_duration_minutes, learning_objectives, cover_image_url, language_id, status, published_at, open_to_collaboration) ON courses TO learnstore_app;
GRANT UPDATE (title, description, difficulty, estimated_duration_minutes, learning_objectives, cover_image_url, language_id, status, published_at, open_to_collaboration) ON courses TO learnstore_app;
REVOKE ALL ON favorites FROM learnstore_app;
GRANT SELECT, DELETE ON favorites TO learnstore_app;
GRANT INSERT (user_clerk_id, course_id) ON favorites TO learnstore_app;
GRANT UPDATE (course_id) ON favorites TO learnstore_app;
REVOKE ALL ON feedback_upvotes FROM learnstore_app;
GRANT SELECT, DELETE ON feedback_upvotes TO learnstore_app;
GRANT INSERT (feedback_id, user_clerk_id) ON feedback_upvotes TO learnstore_app;
REVOKE ALL ON flashcard_reviews FROM learnstore_app;
GRANT SELECT, DELETE ON flashcard_reviews TO learnstore_app;
GRANT INSERT (user_clerk_id, flashcard_id, review_number, rating, reviewed_at, elapsed_days, review_duration_ms, state_before, step_before, stability_before, difficulty_before, due_before, state_after, step_after, stability_after, difficulty_after, due_after) ON flashcard_reviews TO learnstore_app;
GRANT UPDATE (flashcard_id, review_number, rating, reviewed_at, elapsed_days, review_duration_ms, state_before, step_before, stability_before, difficulty_before, due_before, state_after, step_after, stability_after, difficulty_after, due_after) ON flashcard_reviews TO learnstore_app;
REVOKE ALL ON flashcard_sets FROM learnstore_app;
GRANT SELECT, DELETE ON flashcard_sets TO learnstore_app;
GRANT INSERT (owner_clerk_id, course_id, title, description, is_public) ON flashcard_sets TO learnstore_app;
GRANT UPDATE (course_id, title, description, is_public) ON flashcard_sets TO learnstore_app;
REVOKE ALL ON flashcards FROM learnstore_app;
GRANT SELECT, DELETE ON flashcards TO learnstore_app;
GRANT INSERT (set_id, front, back, position) ON flashcards TO learnstore_app;
GRANT UPDATE (front, back, position) ON flashcards TO learnstore_app;
REVOKE ALL ON forum_post_likes FROM learnstore_app;
GRANT SELECT, DELETE ON forum_post_likes TO learnstore_app;
GRANT INSERT (post_id, user_clerk_id) ON forum_post_likes TO learnstore_app;
REVOKE ALL ON forum_posts FROM learnstore_app;
GRANT SELECT, DELETE ON forum_posts TO learnstore_app;
GRANT INSERT (course_id, author_clerk_id, title, body, edited_at, deleted_at) ON forum_posts TO learnstore_app;
GRANT UPDATE (title, body, edited_at, deleted_at) ON forum_posts TO learnstore_app;
REVOKE ALL ON forum_replies FROM learnstore_app;
GRANT SELECT, DELETE ON forum_replies TO learnstore_app;
GRANT INSERT (post_id, parent_reply_id, author_clerk_id, body, edited_at, deleted_at) ON forum_replies TO learnstore_app;
GRANT UPDATE (body, edited_at, deleted_at) ON forum_replies TO learnstore_app;
REVOKE ALL ON forum_reply_likes FROM learnstore_app;
GRANT SELECT, DELETE ON forum_reply_likes TO learnstore_app;
GRANT INSERT (reply_id, user_clerk_id) ON forum_reply_likes TO learnstore_app;
REVOKE ALL ON languages FROM learnstore_app;
GRANT SELECT, DELETE ON languages TO learnstore_app;
GRANT INSERT (code, name) ON languages TO learnstore_app;
GRANT UPDATE (code, name) ON languages TO learnstore_app;
REVOKE ALL ON learning_goals FROM learnstore_app;
GRANT SELECT, DELETE ON learning_goals TO learnstore_app;
GRANT INSERT (user_clerk_id, title, description, target_date, progress, completed_at) ON learning_goals TO learnstore_app;
GRANT UPDATE (title, description, target_date, progress, completed_at) ON learning_goals TO learnstore_app;
REVOKE ALL ON lessons FROM learnstore_app;
GRANT SELECT, DELETE ON lessons TO learnstore_app;
GRANT INSERT (unit_id, title, content_type, content, duration_seconds, position) ON lessons TO learnstore_app;
GRANT UPDATE (unit_id, title, content_type, content, duration_seconds, position) ON lessons TO learnstore_app;
REVOKE ALL ON login_days FROM learnstore_app;
GRANT SELECT, DELETE ON login_days TO learnstore_app;
GRANT INSERT (user_clerk_id, day, first_seen_at) ON login_days TO learnstore_app;
GRANT UPDATE (day, first_seen_at) ON login_days TO learnstore_app;
REVOKE ALL ON media FROM learnstore_app;
GRANT SELECT, DELETE ON media TO learnstore_app;
GRANT INSERT (lesson_id, media_type, url, title) ON media TO learnstore_app;
GRANT UPDATE (lesson_id, media_type, url, title) ON media TO learnstore_app;
REVOKE ALL ON notifications FROM learnstore_app;
GRANT SELECT, DELETE ON notifications TO learnstore_app;
GRANT INSERT (user_clerk_id, type, message, source_id, source_type, metadata, read_at) ON notifications TO learnstore_app;
GRANT UPDATE (read_at) ON notifications TO learnstore_app;
REVOKE ALL ON quiz_attempts FROM learnstore_app;
GRANT SELECT, DELETE ON quiz_attempts TO learnstore_app;
GRANT INSERT (quiz_id, user_clerk_id, answer, is_correct) ON quiz_attempts TO learnstore_app;
GRANT UPDATE (quiz_id, answer, is_correct) ON quiz_attempts TO learnstore_app;
REVOKE ALL ON quizzes FROM learnstore_app;
GRANT SELECT, DELETE ON quizzes TO learnstore_app;
GRANT INSERT (lesson_id, question, question_type, options, correct_answer) ON quizzes TO learnstore_app;
GRANT UPDATE (lesson_id, question, question_type, options, correct_answer) ON quizzes TO learnstore_app;
REVOKE ALL ON suggested_edits FROM learnstore_app;
GRANT SELECT ON suggested_edits TO learnstore_app;
GRANT INSERT (course_id, lesson_id, author_clerk_id, summary, payload, base_updated_at) ON suggested_edits TO learnstore_app;
GRANT UPDATE (status, reviewer_clerk_id, reviewed_at, review_note) ON suggested_edits TO learnstore_app;
REVOKE ALL ON tags FROM learnstore_app;
GRANT SELECT, DELETE ON tags TO learnstore_app;
GRANT INSERT (name) ON tags TO learnstore_app;
GRANT UPDATE (name) ON tags TO learnstore_app;
REVOKE ALL ON units FROM learnstore_app;
GRANT SELECT, DELETE ON units TO learnstore_app;
GRANT INSERT (course_id, title, description, position) ON units TO learnstore_app;
GRANT UPDATE (course_id, title, description, position) ON units TO learnstore_app;
REVOKE ALL ON user_achievements FROM learnstore_app;
GRANT SELECT ON user_achievements TO learnstore_app;
REVOKE ALL ON user_courses FROM learnstore_app;
GRANT SELECT, DELETE ON user_courses TO learnstore_app;
GRANT INSERT (user_clerk_id, course_id, enrolled_at, progress, completed_at) ON user_courses TO learnstore_app;
GRANT UPDATE (course_id, enrolled_at, progress, completed_at) ON user_courses TO learnstore_app;
REVOKE ALL ON user_flashcard_progress FROM learnstore_app;
GRANT SELECT, DELETE ON user_flashcard_progress TO learnstore_app;
GRANT INSERT (user_clerk_id, flashcard_id, repetitions, interval_days, ease_factor, mastery, next_review_at, last_reviewed_at, state, step, stability, difficulty) ON user_flashcard_progress TO learnstore_app;
GRANT UPDATE (flashcard_id, repetitions, interval_days, ease_factor, mastery, next_review_at, last_reviewed_at, state, step, stability, difficulty) ON user_flashcard_progress TO learnstore_app;
REVOKE ALL ON user_points FROM learnstore_app;
GRANT SELECT ON user_points TO learnstore_app;
REVOKE ALL ON user_progress FROM learnstore_app;
GRANT SELECT, DELETE ON user_progress TO learnstore_app;
GRANT INSERT (user_clerk_id, lesson_id, status, started_at, completed_at) ON user_progress TO learnstore_app;
GRANT UPDATE (lesson_id, status, started_at, completed_at) ON user_progress TO learnstore_app;
REVOKE ALL ON user_streaks FROM learnstore_app;
GRANT SELECT, DELETE ON user_streaks TO learnstore_app;
GRANT INSERT (user_clerk_id, current_streak, longest_streak, last_active_date) ON user_streaks TO learnstore_app;
GRANT UPDATE (current_streak, longest_streak, last_active_date) ON user_streaks TO learnstore_app;
REVOKE ALL ON users FROM learnstore_app;
GRANT SELECT, DELETE ON users TO learnstore_app;
GRANT UPDATE (first_name, last_name, avatar_url, bio, timezone) ON users TO learnstore_app;

-- ---- helpers the policies call -------------------------------------------------------------------

-- The courses whose team the acting user is on in one of `roles`: 'author' (the course's author), or
-- 'editor' / 'reviewer' (an accepted collaborator in that role). A policy asks `course_id IN (SELECT
-- learnstore_team_courses(...))`, an uncorrelated sub-select: evaluated once per statement, then a
-- hash lookup per row. SECURITY DEFINER because collaborators' own policies call it (reading
-- collaborators as the invoker would recurse); it answers for the acting identity only.
CREATE FUNCTION learnstore_team_courses(roles text[]) RETURNS SETOF uuid
    LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT c.id FROM public.courses c
    WHERE 'author' = ANY (roles) AND c.author_clerk_id = public.learnstore_actor()
    UNION
    SELECT k.course_id FROM public.collaborators k
    WHERE k.user_clerk_id = public.learnstore_actor() AND k.status = 'accepted' AND k.role = ANY (roles);
END;
COMMENT ON FUNCTION learnstore_team_courses(text[]) IS 'The courses the acting user authors (''author'' in roles) or is an accepted collaborator of in one of roles.';
REVOKE EXECUTE ON FUNCTION learnstore_team_courses(text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION learnstore_team_courses(text[]) TO learnstore_app;

-- What the acting user may not see of the content: the draft courses they are not on the team of
-- (an admin sees every draft), and their units and lessons. A content policy asks `course_id NOT IN
-- (SELECT learnstore_hidden_courses())`: an uncorrelated sub-select, run once per statement and
-- hashed, so a list pays one lookup per row, and the published catalog (whose drafts are few) little.
-- SECURITY DEFINER: they read what the policies hide, for the acting identity only. PL/pgSQL, each
-- one query with no nested function call: its plan is cached for the session, where a SQL function
-- that cannot be inlined (SECURITY DEFINER, SET) is planned on every call, nested ones included
-- (2.3 ms a statement for the lessons' set, 0.2 ms this way).
CREATE FUNCTION learnstore_hidden_courses() RETURNS SETOF uuid
    LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    actor text := nullif(current_setting('learnstore.clerk_id', true), '');
BEGIN
    RETURN QUERY
    SELECT c.id FROM public.courses c
    WHERE c.status = 'draft' AND c.author_clerk_id IS DISTINCT FROM actor
      AND NOT EXISTS (SELECT FROM public.site_roles r WHERE r.user_clerk_id = actor AND r.role = 'admin')
      AND NOT EXISTS (SELECT FROM public.collaborators k
                      WHERE k.course_id = c.id AND k.user_clerk_id = actor AND k.status = 'accepted'
                        AND k.role IN ('editor', 'reviewer'));
END
$$;
COMMENT ON FUNCTION learnstore_hidden_courses() IS 'The draft courses the acting user is not on the team of (none for an admin).';
REVOKE EXECUTE ON FUNCTION learnstore_hidden_courses() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION learnstore_hidden_courses() TO learnstore_app;

CREATE FUNCTION learnstore_hidden_units() RETURNS SETOF uuid
    LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    actor text := nullif(current_setting('learnstore.clerk_id', true), '');
BEGIN
    RETURN QUERY
    SELECT u.id FROM public.courses c JOIN public.units u ON u.course_id = c.id
    WHERE c.status = 'draft' AND c.author_clerk_id IS DISTINCT FROM actor
      AND NOT EXISTS (SELECT FROM public.site_roles r WHERE r.user_clerk_id = actor AND r.role = 'admin')
      AND NOT EXISTS (SELECT FROM public.collaborators k
                      WHERE k.course_id = c.id AND k.user_clerk_id = actor AND k.status = 'accepted'
                        AND k.role IN ('editor', 'reviewer'));
END
$$;
COMMENT ON FUNCTION learnstore_hidden_units() IS 'The units of the courses learnstore_hidden_courses() hides.';
REVOKE EXECUTE ON FUNCTION learnstore_hidden_units() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION learnstore_hidden_units() TO learnstore_app;

CREATE FUNCTION learnstore_hidden_lessons() RETURNS SETOF uuid
    LANGUAGE plpgsql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    actor text := nullif(current_setting('learnstore.clerk_id', true), '');
BEGIN
    RETURN QUERY
    SELECT l.id FROM public.courses c JOIN public.units u ON u.course_id = c.id
    JOIN public.lessons l ON l.unit_id = u.id
    WHERE c.status = 'draft' AND c.author_clerk_id IS DISTINCT FROM actor
      AND NOT EXISTS (SELECT FROM public.site_roles r WHERE r.user_clerk_id = actor AND r.role = 'admin')
      AND NOT EXISTS (SELECT FROM public.collaborators k
                      WHERE k.course_id = c.id AND k.user_clerk_id = actor AND k.status = 'accepted'
                        AND k.role IN ('editor', 'reviewer'));
END
$$;
COMMENT ON FUNCTION learnstore_hidden_lessons() IS 'The lessons of the courses learnstore_hidden_courses() hides.';
REVOKE EXECUTE ON FUNCTION learnstore_hidden_lessons() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION learnstore_hidden_lessons() TO learnstore_app;

-- Whether the acting user authors a course or edits one as an accepted editor: who may create tags.
CREATE FUNCTION learnstore_edits_any_course() RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    RETURN EXISTS (SELECT FROM public.learnstore_team_courses('{author,editor}'));
COMMENT ON FUNCTION learnstore_edits_any_course() IS 'Whether the acting user authors or co-edits at least one course.';
REVOKE EXECUTE ON FUNCTION learnstore_edits_any_course() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION learnstore_edits_any_course() TO learnstore_app;

-- A collaborator's role is the course author's to change (or an admin's), never the collaborator's:
-- the invitee may only answer (status), and a column grant cannot tell the author from the invitee.
CREATE FUNCTION collaborators_guard_role() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = public, pg_temp
AS $$
BEGIN
    IF NEW.role IS DISTINCT FROM OLD.role AND learnstore_actor() IS NOT NULL
       AND NOT learnstore_has_site_role('admin')
       AND NOT EXISTS (SELECT FROM learnstore_team_courses('{author}') t WHERE t = NEW.course_id) THEN
        RAISE EXCEPTION 'only the course''s author may change a collaborator''s role'
            USING ERRCODE = 'insufficient_privilege', HINT = 'role';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER collaborators_guard_role BEFORE UPDATE OF role ON collaborators
    FOR EACH ROW EXECUTE FUNCTION collaborators_guard_role();

-- ---- private tables: a user's own rows, nobody else's business --------------------------------------
ALTER TABLE user_streaks ENABLE ROW LEVEL SECURITY;
CREATE POLICY user_streaks_own_select ON user_streaks FOR SELECT USING (user_clerk_id = (select learnstore_actor()));
CREATE POLICY user_streaks_own_insert ON user_streaks FOR INSERT WITH CHECK (user_clerk_id = (select learnstore_actor()));
CREATE POLICY user_streaks_own_update ON user_streaks FOR UPDATE USING (user_clerk_id = (select learnstore_actor())) WITH CHECK (user_clerk_id = (select learnstore_actor()));
CREATE POLICY user_streaks_own_delete ON user_streaks FOR DELETE USING (user_clerk_id = (select learnstore_actor()));
ALTER TABLE login_days ENABLE ROW LEVEL SECURITY;
CREATE POLICY login_days_own_select ON login_days FOR SELECT USING (user_clerk_id = (select learnstore_actor()));
CREATE POLICY login_days_own_insert ON login_days FOR INSERT WITH CHECK (user_clerk_id = (select learnstore_actor()));
CREATE POLICY login_days_own_update ON login_days FOR UPDATE USING (user_clerk_id = (select learnstore_actor())) WITH CHECK (user_clerk_id = (select learnstore_actor()));
CREATE POLICY login_days_own_delete ON login_days FOR DELETE USING (user_clerk_id = (select learnstore_actor()));
ALTER TABLE learning_goals ENABLE ROW LEVEL SECURITY;
CREATE POLICY learning_goals_own_select ON learning_goals FOR SELECT USING (user_clerk_id = (select learnstore_actor()));
CREATE POLICY learning_goals_own_insert ON learning_goals FOR INSERT WITH CHECK (user_clerk_id = (select learnstore_actor()));
CREATE POLICY learning_goals_own_update ON learning_goals FOR UPDATE USING (user_clerk_id = (select learnstore_actor())) WITH CHECK (user_clerk_id = (select learnstore_actor()));
CREATE POLICY learning_goals_own_delete ON learning_goals FOR DELETE USING (user_clerk_id = (select learnstore_actor()));
ALTER TABLE quiz_attempts ENABLE ROW LEVEL SECURITY;
CREATE POLICY quiz_attempts_own_select ON quiz_attempts FOR SELECT USING (user_clerk_id = (select learnstore_actor()));
CREATE POLICY quiz_attempts_own_insert ON quiz_attempts FOR INSERT WITH CHECK (user_clerk_id = (select learnstore_actor()));
CREATE POLICY quiz_attempts_own_update ON quiz_attempts FOR UPDATE USING (user_clerk_id = (select learnstore_actor())) WITH CHECK (user_clerk_id = (select learnstore_actor()));
CREATE POLICY quiz_attempts_own_delete ON quiz_attempts FOR DELETE USING (user_clerk_id = (select learnstore_actor()));
ALTER TABLE user_courses ENABLE ROW LEVEL SECURITY;
CREATE POLICY user_courses_own_select ON user_courses FOR SELECT USING (user_clerk_id = (select learnstore_actor()));
CREATE POLICY user_courses_own_insert ON user_courses FOR INSERT WITH CHECK (user_clerk_id = (select learnstore_actor()));
CREATE POLICY user_courses_own_update ON user_courses FOR UPDATE USING (user_clerk_id = (select learnstore_actor())) WITH CHECK (user_clerk_id = (select learnstore_actor()));
CREATE POLICY user_courses_own_delete ON user_courses FOR DELETE USING (user_clerk_id = (select learnstore_actor()));
ALTER TABLE user_progress ENABLE ROW LEVEL SECURITY;
CREATE POLICY user_progress_own_select ON user_progress FOR SELECT USING (user_clerk_id = (select learnstore_actor()));
CREATE POLICY user_progress_own_insert ON user_progress FOR INSERT WITH CHECK (user_clerk_id = (select learnstore_actor()));
CREATE POLICY user_progress_own_update ON user_progress FOR UPDATE USING (user_clerk_id = (select learnstore_actor())) WITH CHECK (user_clerk_id = (select learnstore_actor()));
CREATE POLICY user_progress_own_delete ON user_progress FOR DELETE USING (user_clerk_id = (select learnstore_actor()));
ALTER TABLE user_flashcard_progress ENABLE ROW LEVEL SECURITY;
CREATE POLICY user_flashcard_progress_own_select ON user_flashcard_progress FOR SELECT USING (user_clerk_id = (select learnstore_actor()));
CREATE POLICY user_flashcard_progress_own_insert ON user_flashcard_progress FOR INSERT WITH CHECK (user_clerk_id = (select learnstore_actor()));
CREATE POLICY user_flashcard_progress_own_update ON user_flashcard_progress FOR UPDATE USING (user_clerk_id = (select learnstore_actor())) WITH CHECK (user_clerk_id = (select learnstore_actor()));
CREATE POLICY user_flashcard_progress_own_delete ON user_flashcard_progress FOR DELETE USING (user_clerk_id = (select learnstore_actor()));
ALTER TABLE flashcard_reviews ENABLE ROW LEVEL SECURITY;
CREATE POLICY flashcard_reviews_own_select ON flashcard_reviews FOR SELECT USING (user_clerk_id = (select learnstore_actor()));
CREATE POLICY flashcard_reviews_own_insert ON flashcard_reviews FOR INSERT WITH CHECK (user_clerk_id = (select learnstore_actor()));
CREATE POLICY flashcard_reviews_own_update ON flashcard_reviews FOR UPDATE USING (user_clerk_id = (select learnstore_actor())) WITH CHECK (user_clerk_id = (select learnstore_actor()));
CREATE POLICY flashcard_reviews_own_delete ON flashcard_reviews FOR DELETE USING (user_clerk_id = (select learnstore_actor()));
ALTER TABLE favorites ENABLE ROW LEVEL SECURITY;
CREATE POLICY favorites_own_select ON favorites FOR SELECT USING (user_clerk_id = (select learnstore_actor()));
CREATE POLICY favorites_own_insert ON favorites FOR INSERT WITH CHECK (user_clerk_id = (select learnstore_actor()));
CREATE POLICY favorites_own_update ON favorites FOR UPDATE USING (user_clerk_id = (select learnstore_actor())) WITH CHECK (user_clerk_id = (select learnstore_actor()));
CREATE POLICY favorites_own_delete ON favorites FOR DELETE USING (user_clerk_id = (select learnstore_actor()));
-- Awards are made by evaluate_achievements (SECURITY DEFINER) alone: a user reads their own.
ALTER TABLE user_achievements ENABLE ROW LEVEL SECURITY;
CREATE POLICY user_achievements_own_select ON user_achievements FOR SELECT USING (user_clerk_id = (select learnstore_actor()));

-- Notifications: a user reads, marks read (read_at, a column grant) and deletes their own. Others'
-- rows are inserted only as the side effect of an action of the acting user, signed by them
-- (metadata.by): a like notifies the author of the liked post or reply; a reply the author of the
-- post it answers (or of the reply it answers); a mention whoever was mentioned; an invitation the
-- invitee, by the course's author. Never a system notice, and never in someone else's name.
ALTER TABLE notifications ENABLE ROW LEVEL SECURITY;
CREATE POLICY notifications_own_select ON notifications FOR SELECT USING (user_clerk_id = (select learnstore_actor()));
CREATE POLICY notifications_own_insert ON notifications FOR INSERT WITH CHECK (user_clerk_id = (select learnstore_actor()));
CREATE POLICY notifications_own_update ON notifications FOR UPDATE
    USING (user_clerk_id = (select learnstore_actor())) WITH CHECK (user_clerk_id = (select learnstore_actor()));
CREATE POLICY notifications_own_delete ON notifications FOR DELETE USING (user_clerk_id = (select learnstore_actor()));
CREATE POLICY notifications_forum_actor_insert ON notifications FOR INSERT WITH CHECK (
    metadata ->> 'by' = (select learnstore_actor())
    AND (
        (type = 'like' AND source_type = 'forum_post'
         AND EXISTS (SELECT FROM forum_posts p WHERE p.id = source_id AND p.author_clerk_id = user_clerk_id))
        OR (type = 'like' AND source_type = 'forum_reply'
            AND EXISTS (SELECT FROM forum_replies r WHERE r.id = source_id AND r.author_clerk_id = user_clerk_id))
        -- the reply itself is new (this statement's snapshot does not hold it): the thread it answers does
        OR (type = 'reply' AND source_type = 'forum_reply'
            AND (EXISTS (SELECT FROM forum_posts p
                         WHERE p.id = (metadata ->> 'post_id')::uuid AND p.author_clerk_id = user_clerk_id)
                 OR EXISTS (SELECT FROM forum_replies r
                            WHERE r.post_id = (metadata ->> 'post_id')::uuid AND r.author_clerk_id = user_clerk_id)))
        OR (type = 'mention' AND source_type IN ('forum_post', 'forum_reply'))
    )
);
CREATE POLICY notifications_course_author_insert ON notifications FOR INSERT WITH CHECK (
    type = 'system' AND source_type = 'course' AND metadata ->> 'by' = (select learnstore_actor())
    AND source_id IN (SELECT learnstore_team_courses('{author}'))
);

-- ---- owned tables: everyone reads them, their user writes them -----------------------------------
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
CREATE POLICY users_anyone_select ON users FOR SELECT USING (true);
CREATE POLICY users_own_update ON users FOR UPDATE
    USING (clerk_id = (select learnstore_actor())) WITH CHECK (clerk_id = (select learnstore_actor()));
CREATE POLICY users_own_delete ON users FOR DELETE USING (clerk_id = (select learnstore_actor()));

-- A post or reply: its author edits and deletes it; the course's author moderates the course's forum
-- (delete_post / delete_reply tombstone or remove it).
ALTER TABLE forum_posts ENABLE ROW LEVEL SECURITY;
CREATE POLICY forum_posts_anyone_select ON forum_posts FOR SELECT USING (true);
CREATE POLICY forum_posts_own_insert ON forum_posts FOR INSERT WITH CHECK (author_clerk_id = (select learnstore_actor()));
CREATE POLICY forum_posts_own_update ON forum_posts FOR UPDATE
    USING (author_clerk_id = (select learnstore_actor())) WITH CHECK (author_clerk_id = (select learnstore_actor()));
CREATE POLICY forum_posts_own_delete ON forum_posts FOR DELETE USING (author_clerk_id = (select learnstore_actor()));
CREATE POLICY forum_posts_course_author_update ON forum_posts FOR UPDATE
    USING (course_id IN (SELECT learnstore_team_courses('{author}')))
    WITH CHECK (course_id IN (SELECT learnstore_team_courses('{author}')));
CREATE POLICY forum_posts_course_author_delete ON forum_posts FOR DELETE
    USING (course_id IN (SELECT learnstore_team_courses('{author}')));
ALTER TABLE forum_replies ENABLE ROW LEVEL SECURITY;
CREATE POLICY forum_replies_anyone_select ON forum_replies FOR SELECT USING (true);
CREATE POLICY forum_replies_own_insert ON forum_replies FOR INSERT WITH CHECK (author_clerk_id = (select learnstore_actor()));
CREATE POLICY forum_replies_own_update ON forum_replies FOR UPDATE
    USING (author_clerk_id = (select learnstore_actor())) WITH CHECK (author_clerk_id = (select learnstore_actor()));
CREATE POLICY forum_replies_own_delete ON forum_replies FOR DELETE USING (author_clerk_id = (select learnstore_actor()));
CREATE POLICY forum_replies_course_author_update ON forum_replies FOR UPDATE
    USING (post_id IN (SELECT p.id FROM forum_posts p WHERE p.course_id IN (SELECT learnstore_team_courses('{author}'))))
    WITH CHECK (post_id IN (SELECT p.id FROM forum_posts p WHERE p.course_id IN (SELECT learnstore_team_courses('{author}'))));
CREATE POLICY forum_replies_course_author_delete ON forum_replies FOR DELETE
    USING (post_id IN (SELECT p.id FROM forum_posts p WHERE p.course_id IN (SELECT learnstore_team_courses('{author}'))));
ALTER TABLE forum_post_likes ENABLE ROW LEVEL SECURITY;
CREATE POLICY forum_post_likes_anyone_select ON forum_post_likes FOR SELECT USING (true);
CREATE POLICY forum_post_likes_own_insert ON forum_post_likes FOR INSERT WITH CHECK (user_clerk_id = (select learnstore_actor()));
CREATE POLICY forum_post_likes_own_delete ON forum_post_likes FOR DELETE USING (user_clerk_id = (select learnstore_actor()));
ALTER TABLE forum_reply_likes ENABLE ROW LEVEL SECURITY;
CREATE POLICY forum_reply_likes_anyone_select ON forum_reply_likes FOR SELECT USING (true);
CREATE POLICY forum_reply_likes_own_insert ON forum_reply_likes FOR INSERT WITH CHECK (user_clerk_id = (select learnstore_actor()));
CREATE POLICY forum_reply_likes_own_delete ON forum_reply_likes FOR DELETE USING (user_clerk_id = (select learnstore_actor()));
ALTER TABLE feedback_upvotes ENABLE ROW LEVEL SECURITY;
CREATE POLICY feedback_upvotes_anyone_select ON feedback_upvotes FOR SELECT USING (true);
CREATE POLICY feedback_upvotes_own_insert ON feedback_upvotes FOR INSERT WITH CHECK (user_clerk_id = (select learnstore_actor()));
CREATE POLICY feedback_upvotes_own_delete ON feedback_upvotes FOR DELETE USING (user_clerk_id = (select learnstore_actor()));
ALTER TABLE course_feedback ENABLE ROW LEVEL SECURITY;
CREATE POLICY course_feedback_anyone_select ON course_feedback FOR SELECT USING (true);
CREATE POLICY course_feedback_own_insert ON course_feedback FOR INSERT WITH CHECK (user_clerk_id = (select learnstore_actor()));
CREATE POLICY course_feedback_own_update ON course_feedback FOR UPDATE USING (user_clerk_id = (select learnstore_actor())) WITH CHECK (user_clerk_id = (select learnstore_actor()));
CREATE POLICY course_feedback_own_delete ON course_feedback FOR DELETE USING (user_clerk_id = (select learnstore_actor()));

-- Flashcards: a set is read when it is public or one's own, and written by its owner alone; so are
-- its cards (a public set is readable, not writable: the hole issue 16 found).
ALTER TABLE flashcard_sets ENABLE ROW LEVEL SECURITY;
CREATE POLICY flashcard_sets_public_or_own_select ON flashcard_sets FOR SELECT
    USING (is_public OR owner_clerk_id = (select learnstore_actor()));
CREATE POLICY flashcard_sets_own_insert ON flashcard_sets FOR INSERT WITH CHECK (owner_clerk_id = (select learnstore_actor()));
CREATE POLICY flashcard_sets_own_update ON flashcard_sets FOR UPDATE
    USING (owner_clerk_id = (select learnstore_actor())) WITH CHECK (owner_clerk_id = (select learnstore_actor()));
CREATE POLICY flashcard_sets_own_delete ON flashcard_sets FOR DELETE USING (owner_clerk_id = (select learnstore_actor()));
ALTER TABLE flashcards ENABLE ROW LEVEL SECURITY;
CREATE POLICY flashcards_public_or_own_select ON flashcards FOR SELECT
    USING (set_id IN (SELECT s.id FROM flashcard_sets s WHERE s.is_public OR s.owner_clerk_id = (select learnstore_actor())));
CREATE POLICY flashcards_own_insert ON flashcards FOR INSERT
    WITH CHECK (set_id IN (SELECT s.id FROM flashcard_sets s WHERE s.owner_clerk_id = (select learnstore_actor())));
CREATE POLICY flashcards_own_update ON flashcards FOR UPDATE
    USING (set_id IN (SELECT s.id FROM flashcard_sets s WHERE s.owner_clerk_id = (select learnstore_actor())))
    WITH CHECK (set_id IN (SELECT s.id FROM flashcard_sets s WHERE s.owner_clerk_id = (select learnstore_actor())));
CREATE POLICY flashcards_own_delete ON flashcards FOR DELETE
    USING (set_id IN (SELECT s.id FROM flashcard_sets s WHERE s.owner_clerk_id = (select learnstore_actor())));

-- ---- content: read by anyone (a draft by its team), written by the course's team -----------------
-- A course is created by its author (in their own name), changed by its author, an accepted editor
-- or (when approving a suggested edit, which rewrites title, description and objectives) an accepted
-- reviewer, deleted by its author; an admin may do all of it. Anyone may lock a course row (enrolment
-- holds FOR SHARE so the course is not unpublished meanwhile, and a row lock is an UPDATE to row-level
-- security): `courses_anyone_lock` lets the lock through and refuses every change it would allow
-- (WITH CHECK false), so a stranger's UPDATE is an error, PermissionDenied, not a silent no-op.
ALTER TABLE courses ENABLE ROW LEVEL SECURITY;
CREATE POLICY courses_anyone_select ON courses FOR SELECT USING (id NOT IN (SELECT learnstore_hidden_courses()));
CREATE POLICY courses_own_insert ON courses FOR INSERT WITH CHECK (author_clerk_id = (select learnstore_actor()));
CREATE POLICY courses_team_update ON courses FOR UPDATE
    USING (id IN (SELECT learnstore_team_courses('{author,editor,reviewer}')))
    WITH CHECK (id IN (SELECT learnstore_team_courses('{author,editor,reviewer}')));
CREATE POLICY courses_anyone_lock ON courses FOR UPDATE USING (true) WITH CHECK (false);
CREATE POLICY courses_author_delete ON courses FOR DELETE USING (author_clerk_id = (select learnstore_actor()));
CREATE POLICY courses_admin_update ON courses FOR UPDATE
    USING ((select learnstore_has_site_role('admin'))) WITH CHECK ((select learnstore_has_site_role('admin')));
CREATE POLICY courses_admin_delete ON courses FOR DELETE USING ((select learnstore_has_site_role('admin')));

ALTER TABLE units ENABLE ROW LEVEL SECURITY;
CREATE POLICY units_anyone_select ON units FOR SELECT USING (course_id NOT IN (SELECT learnstore_hidden_courses()));
CREATE POLICY units_editors_insert ON units FOR INSERT
    WITH CHECK (course_id IN (SELECT learnstore_team_courses('{author,editor}')) OR (select learnstore_has_site_role('admin')));
CREATE POLICY units_editors_update ON units FOR UPDATE
    USING (course_id IN (SELECT learnstore_team_courses('{author,editor}')) OR (select learnstore_has_site_role('admin')))
    WITH CHECK (course_id IN (SELECT learnstore_team_courses('{author,editor}')) OR (select learnstore_has_site_role('admin')));
CREATE POLICY units_editors_delete ON units FOR DELETE
    USING (course_id IN (SELECT learnstore_team_courses('{author,editor}')) OR (select learnstore_has_site_role('admin')));

-- Lessons: as units; an accepted reviewer may change one too (approving an edit rewrites its title
-- and content), and anyone may lock one (a learner's set_lesson_status holds FOR KEY SHARE on it).
ALTER TABLE lessons ENABLE ROW LEVEL SECURITY;
CREATE POLICY lessons_anyone_select ON lessons FOR SELECT USING (unit_id NOT IN (SELECT learnstore_hidden_units()));
CREATE POLICY lessons_editors_insert ON lessons FOR INSERT
    WITH CHECK (unit_id IN (SELECT u.id FROM units u WHERE u.course_id IN (SELECT learnstore_team_courses('{author,editor}')))
                OR (select learnstore_has_site_role('admin')));
CREATE POLICY lessons_team_update ON lessons FOR UPDATE
    USING (unit_id IN (SELECT u.id FROM units u WHERE u.course_id IN (SELECT learnstore_team_courses('{author,editor,reviewer}')))
           OR (select learnstore_has_site_role('admin')))
    WITH CHECK (unit_id IN (SELECT u.id FROM units u WHERE u.course_id IN (SELECT learnstore_team_courses('{author,editor,reviewer}')))
                OR (select learnstore_has_site_role('admin')));
CREATE POLICY lessons_anyone_lock ON lessons FOR UPDATE USING (true) WITH CHECK (false);
CREATE POLICY lessons_editors_delete ON lessons FOR DELETE
    USING (unit_id IN (SELECT u.id FROM units u WHERE u.course_id IN (SELECT learnstore_team_courses('{author,editor}')))
           OR (select learnstore_has_site_role('admin')));
ALTER TABLE media ENABLE ROW LEVEL SECURITY;
CREATE POLICY media_anyone_select ON media FOR SELECT USING (lesson_id NOT IN (SELECT learnstore_hidden_lessons()));
CREATE POLICY media_editors_insert ON media FOR INSERT
    WITH CHECK (lesson_id IN (SELECT l.id FROM lessons l JOIN units u ON u.id = l.unit_id
                        WHERE u.course_id IN (SELECT learnstore_team_courses('{author,editor}')))
           OR (select learnstore_has_site_role('admin')));
CREATE POLICY media_editors_update ON media FOR UPDATE
    USING (lesson_id IN (SELECT l.id FROM lessons l JOIN units u ON u.id = l.unit_id
                        WHERE u.course_id IN (SELECT learnstore_team_courses('{author,editor}')))
           OR (select learnstore_has_site_role('admin')))
    WITH CHECK (lesson_id IN (SELECT l.id FROM lessons l JOIN units u ON u.id = l.unit_id
                        WHERE u.course_id IN (SELECT learnstore_team_courses('{author,editor}')))
           OR (select learnstore_has_site_role('admin')));
CREATE POLICY media_editors_delete ON media FOR DELETE
    USING (lesson_id IN (SELECT l.id FROM lessons l JOIN units u ON u.id = l.unit_id
                        WHERE u.course_id IN (SELECT learnstore_team_courses('{author,editor}')))
           OR (select learnstore_has_site_role('admin')));
ALTER TABLE quizzes ENABLE ROW LEVEL SECURITY;
CREATE POLICY quizzes_anyone_select ON quizzes FOR SELECT USING (lesson_id NOT IN (SELECT learnstore_hidden_lessons()));
CREATE POLICY quizzes_editors_insert ON quizzes FOR INSERT
    WITH CHECK (lesson_id IN (SELECT l.id FROM lessons l JOIN units u ON u.id = l.unit_id
                        WHERE u.course_id IN (SELECT learnstore_team_courses('{author,editor}')))
           OR (select learnstore_has_site_role('admin')));
CREATE POLICY quizzes_editors_update ON quizzes FOR UPDATE
    USING (lesson_id IN (SELECT l.id FROM lessons l JOIN units u ON u.id = l.unit_id
                        WHERE u.course_id IN (SELECT learnstore_team_courses('{author,editor}')))
           OR (select learnstore_has_site_role('admin')))
    WITH CHECK (lesson_id IN (SELECT l.id FROM lessons l JOIN units u ON u.id = l.unit_id
                        WHERE u.course_id IN (SELECT learnstore_team_courses('{author,editor}')))
           OR (select learnstore_has_site_role('admin')));
CREATE POLICY quizzes_editors_delete ON quizzes FOR DELETE
    USING (lesson_id IN (SELECT l.id FROM lessons l JOIN units u ON u.id = l.unit_id
                        WHERE u.course_id IN (SELECT learnstore_team_courses('{author,editor}')))
           OR (select learnstore_has_site_role('admin')));
-- A course's tags: attached and detached by the course's author and editors (an admin too).
ALTER TABLE course_tags ENABLE ROW LEVEL SECURITY;
CREATE POLICY course_tags_anyone_select ON course_tags FOR SELECT USING (course_id NOT IN (SELECT learnstore_hidden_courses()));
CREATE POLICY course_tags_editors_insert ON course_tags FOR INSERT
    WITH CHECK (course_id IN (SELECT learnstore_team_courses('{author,editor}')) OR (select learnstore_has_site_role('admin')));
CREATE POLICY course_tags_editors_delete ON course_tags FOR DELETE
    USING (course_id IN (SELECT learnstore_team_courses('{author,editor}')) OR (select learnstore_has_site_role('admin')));

-- A course's team: the seat's own user, the course's team and an admin see it. The author invites
-- (insert, and re-invite: update) and removes; the invitee answers (status) and leaves. Who may
-- change a role is collaborators_guard_role's to say (a column rule a policy cannot express).
ALTER TABLE collaborators ENABLE ROW LEVEL SECURITY;
CREATE POLICY collaborators_team_select ON collaborators FOR SELECT
    USING (user_clerk_id = (select learnstore_actor())
           OR course_id IN (SELECT learnstore_team_courses('{author,editor,reviewer}'))
           OR (select learnstore_has_site_role('admin')));
CREATE POLICY collaborators_course_author_insert ON collaborators FOR INSERT
    WITH CHECK (course_id IN (SELECT learnstore_team_courses('{author}')));
CREATE POLICY collaborators_course_author_update ON collaborators FOR UPDATE
    USING (course_id IN (SELECT learnstore_team_courses('{author}')))
    WITH CHECK (course_id IN (SELECT learnstore_team_courses('{author}')));
CREATE POLICY collaborators_own_update ON collaborators FOR UPDATE
    USING (user_clerk_id = (select learnstore_actor())) WITH CHECK (user_clerk_id = (select learnstore_actor()));
CREATE POLICY collaborators_course_author_delete ON collaborators FOR DELETE
    USING (course_id IN (SELECT learnstore_team_courses('{author}')));
CREATE POLICY collaborators_own_delete ON collaborators FOR DELETE USING (user_clerk_id = (select learnstore_actor()));

-- Suggested edits: proposed by anyone in their own name (pending, unreviewed: column grants keep the
-- review columns out of an insert), seen by their proposer and the course's team, reviewed by the
-- course's author or an accepted reviewer in their own name. Nobody deletes one as a user.
ALTER TABLE suggested_edits ENABLE ROW LEVEL SECURITY;
CREATE POLICY suggested_edits_team_select ON suggested_edits FOR SELECT
    USING (author_clerk_id = (select learnstore_actor())
           OR course_id IN (SELECT learnstore_team_courses('{author,editor,reviewer}'))
           OR (select learnstore_has_site_role('admin')));
CREATE POLICY suggested_edits_own_insert ON suggested_edits FOR INSERT
    WITH CHECK (author_clerk_id = (select learnstore_actor()));
CREATE POLICY suggested_edits_reviewers_update ON suggested_edits FOR UPDATE
    USING (course_id IN (SELECT learnstore_team_courses('{author,reviewer}')))
    WITH CHECK (course_id IN (SELECT learnstore_team_courses('{author,reviewer}'))
                AND reviewer_clerk_id = (select learnstore_actor()));

-- ---- the catalog and achievements: read by anyone, kept by admins ----------------------------------
ALTER TABLE languages ENABLE ROW LEVEL SECURITY;
CREATE POLICY languages_anyone_select ON languages FOR SELECT USING (true);
CREATE POLICY languages_admin_insert ON languages FOR INSERT WITH CHECK ((select learnstore_has_site_role('admin')));
CREATE POLICY languages_admin_update ON languages FOR UPDATE USING ((select learnstore_has_site_role('admin'))) WITH CHECK ((select learnstore_has_site_role('admin')));
CREATE POLICY languages_admin_delete ON languages FOR DELETE USING ((select learnstore_has_site_role('admin')));
ALTER TABLE tags ENABLE ROW LEVEL SECURITY;
CREATE POLICY tags_anyone_select ON tags FOR SELECT USING (true);
CREATE POLICY tags_admin_insert ON tags FOR INSERT WITH CHECK ((select learnstore_has_site_role('admin')));
CREATE POLICY tags_admin_update ON tags FOR UPDATE USING ((select learnstore_has_site_role('admin'))) WITH CHECK ((select learnstore_has_site_role('admin')));
CREATE POLICY tags_admin_delete ON tags FOR DELETE USING ((select learnstore_has_site_role('admin')));
-- a course's author or editor names a new tag when tagging their course (catalog.attach_tags)
CREATE POLICY tags_editors_insert ON tags FOR INSERT WITH CHECK ((select learnstore_edits_any_course()));
ALTER TABLE achievements ENABLE ROW LEVEL SECURITY;
CREATE POLICY achievements_anyone_select ON achievements FOR SELECT USING (true);
CREATE POLICY achievements_admin_insert ON achievements FOR INSERT WITH CHECK ((select learnstore_has_site_role('admin')));
CREATE POLICY achievements_admin_update ON achievements FOR UPDATE USING ((select learnstore_has_site_role('admin'))) WITH CHECK ((select learnstore_has_site_role('admin')));
CREATE POLICY achievements_admin_delete ON achievements FOR DELETE USING ((select learnstore_has_site_role('admin')));
-- The leaderboard's table: read by anyone, written by the award evaluation (SECURITY DEFINER) alone.
ALTER TABLE user_points ENABLE ROW LEVEL SECURITY;
CREATE POLICY user_points_anyone_select ON user_points FOR SELECT USING (true);

-- ---- functions ---------------------------------------------------------------------------------------
-- Every function pins its search_path, so that no object a caller puts first on theirs (a temporary
-- table, a schema of their own) stands in for ours.
ALTER FUNCTION achievement_metrics(p_user_clerk_ids text[], p_kinds text[], p_course_ids uuid[]) SET search_path = public, pg_temp;
ALTER FUNCTION achievement_requirement_is_valid(p_rule jsonb, p_depth integer) SET search_path = public, pg_temp;
ALTER FUNCTION achievement_requirement_kinds(p_rule jsonb) SET search_path = public, pg_temp;
ALTER FUNCTION achievement_score(p_rule jsonb, p_metrics jsonb) SET search_path = public, pg_temp;
ALTER FUNCTION achievements_change_points() SET search_path = public, pg_temp;
ALTER FUNCTION achievements_remove_points() SET search_path = public, pg_temp;
ALTER FUNCTION add_flashcard(p_owner text, p_set_id uuid, p_front text, p_back text, p_position integer) SET search_path = public, pg_temp;
ALTER FUNCTION add_lesson(p_unit_id uuid, p_title text, p_content_type text, p_content jsonb, p_duration_seconds integer, p_position integer) SET search_path = public, pg_temp;
ALTER FUNCTION add_unit(p_course_id uuid, p_title text, p_description text, p_position integer) SET search_path = public, pg_temp;
ALTER FUNCTION add_user_points(p_user_clerk_ids text[], p_points bigint[], p_achievements bigint[]) SET search_path = public, pg_temp;
ALTER FUNCTION assert_may_edit_course(p_course_id uuid, p_clerk_id text) SET search_path = public, pg_temp;
ALTER FUNCTION content_position(p_position integer, p_last integer) SET search_path = public, pg_temp;
ALTER FUNCTION count_learners_above(p_points integer, p_course_id uuid) SET search_path = public, pg_temp;
ALTER FUNCTION course_rating_score(p_rating_sum bigint, p_rating_count bigint) SET search_path = public, pg_temp;
ALTER FUNCTION course_role(p_course_id uuid, p_clerk_id text) SET search_path = public, pg_temp;
ALTER FUNCTION delete_flashcard(p_owner text, p_flashcard_id uuid) SET search_path = public, pg_temp;
ALTER FUNCTION delete_lesson(p_lesson_id uuid) SET search_path = public, pg_temp;
ALTER FUNCTION delete_unit(p_unit_id uuid) SET search_path = public, pg_temp;
ALTER FUNCTION enrol_in_course(p_user_clerk_id text, p_course_id uuid) SET search_path = public, pg_temp;
ALTER FUNCTION flashcards_append() SET search_path = public, pg_temp;
ALTER FUNCTION forum_evaluate_achievements() SET search_path = public, pg_temp;
ALTER FUNCTION is_not_blank(s text) SET search_path = public, pg_temp;
ALTER FUNCTION is_time_zone(tz text) SET search_path = public, pg_temp;
ALTER FUNCTION learning_goals_evaluate_achievements() SET search_path = public, pg_temp;
ALTER FUNCTION lessons_refresh_enrolments() SET search_path = public, pg_temp;
ALTER FUNCTION lock_course_content(p_course_id uuid) SET search_path = public, pg_temp;
ALTER FUNCTION lock_flashcard_set(p_set_id uuid, p_owner text) SET search_path = public, pg_temp;
ALTER FUNCTION move_flashcard(p_owner text, p_flashcard_id uuid, p_position integer) SET search_path = public, pg_temp;
ALTER FUNCTION move_lesson(p_lesson_id uuid, p_unit_id uuid, p_position integer) SET search_path = public, pg_temp;
ALTER FUNCTION move_unit(p_unit_id uuid, p_position integer) SET search_path = public, pg_temp;
ALTER FUNCTION quiz_answer_is_correct(p_question_type text, p_correct_answer jsonb, p_answer jsonb) SET search_path = public, pg_temp;
ALTER FUNCTION quiz_attempts_evaluate_achievements() SET search_path = public, pg_temp;
ALTER FUNCTION recompute_enrolments(p_course_ids uuid[], p_user_clerk_id text) SET search_path = public, pg_temp;
ALTER FUNCTION recompute_streak(p_user_clerk_id text) SET search_path = public, pg_temp;
ALTER FUNCTION record_activity(p_user_clerk_id text, p_at timestamp with time zone) SET search_path = public, pg_temp;
ALTER FUNCTION reorder_flashcards(p_owner text, p_set_id uuid, p_ids uuid[]) SET search_path = public, pg_temp;
ALTER FUNCTION set_lesson_status(p_user_clerk_id text, p_lesson_id uuid, p_status text) SET search_path = public, pg_temp;
ALTER FUNCTION set_updated_at() SET search_path = public, pg_temp;
ALTER FUNCTION unenrol_from_course(p_user_clerk_id text, p_course_id uuid) SET search_path = public, pg_temp;
ALTER FUNCTION units_refresh_enrolments() SET search_path = public, pg_temp;
ALTER FUNCTION user_achievements_add_points() SET search_path = public, pg_temp;
ALTER FUNCTION user_courses_evaluate_achievements() SET search_path = public, pg_temp;
ALTER FUNCTION user_flashcard_progress_evaluate_achievements() SET search_path = public, pg_temp;
ALTER FUNCTION user_progress_evaluate_achievements() SET search_path = public, pg_temp;
ALTER FUNCTION user_streaks_evaluate_achievements() SET search_path = public, pg_temp;
-- The award evaluation counts rows no acting user can see and writes awards, points and notices
-- that are nobody's to write by hand: it runs as the owner and only the triggers that keep awards
-- exact call it (trigger functions run only as triggers: that is their caller check). Evaluating
-- or backfilling by hand (achievements.evaluate, .backfill) is the service path's: learnstore_app
-- may not execute it.
ALTER FUNCTION forum_evaluate_achievements() SECURITY DEFINER;
ALTER FUNCTION learning_goals_evaluate_achievements() SECURITY DEFINER;
ALTER FUNCTION quiz_attempts_evaluate_achievements() SECURITY DEFINER;
ALTER FUNCTION user_courses_evaluate_achievements() SECURITY DEFINER;
ALTER FUNCTION user_flashcard_progress_evaluate_achievements() SECURITY DEFINER;
ALTER FUNCTION user_progress_evaluate_achievements() SECURITY DEFINER;
ALTER FUNCTION user_streaks_evaluate_achievements() SECURITY DEFINER;
ALTER FUNCTION achievements_change_points() SECURITY DEFINER;
ALTER FUNCTION achievements_remove_points() SECURITY DEFINER;
ALTER FUNCTION user_achievements_add_points() SECURITY DEFINER;
REVOKE EXECUTE ON FUNCTION evaluate_achievements(text[], uuid, text[]) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION add_user_points(text[], bigint[], bigint[]) FROM PUBLIC;
-- Recomputing enrolments after a course's lessons change is everybody's business and only ever
-- writes what is true (the lesson and unit triggers, and progress.refresh_course, call it): any
-- caller may run it, PUBLIC may not.
REVOKE EXECUTE ON FUNCTION refresh_course_enrolments(uuid[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION refresh_course_enrolments(uuid[]) TO learnstore_app;
