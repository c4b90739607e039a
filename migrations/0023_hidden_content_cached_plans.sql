-- The draft-hiding functions of 0018 as PL/pgSQL, each one query: a SQL function that cannot be
-- inlined is planned on every call, and the lessons' set nested three of them (2.3 ms on every
-- statement that read lessons, media or quizzes under as_user). Same signatures and answers.

CREATE OR REPLACE FUNCTION learnstore_hidden_courses() RETURNS SETOF uuid
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

CREATE OR REPLACE FUNCTION learnstore_hidden_units() RETURNS SETOF uuid
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

CREATE OR REPLACE FUNCTION learnstore_hidden_lessons() RETURNS SETOF uuid
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
