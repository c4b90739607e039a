-- The audit trail of course content and achievements, and the record of erased identities.
--
-- audit_log is append-only: only the trigger function audit_record_changes() writes it (SECURITY
-- DEFINER, as the owner); learnstore_app may only read it, and only a course's history, through a
-- policy (its author and accepted collaborators). The owner may still change it (the GDPR erase
-- anonymises an actor through the foreign key's ON DELETE SET NULL).
CREATE TABLE audit_log (
    id             uuid        NOT NULL DEFAULT gen_random_uuid(),
    -- The order of changes: two changes in one transaction share now(), so created_at cannot order them.
    change_number  bigint      GENERATED ALWAYS AS IDENTITY,
    actor_clerk_id text,
    actor_role     text        NOT NULL DEFAULT session_user,
    table_name     text        NOT NULL,
    operation      text        NOT NULL,
    row_id         uuid        NOT NULL,
    course_id      uuid,
    before         jsonb,
    after          jsonb,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT audit_log_pkey PRIMARY KEY (id),
    CONSTRAINT audit_log_change_number_key UNIQUE (change_number),
    -- No foreign key to the course: its history outlives it (a deleted course's last entries say so).
    CONSTRAINT audit_log_actor_clerk_id_fkey FOREIGN KEY (actor_clerk_id)
        REFERENCES users (clerk_id) ON UPDATE CASCADE ON DELETE SET NULL,
    CONSTRAINT audit_log_actor_role_not_blank CHECK (is_not_blank(actor_role) AND char_length(actor_role) <= 64),
    CONSTRAINT audit_log_table_name_valid
        CHECK (table_name IN ('courses', 'units', 'lessons', 'quizzes', 'media', 'collaborators', 'achievements')),
    CONSTRAINT audit_log_operation_valid CHECK (operation IN ('INSERT', 'UPDATE', 'DELETE')),
    CONSTRAINT audit_log_before_object CHECK (jsonb_typeof(before) = 'object'),
    CONSTRAINT audit_log_after_object CHECK (jsonb_typeof(after) = 'object'),
    -- An INSERT has only an after image, a DELETE only a before image, an UPDATE both.
    CONSTRAINT audit_log_images_match_operation
        CHECK ((before IS NULL) = (operation = 'INSERT') AND (after IS NULL) = (operation = 'DELETE'))
);
COMMENT ON TABLE audit_log IS 'An append-only record of each change to course content and achievements, by trigger.';
COMMENT ON COLUMN audit_log.actor_clerk_id IS 'The as_user() identity that made the change; NULL on the service path and once the actor is erased.';
COMMENT ON COLUMN audit_log.actor_role IS 'The session user (the login role) that made the change.';
COMMENT ON COLUMN audit_log.course_id IS 'The course the row belongs to; NULL for achievements.';
COMMENT ON COLUMN audit_log.before IS 'The changed columns before the change (the whole row for a DELETE).';
COMMENT ON COLUMN audit_log.after IS 'The changed columns after the change (the whole row for an INSERT).';
-- A course's history, newest first (keyset on change_number); a row's history (revert, the course of
-- a row whose parent is already gone); an actor's entries (the foreign key, GDPR export and erase).
CREATE INDEX audit_log_course_id_change_number_idx ON audit_log (course_id, change_number);
CREATE INDEX audit_log_row_id_change_number_idx ON audit_log (row_id, change_number);
CREATE INDEX audit_log_actor_clerk_id_idx ON audit_log (actor_clerk_id);
CREATE TRIGGER audit_log_set_updated_at BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- The course a row of an audited table belongs to, from its parents; for a row deleted by a cascade
-- (its parents are gone by the time the trigger runs) from the row's own earlier entries.
CREATE FUNCTION audit_course_of(p_table text, p_row jsonb) RETURNS uuid
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
    SELECT coalesce(
        CASE p_table
            WHEN 'courses' THEN (p_row ->> 'id')::uuid
            WHEN 'units' THEN (p_row ->> 'course_id')::uuid
            WHEN 'collaborators' THEN (p_row ->> 'course_id')::uuid
            WHEN 'lessons' THEN (SELECT u.course_id FROM units u WHERE u.id = (p_row ->> 'unit_id')::uuid)
            WHEN 'media' THEN (SELECT u.course_id FROM lessons l JOIN units u ON u.id = l.unit_id
                               WHERE l.id = (p_row ->> 'lesson_id')::uuid)
            WHEN 'quizzes' THEN (SELECT u.course_id FROM lessons l JOIN units u ON u.id = l.unit_id
                                 WHERE l.id = (p_row ->> 'lesson_id')::uuid)
        END,
        CASE WHEN p_table <> 'achievements' THEN
            (SELECT a.course_id FROM audit_log a
             WHERE a.row_id = (p_row ->> 'id')::uuid AND a.course_id IS NOT NULL
             ORDER BY a.change_number DESC LIMIT 1)
        END)
$$;
REVOKE EXECUTE ON FUNCTION audit_course_of(text, jsonb) FROM PUBLIC;

-- One statement-level trigger per table and operation (a trigger with transition tables has one
-- event), so a bulk import writes its entries in one INSERT, not one per row. It runs as the owner:
-- learnstore_app may not write the log, and an as_user() write must still be recorded.
CREATE FUNCTION audit_record_changes() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    -- The as_user() identity; '' is what a caller's transaction holds after an identity was swapped out.
    v_actor text := nullif(current_setting('learnstore.clerk_id', true), '');
BEGIN
    -- An identity with no user row (a forged or not yet synced one) is not a user to point at.
    IF v_actor IS NOT NULL AND NOT EXISTS (SELECT FROM users WHERE clerk_id = v_actor) THEN
        v_actor := NULL;
    END IF;
    -- Transition tables are planned only in the branch of the operation that has them.
    IF TG_OP = 'INSERT' THEN
        INSERT INTO audit_log (actor_clerk_id, actor_role, table_name, operation, row_id, course_id, after)
        SELECT v_actor, session_user, TG_TABLE_NAME, TG_OP, (r.j ->> 'id')::uuid,
               audit_course_of(TG_TABLE_NAME, r.j), r.j
        FROM (SELECT to_jsonb(n) AS j FROM new_rows n) AS r;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO audit_log (actor_clerk_id, actor_role, table_name, operation, row_id, course_id, before)
        SELECT v_actor, session_user, TG_TABLE_NAME, TG_OP, (r.j ->> 'id')::uuid,
               audit_course_of(TG_TABLE_NAME, r.j), r.j
        FROM (SELECT to_jsonb(o) AS j FROM old_rows o) AS r;
    ELSE
        -- Only the columns that changed (updated_at always does: it says nothing); nothing changed,
        -- no entry.
        INSERT INTO audit_log (actor_clerk_id, actor_role, table_name, operation, row_id, course_id, before, after)
        SELECT v_actor, session_user, TG_TABLE_NAME, TG_OP, d.id, audit_course_of(TG_TABLE_NAME, d.new_j),
               d.before, d.after
        FROM (
            SELECT p.id, p.new_j,
                   jsonb_object_agg(k.key, p.old_j -> k.key) AS before,
                   jsonb_object_agg(k.key, k.value) AS after
            FROM (SELECT o.id, to_jsonb(o) AS old_j, to_jsonb(n) AS new_j
                  FROM old_rows o JOIN new_rows n ON n.id = o.id) AS p
            CROSS JOIN LATERAL jsonb_each(p.new_j) AS k
            WHERE k.key <> 'updated_at' AND p.old_j -> k.key IS DISTINCT FROM k.value
            GROUP BY p.id, p.new_j
        ) AS d;
    END IF;
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION audit_record_changes() FROM PUBLIC;

DO $$
DECLARE
    t text;
    op text;
BEGIN
    FOREACH t IN ARRAY ARRAY['courses', 'units', 'lessons', 'quizzes', 'media', 'collaborators', 'achievements']
    LOOP
        FOREACH op IN ARRAY ARRAY['insert', 'update', 'delete']
        LOOP
            EXECUTE format(
                'CREATE TRIGGER %I AFTER %s ON %I REFERENCING %s FOR EACH STATEMENT'
                ' EXECUTE FUNCTION audit_record_changes()',
                t || '_audit_' || op, upper(op), t,
                CASE op WHEN 'insert' THEN 'NEW TABLE AS new_rows'
                        WHEN 'delete' THEN 'OLD TABLE AS old_rows'
                        ELSE 'OLD TABLE AS old_rows NEW TABLE AS new_rows' END);
        END LOOP;
    END LOOP;
END
$$;

-- Undo the field change `p_change_id` (an UPDATE entry): the columns it changed get their values from
-- before it, provided each still holds what the change wrote (else the row changed since: stale,
-- Conflict). SECURITY INVOKER: under as_user() the entry must be readable (its course's author or a
-- collaborator) and the row writable by the user, or PostgreSQL refuses. The revert is a change
-- like any other: the trigger records it, and its entry is returned.
CREATE FUNCTION audit_revert(p_change_id uuid) RETURNS SETOF audit_log
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    v_entry audit_log;
    v_current jsonb;
    v_columns text;
BEGIN
    SELECT * INTO v_entry FROM audit_log WHERE id = p_change_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no audit entry %', p_change_id USING ERRCODE = 'no_data_found', HINT = 'change_id';
    END IF;
    IF v_entry.operation <> 'UPDATE' THEN
        RAISE EXCEPTION 'audit entry % is an %: only a field change (an UPDATE) can be reverted',
            p_change_id, v_entry.operation USING HINT = 'change_id';
    END IF;
    -- Locked until the revert commits: a concurrent change waits, then finds what the revert wrote.
    EXECUTE format('SELECT to_jsonb(t) FROM %I t WHERE t.id = $1 FOR UPDATE', v_entry.table_name)
        INTO v_current USING v_entry.row_id;
    IF v_current IS NULL THEN
        RAISE EXCEPTION 'audit entry %: the % row % is gone', p_change_id, v_entry.table_name, v_entry.row_id
            USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'change_id';
    END IF;
    IF EXISTS (SELECT FROM jsonb_each(v_entry.after) a WHERE v_current -> a.key IS DISTINCT FROM a.value) THEN
        RAISE EXCEPTION 'audit entry % is stale: the % row % changed since', p_change_id, v_entry.table_name,
            v_entry.row_id USING ERRCODE = 'object_not_in_prerequisite_state', HINT = 'change_id';
    END IF;
    SELECT string_agg(quote_ident(k), ', ') INTO v_columns FROM jsonb_object_keys(v_entry.before) AS k;
    EXECUTE format('UPDATE %I SET (%s) = (SELECT %s FROM jsonb_populate_record(NULL::%I, $1)) WHERE id = $2',
                   v_entry.table_name, v_columns, v_columns, v_entry.table_name)
        USING v_entry.before, v_entry.row_id;
    RETURN QUERY SELECT * FROM audit_log a
        WHERE a.row_id = v_entry.row_id AND a.change_number > v_entry.change_number
        ORDER BY a.change_number DESC LIMIT 1;
END
$$;

-- learnstore_app reads a course's history and nothing else; nobody but the owner writes the log.
ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON audit_log FROM learnstore_app;
GRANT SELECT ON audit_log TO learnstore_app;
CREATE POLICY audit_log_course_team_select ON audit_log FOR SELECT USING (
    course_id IN (
        SELECT c.id FROM courses c WHERE c.author_clerk_id = (SELECT current_setting('learnstore.clerk_id', true))
        UNION ALL
        SELECT k.course_id FROM collaborators k
        WHERE k.user_clerk_id = (SELECT current_setting('learnstore.clerk_id', true)) AND k.status = 'accepted'));

-- Erased identities: a late user.created / user.updated delivery for one of them is not applied.
-- Only the sha256 of the clerk_id is kept, never the id itself.
CREATE TABLE erased_identities (
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    clerk_id_sha256 bytea       NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT erased_identities_pkey PRIMARY KEY (id),
    CONSTRAINT erased_identities_clerk_id_sha256_key UNIQUE (clerk_id_sha256),
    CONSTRAINT erased_identities_clerk_id_sha256_length CHECK (octet_length(clerk_id_sha256) = 32)
);
COMMENT ON TABLE erased_identities IS 'The sha256 of every erased clerk_id, so that a late identity event does not bring the user back.';
CREATE TRIGGER erased_identities_set_updated_at BEFORE UPDATE ON erased_identities
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
-- The service path erases and applies identity events; a user's view has no business with the record.
REVOKE ALL ON erased_identities FROM learnstore_app;

-- The lock that orders an erase and an identity event for the same clerk_id: whichever comes
-- second sees what the first did (each takes it before it reads).
CREATE FUNCTION lock_clerk_identity(p_clerk_id text) RETURNS void
LANGUAGE sql VOLATILE SET search_path = public, pg_temp AS $$
    SELECT pg_advisory_xact_lock(hashtextextended('learnstore.clerk_id:' || p_clerk_id, 0))
$$;

-- Whether a clerk_id was erased. SECURITY DEFINER: it answers for one id the caller already knows,
-- and reveals nothing else of the record.
CREATE FUNCTION identity_erased(p_clerk_id text) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT EXISTS (SELECT FROM erased_identities
                   WHERE clerk_id_sha256 = sha256(convert_to(p_clerk_id, 'UTF8')))
$$;
REVOKE EXECUTE ON FUNCTION identity_erased(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION identity_erased(text) TO learnstore_app;

-- Every deleted user is an erased identity, whoever deleted the row (erase_user(), as_user()'s own
-- deletion, a DBA). SECURITY DEFINER: learnstore_app may not write the record.
CREATE FUNCTION record_erased_user() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM lock_clerk_identity(o.clerk_id) FROM old_rows o;
    INSERT INTO erased_identities (clerk_id_sha256)
    SELECT sha256(convert_to(o.clerk_id, 'UTF8')) FROM old_rows o
    ON CONFLICT (clerk_id_sha256) DO NOTHING;
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION record_erased_user() FROM PUBLIC;
CREATE TRIGGER users_record_erased AFTER DELETE ON users REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION record_erased_user();

-- Erase a user (GDPR): the row goes (private rows with it, what they wrote stays anonymously, the
-- trigger records the identity) and, for an identity never seen here (a user.deleted delivered
-- before its user.created), the identity is recorded as erased all the same, when the caller may
-- write the record (the service path). True when a user row was deleted.
CREATE FUNCTION erase_user(p_clerk_id text) RETURNS boolean
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM lock_clerk_identity(p_clerk_id);
    DELETE FROM users WHERE clerk_id = p_clerk_id;
    IF FOUND THEN
        RETURN true;
    END IF;
    IF has_table_privilege('erased_identities', 'INSERT') THEN
        INSERT INTO erased_identities (clerk_id_sha256) VALUES (sha256(convert_to(p_clerk_id, 'UTF8')))
        ON CONFLICT (clerk_id_sha256) DO NOTHING;
    END IF;
    RETURN false;
END
$$;

-- Create or update a user from an identity-provider event, unless the identity was erased or the
-- stored version is newer: then no row. The lock orders it with a concurrent erase (see above);
-- each statement of a VOLATILE function sees what committed before it, the lock's holder included.
CREATE FUNCTION apply_clerk_user(
    p_clerk_id text, p_email text, p_first_name text, p_last_name text, p_avatar_url text,
    p_clerk_updated_at timestamptz
) RETURNS SETOF users
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM lock_clerk_identity(p_clerk_id);
    IF identity_erased(p_clerk_id) THEN
        RETURN;
    END IF;
    RETURN QUERY
    INSERT INTO users AS u (clerk_id, email, first_name, last_name, avatar_url, clerk_updated_at)
    VALUES (p_clerk_id, p_email, p_first_name, p_last_name, p_avatar_url, p_clerk_updated_at)
    ON CONFLICT (clerk_id) DO UPDATE
        SET email = excluded.email,
            first_name = excluded.first_name,
            last_name = excluded.last_name,
            avatar_url = excluded.avatar_url,
            clerk_updated_at = excluded.clerk_updated_at
        WHERE u.clerk_updated_at IS NULL OR u.clerk_updated_at < excluded.clerk_updated_at
    RETURNING u.*;
END
$$;
