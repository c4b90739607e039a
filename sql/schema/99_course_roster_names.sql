-- An instructor's roster by name that does not grow with the course's audience (issue 18 point 4;
-- migration 0040). Until then GetCourseRosterByName named every learner of the course (a users lookup
-- each) and sorted them for one page: 23 ms for the large scale's flagship (8,296 learners), linear
-- in the audience. course_roster_names copies each enrolled learner's name key (the name the roster
-- sorts by) onto the enrolment, with an index in the roster's order: a page is an index walk from
-- the keyset that stops after the page.
--
-- A table of its own, not a column of user_courses: every progress change updates its enrolment
-- (not a HOT update: progress is indexed), and one more index there would be written by every
-- lesson completed. The names change when a learner renames themselves, and a row is made with
-- each enrolment. Derived state kept by triggers in the writer's transaction on every path
-- (learnstore's functions, imports over COPY, webhooks, plain SQL), checked and repaired by
-- `learnstore check` (course_roster_names in learnstore.derived).

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
-- the name it sees. So each locks the learner (learnstore_keys_lock, 00_foundation.sql) and reads in
-- a later statement: a rename exclusively, an enrolment shared.
CREATE FUNCTION course_roster_names_lock(p_learners text[], p_exclusive boolean) RETURNS void
LANGUAGE sql VOLATILE SET search_path = public, pg_temp
AS $$ SELECT learnstore_keys_lock('learnstore.course_roster_names', p_learners, p_exclusive) $$;
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
