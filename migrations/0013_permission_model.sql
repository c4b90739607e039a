-- The permission model, part one: site-wide roles and the identity helpers the policies read.
-- (sql/schema/91_permissions.sql describes where this leads.)
-- The permission model (docs/security.md, learnstore.security.MODEL): site-wide roles, and the
-- helpers every policy reads the acting identity through.
--
-- Under as_user() the acting identity is the transaction-local setting learnstore.clerk_id; the
-- policies call learnstore_actor() wrapped in a sub-select, `(select learnstore_actor())`, so the
-- planner evaluates it once per statement (an InitPlan), not once per row.

-- Site-wide roles: a moderator or an admin of the whole platform (a course's team is `collaborators`).
CREATE TABLE site_roles (
    id            uuid        NOT NULL DEFAULT gen_random_uuid(),
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
