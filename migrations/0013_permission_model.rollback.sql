-- Undo 0013_permission_model.
DROP POLICY site_roles_admin_delete ON site_roles;
DROP POLICY site_roles_admin_insert ON site_roles;
DROP POLICY site_roles_own_or_admin_select ON site_roles;
DROP FUNCTION learnstore_has_site_role(text);
DROP TABLE site_roles;
DROP FUNCTION learnstore_actor();
