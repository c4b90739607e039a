-- Issue 18 point 4: the roster by name walks an index instead of naming and sorting every learner
-- of the course (sql/queries/pages.sql, GetCourseRosterByName and ExportCourseRoster; docs/pages.md).
-- This file adds the table, its index (on an empty table: no build to wait for), the triggers that
-- keep it from here on and the roster view's name key. 0040_course_roster_names_backfill copies
-- the enrolments already there, in batches. The declarative picture:
-- sql/schema/99_course_roster_names.sql.

-- The name a roster sorts a user by: their full name, else their clerk id, lower-cased (what
-- GetCourseRoster's entries show as `name`, lower-cased).
CREATE FUNCTION learnstore_name_key(p_first_name text, p_last_name text, p_clerk_id text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN lower(coalesce(nullif(btrim(concat_ws(' ', p_first_name, p_last_name)), ''), p_clerk_id));

-- ---- a learner's name key, per enrolment ------------------------------------------------------
-- One row per enrolment. The foreign key to the enrolment follows it: an unenrolment, an erasure
-- or a course's deletion removes the row, a clerk_id renamed or an enrolment moved moves it.
CREATE TABLE course_roster_names (
    id            uuid        NOT NULL DEFAULT uuidv7(),
    course_id     uuid        NOT NULL,
    user_clerk_id text        NOT NULL,
    name_key      text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT course_roster_names_pkey PRIMARY KEY (id),
    CONSTRAINT course_roster_names_user_course_key UNIQUE (user_clerk_id, course_id),
    CONSTRAINT course_roster_names_enrolment_fkey FOREIGN KEY (user_clerk_id, course_id)
        REFERENCES user_courses (user_clerk_id, course_id) ON UPDATE CASCADE ON DELETE CASCADE
);
COMMENT ON TABLE course_roster_names IS 'An enrolled learner''s name key, copied by triggers: the roster by name walks it.';
-- A course's roster by name (GetCourseRosterByName, ExportCourseRoster), in order.
CREATE INDEX course_roster_names_course_name_idx ON course_roster_names (course_id, name_key, user_clerk_id);
CREATE TRIGGER course_roster_names_set_updated_at BEFORE UPDATE ON course_roster_names
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- A rename and an enrolment of one learner are written by different transactions, and neither sees
-- the other's uncommitted row: the rename updates the learner's rows it sees, the enrolment copies
-- the name it sees. So each takes a transaction-scoped advisory lock on the learner, then reads in
-- a later statement: a rename exclusively, an enrolment shared (a learner's enrolments need not
-- queue on each other). The second reads after the first committed (READ COMMITTED). A statement of
-- more than 32 learners (an import) takes one exclusive lock instead (the lock table is finite),
-- which the per-learner lockers share. (course_points_lock, 99_course_points.sql, does the same for
-- points.)
CREATE FUNCTION course_roster_names_lock(p_learners text[], p_exclusive boolean) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = public, pg_temp AS $$
BEGIN
    IF cardinality(p_learners) > 32 THEN
        PERFORM pg_advisory_xact_lock(hashtext('learnstore.course_roster_names'));
    ELSIF p_exclusive THEN
        PERFORM pg_advisory_xact_lock_shared(hashtext('learnstore.course_roster_names'));
        PERFORM pg_advisory_xact_lock(hashtext('learnstore.course_roster_names'), l.key)
        FROM (SELECT DISTINCT hashtext(r.learner) AS key FROM unnest(p_learners) AS r (learner) ORDER BY 1) AS l;
    ELSE
        PERFORM pg_advisory_xact_lock_shared(hashtext('learnstore.course_roster_names'));
        PERFORM pg_advisory_xact_lock_shared(hashtext('learnstore.course_roster_names'), l.key)
        FROM (SELECT DISTINCT hashtext(r.learner) AS key FROM unnest(p_learners) AS r (learner) ORDER BY 1) AS l;
    END IF;
END
$$;
REVOKE EXECUTE ON FUNCTION course_roster_names_lock(text[], boolean) FROM PUBLIC;

-- Rewrites the given learners' rows from user_courses and users: the repair, the backfill. Locks
-- the learners (a rename or an enrolment waits), then copies in a later statement; the enrolments
-- are locked against their deletion (FOR KEY SHARE): an unenrolment under way is waited for and its
-- row skipped, where the foreign key's check would fail the repair.
CREATE FUNCTION course_roster_names_resync(p_learners text[]) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM course_roster_names_lock(p_learners, true);
    INSERT INTO course_roster_names AS rn (course_id, user_clerk_id, name_key)
    SELECT e.course_id, e.user_clerk_id, e.name_key
    FROM (SELECT uc.course_id, uc.user_clerk_id,
                 learnstore_name_key(u.first_name, u.last_name, u.clerk_id) AS name_key
          FROM user_courses uc JOIN users u ON u.clerk_id = uc.user_clerk_id
          WHERE uc.user_clerk_id = ANY (p_learners)
          FOR KEY SHARE OF uc) AS e
    ORDER BY e.user_clerk_id, e.course_id
    ON CONFLICT (user_clerk_id, course_id) DO UPDATE SET name_key = excluded.name_key
        WHERE rn.name_key IS DISTINCT FROM excluded.name_key;
END
$$;
COMMENT ON FUNCTION course_roster_names_resync(text[]) IS
    'Rewrites the course_roster_names rows of the given learners from their enrolments and names, exactly, under concurrent renames and enrolments.';
REVOKE EXECUTE ON FUNCTION course_roster_names_resync(text[]) FROM PUBLIC;

-- AFTER INSERT on user_courses, per statement (COPY included): each new enrolment's row, with its
-- learner's name key. SECURITY DEFINER: nobody writes course_roster_names but these triggers.
CREATE FUNCTION user_courses_copy_roster_names() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_learners text[];
BEGIN
    SELECT array_agg(DISTINCT n.user_clerk_id ORDER BY n.user_clerk_id) INTO v_learners FROM new_rows n;
    IF v_learners IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM course_roster_names_lock(v_learners, false);
    INSERT INTO course_roster_names AS rn (course_id, user_clerk_id, name_key)
    SELECT n.course_id, n.user_clerk_id, learnstore_name_key(u.first_name, u.last_name, u.clerk_id)
    FROM new_rows n JOIN users u ON u.clerk_id = n.user_clerk_id
    ORDER BY n.user_clerk_id, n.course_id
    ON CONFLICT (user_clerk_id, course_id) DO UPDATE SET name_key = excluded.name_key
        WHERE rn.name_key IS DISTINCT FROM excluded.name_key;
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION user_courses_copy_roster_names() FROM PUBLIC;
CREATE TRIGGER user_courses_copy_roster_names AFTER INSERT ON user_courses
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION user_courses_copy_roster_names();

-- AFTER UPDATE on users, per statement: the rows of the learners whose name key changed (a rename;
-- a clerk_id renamed, when the key is the clerk id). An update that changes no key (most: a
-- webhook's avatar, a time zone) copies nothing and takes no lock. A row is found by the learner's
-- old clerk id or the new one: a clerk_id's cascade from user_courses to course_roster_names runs
-- after this trigger (the cascades' own triggers are queued behind the statement's).
CREATE FUNCTION users_copy_roster_names() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_old text[];
    v_new text[];
    v_keys text[];
BEGIN
    SELECT array_agg(o.clerk_id ORDER BY n.clerk_id), array_agg(n.clerk_id ORDER BY n.clerk_id),
           array_agg(learnstore_name_key(n.first_name, n.last_name, n.clerk_id) ORDER BY n.clerk_id)
    INTO v_old, v_new, v_keys
    FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE learnstore_name_key(n.first_name, n.last_name, n.clerk_id)
          IS DISTINCT FROM learnstore_name_key(o.first_name, o.last_name, o.clerk_id);
    IF v_new IS NULL THEN
        RETURN NULL;
    END IF;
    PERFORM course_roster_names_lock(v_new || v_old, true);
    UPDATE course_roster_names rn SET name_key = d.name_key
    FROM unnest(v_old, v_new, v_keys) AS d (old_clerk_id, new_clerk_id, name_key)
    WHERE rn.user_clerk_id IN (d.old_clerk_id, d.new_clerk_id) AND rn.name_key IS DISTINCT FROM d.name_key;
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION users_copy_roster_names() FROM PUBLIC;
CREATE TRIGGER users_copy_roster_names AFTER UPDATE ON users
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION users_copy_roster_names();

-- Read through course_roster_by_name alone (the owner's view below, which shows a course's team its
-- roster): no grant, and a policy that lets no one read a row directly.
ALTER TABLE course_roster_names ENABLE ROW LEVEL SECURITY;
CREATE POLICY course_roster_names_nobody_select ON course_roster_names FOR SELECT USING (false);

-- The roster's entries with each learner's name key, for the order by name: course_roster_entries'
-- rows (the same columns, and the same rule: a course's team, or the service path), from the names
-- table, so that a page walks course_roster_names_course_name_idx from its keyset. (The name key
-- joined onto course_roster_entries instead, as an outer join, could not lead the plan.)
CREATE VIEW course_roster_by_name AS
SELECT rn.course_id,
       rn.user_clerk_id,
       uc.progress,
       uc.enrolled_at,
       uc.completed_at,
       uc.updated_at AS last_activity_at,
       rn.name_key
FROM course_roster_names rn
JOIN user_courses uc ON uc.user_clerk_id = rn.user_clerk_id AND uc.course_id = rn.course_id
WHERE current_user <> 'learnstore_app'
   OR rn.course_id IN (SELECT learnstore_team_courses('{author,editor,reviewer}'));
COMMENT ON VIEW course_roster_by_name IS
    'A course''s enrolments with name keys, as its team may read them (the roster by name).';
GRANT SELECT ON course_roster_by_name TO learnstore_app;
