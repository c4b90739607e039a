DROP FUNCTION apply_clerk_user(text, text, text, text, text, timestamptz);
DROP FUNCTION erase_user(text);
DROP TRIGGER users_record_erased ON users;
DROP FUNCTION record_erased_user();
DROP FUNCTION audit_forget(text);
DROP FUNCTION audit_scrub(jsonb, text);
DROP FUNCTION identity_erased(text);
DROP FUNCTION lock_clerk_identity(text);
DROP TABLE erased_identities;
DROP FUNCTION audit_revert(uuid);
DO $$
DECLARE
    t text;
    op text;
BEGIN
    FOREACH t IN ARRAY ARRAY['courses', 'units', 'lessons', 'quizzes', 'media', 'collaborators', 'achievements']
    LOOP
        FOREACH op IN ARRAY ARRAY['insert', 'update', 'delete']
        LOOP
            EXECUTE format('DROP TRIGGER %I ON %I', t || '_audit_' || op, t);
        END LOOP;
    END LOOP;
END
$$;
DROP FUNCTION audit_record_changes();
DROP FUNCTION audit_course_of(text, jsonb);
DROP TABLE audit_log;
