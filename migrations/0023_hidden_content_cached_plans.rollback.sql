-- Back to 0018's SQL functions.
CREATE OR REPLACE FUNCTION learnstore_hidden_courses() RETURNS SETOF uuid
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

CREATE OR REPLACE FUNCTION learnstore_hidden_units() RETURNS SETOF uuid
    LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT u.id FROM public.units u WHERE u.course_id IN (SELECT public.learnstore_hidden_courses());
END;
COMMENT ON FUNCTION learnstore_hidden_units() IS 'The units of the courses learnstore_hidden_courses() hides.';
REVOKE EXECUTE ON FUNCTION learnstore_hidden_units() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION learnstore_hidden_units() TO learnstore_app;

CREATE OR REPLACE FUNCTION learnstore_hidden_lessons() RETURNS SETOF uuid
    LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT l.id FROM public.lessons l WHERE l.unit_id IN (SELECT public.learnstore_hidden_units());
END;
COMMENT ON FUNCTION learnstore_hidden_lessons() IS 'The lessons of the courses learnstore_hidden_courses() hides.';
REVOKE EXECUTE ON FUNCTION learnstore_hidden_lessons() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION learnstore_hidden_lessons() TO learnstore_app;
