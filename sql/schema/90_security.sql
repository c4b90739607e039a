-- Row-level security for learnstore.as_user(), and the ledger of signed webhook deliveries.
--
-- learnstore_app is the role as_user() runs every operation under (SET LOCAL ROLE through
-- set_config('role', ..., true)), with the user's id in the transaction-local setting
-- learnstore.clerk_id. It is NOLOGIN: a service logs in as its own role, a member of it.
-- The owner (who runs migrations and the service path) is not subject to these policies (no
-- FORCE ROW LEVEL SECURITY), so everything that runs without as_user() works as before.
--
-- Roles belong to the whole cluster, not to this database: the role is created only when missing
-- (and a concurrent creator, e.g. another database's migration, is not an error), and the
-- rollback leaves it in place for the other databases that may use it.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'learnstore_app') THEN
        BEGIN
            CREATE ROLE learnstore_app NOLOGIN;
        EXCEPTION
            WHEN duplicate_object OR unique_violation THEN NULL;  -- created concurrently
            WHEN insufficient_privilege THEN
                RAISE EXCEPTION 'role learnstore_app does not exist and % may not create it', current_user
                    USING HINT = 'run `learnstore roles --apply` as a role with CREATEROLE first';
        END;
    END IF;
    -- The owner switches to learnstore_app in as_user(): it must be a member (a superuser is one).
    IF NOT pg_has_role(current_user, 'learnstore_app', 'MEMBER') THEN
        EXECUTE format('GRANT learnstore_app TO %I', current_user);
    END IF;
END
$$;

-- What the role may touch is granted table by table, with the policies, in 91_permissions.sql
-- (migration 0013, which replaced 0009's blanket grant and the policies of 0009-0011).
GRANT USAGE ON SCHEMA public TO learnstore_app;

-- Recomputing a course's enrolments after its lessons change is everybody's business, whoever
-- changed the lessons: it runs as the owner, so a learner's RLS view does not leave the other
-- learners' progress stale.
ALTER FUNCTION refresh_course_enrolments(uuid[]) SECURITY DEFINER SET search_path = public, pg_temp;

-- Signed webhook deliveries applied so far: a replayed delivery (same svix-id) is applied once.
CREATE TABLE webhook_deliveries (
    id         uuid        NOT NULL DEFAULT uuidv7(),
    svix_id    text        NOT NULL,
    event_type text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (id),
    CONSTRAINT webhook_deliveries_svix_id_key UNIQUE (svix_id),
    CONSTRAINT webhook_deliveries_svix_id_format CHECK (is_not_blank(svix_id) AND char_length(svix_id) <= 200),
    CONSTRAINT webhook_deliveries_event_type_format CHECK (is_not_blank(event_type) AND char_length(event_type) <= 200)
);
COMMENT ON TABLE webhook_deliveries IS 'A verified webhook delivery (Svix message id) already applied, so a replay is applied once.';
CREATE TRIGGER webhook_deliveries_set_updated_at BEFORE UPDATE ON webhook_deliveries
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
-- The service path applies webhooks; a user's view has no business with the ledger.
REVOKE ALL ON webhook_deliveries FROM learnstore_app;

-- The award evaluation runs as the owner (SECURITY DEFINER): a learner's write (a like, say) can
-- earn another user's award, and the evaluation counts rows of private tables that an as_user()
-- identity cannot see.
ALTER FUNCTION evaluate_achievements(text[], uuid, text[]) SECURITY DEFINER SET search_path = public, pg_temp;
