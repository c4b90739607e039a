-- The rest of issue 16's permission model: a draft course and its content are read by its team and
-- admins only (under as_user; the owner path is the service's and reads everything), and a
-- suspended user neither asks to collaborate nor answers reviews (the tables of migration 0017).

-- What the acting user may not see of the content: the draft courses they are not on the team of
-- (an admin sees every draft), and their units and lessons. A content policy asks `course_id NOT IN
-- (SELECT learnstore_hidden_courses())`: an uncorrelated sub-select, run once per statement and
-- hashed, so a list pays one lookup per row, and the published catalog (whose drafts are few) little.
-- SECURITY DEFINER: they read what the policies hide, for the acting identity only.
CREATE FUNCTION learnstore_hidden_courses() RETURNS SETOF uuid
    LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT c.id FROM public.courses c
    WHERE c.status = 'draft' AND NOT public.learnstore_has_site_role('admin')
      AND c.id NOT IN (SELECT public.learnstore_team_courses('{author,editor,reviewer}'));
END;
COMMENT ON FUNCTION learnstore_hidden_courses() IS 'The draft courses the acting user is not on the team of (none for an admin).';
REVOKE EXECUTE ON FUNCTION learnstore_hidden_courses() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION learnstore_hidden_courses() TO learnstore_app;

CREATE FUNCTION learnstore_hidden_units() RETURNS SETOF uuid
    LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT u.id FROM public.units u WHERE u.course_id IN (SELECT public.learnstore_hidden_courses());
END;
COMMENT ON FUNCTION learnstore_hidden_units() IS 'The units of the courses learnstore_hidden_courses() hides.';
REVOKE EXECUTE ON FUNCTION learnstore_hidden_units() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION learnstore_hidden_units() TO learnstore_app;

CREATE FUNCTION learnstore_hidden_lessons() RETURNS SETOF uuid
    LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT l.id FROM public.lessons l WHERE l.unit_id IN (SELECT public.learnstore_hidden_units());
END;
COMMENT ON FUNCTION learnstore_hidden_lessons() IS 'The lessons of the courses learnstore_hidden_courses() hides.';
REVOKE EXECUTE ON FUNCTION learnstore_hidden_lessons() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION learnstore_hidden_lessons() TO learnstore_app;

ALTER POLICY courses_anyone_select ON courses USING (id NOT IN (SELECT learnstore_hidden_courses()));
ALTER POLICY units_anyone_select ON units USING (course_id NOT IN (SELECT learnstore_hidden_courses()));
ALTER POLICY lessons_anyone_select ON lessons USING (unit_id NOT IN (SELECT learnstore_hidden_units()));
ALTER POLICY media_anyone_select ON media USING (lesson_id NOT IN (SELECT learnstore_hidden_lessons()));
ALTER POLICY quizzes_anyone_select ON quizzes USING (lesson_id NOT IN (SELECT learnstore_hidden_lessons()));
ALTER POLICY course_tags_anyone_select ON course_tags USING (course_id NOT IN (SELECT learnstore_hidden_courses()));

CREATE TRIGGER collaboration_requests_refuse_suspended BEFORE INSERT ON collaboration_requests
    FOR EACH ROW EXECUTE FUNCTION learnstore_refuse_suspended('requester_clerk_id');
CREATE TRIGGER review_replies_refuse_suspended BEFORE INSERT OR DELETE OR UPDATE OF body ON review_replies
    FOR EACH ROW EXECUTE FUNCTION learnstore_refuse_suspended('author_clerk_id');
