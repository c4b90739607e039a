-- Cloned courses and forked flashcard sets; quizzes and media in order under their lesson; a
-- flashcard set's language and source (issue 19 points 5 and 7, issue 18 point 7; migrations
-- 0020_cloning_and_sets, _indexes and _keys).

-- ---- quizzes and media in order ----------------------------------------------------------------
-- Positions 0, 1, ..., n-1 under a lesson, unique and without gaps, as lessons' in a unit.
ALTER TABLE quizzes ADD COLUMN position integer NOT NULL;
ALTER TABLE media ADD COLUMN position integer NOT NULL;
ALTER TABLE quizzes ADD CONSTRAINT quizzes_position_valid CHECK (position IS NOT NULL AND position >= 0);
ALTER TABLE media ADD CONSTRAINT media_position_valid CHECK (position IS NOT NULL AND position >= 0);
-- Deferrable so that a reorder can shift a run of positions in one UPDATE.
ALTER TABLE quizzes ADD CONSTRAINT quizzes_lesson_position_key
    UNIQUE (lesson_id, position) DEFERRABLE INITIALLY IMMEDIATE;
ALTER TABLE media ADD CONSTRAINT media_lesson_position_key
    UNIQUE (lesson_id, position) DEFERRABLE INITIALLY IMMEDIATE;
COMMENT ON COLUMN quizzes.position IS 'The quiz''s place under its lesson, 0-based, dense.';
COMMENT ON COLUMN media.position IS 'The file''s place under its lesson, 0-based, dense.';
GRANT INSERT (position), UPDATE (position) ON quizzes TO learnstore_app;
GRANT INSERT (position), UPDATE (position) ON media TO learnstore_app;

-- The course a lesson belongs to, locked against concurrent changes of order (lock_course_content);
-- NULL when there is no such lesson.
CREATE FUNCTION lock_lesson_course(p_lesson_id uuid) RETURNS uuid
LANGUAGE plpgsql VOLATILE SET search_path = public, pg_temp AS $$
DECLARE
    v_course uuid;
BEGIN
    SELECT u.course_id INTO v_course FROM lessons l JOIN units u ON u.id = l.unit_id WHERE l.id = p_lesson_id;
    IF NOT FOUND OR NOT lock_course_content(v_course) THEN
        RETURN NULL;
    END IF;
    RETURN v_course;
END
$$;

-- BEFORE INSERT on quizzes and media: a row without a position goes last under its lesson. The
-- course lock queues two appends to one lesson, so they take n and n+1; a row-level BEFORE trigger
-- sees the rows its statement inserted before this one, so a multi-row INSERT numbers them densely.
CREATE FUNCTION lesson_items_append() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    IF NEW.position IS NULL THEN
        PERFORM lock_lesson_course(NEW.lesson_id);
        EXECUTE format('SELECT coalesce(max(position) + 1, 0) FROM %I WHERE lesson_id = $1', TG_TABLE_NAME)
            INTO NEW.position USING NEW.lesson_id;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER quizzes_append BEFORE INSERT ON quizzes FOR EACH ROW EXECUTE FUNCTION lesson_items_append();
CREATE TRIGGER media_append BEFORE INSERT ON media FOR EACH ROW EXECUTE FUNCTION lesson_items_append();

-- Moves a quiz or a media file (p_table) to a position under its lesson (NULL: the last), shifting
-- the rows between, as move_unit does: the course lock queues changes of one course's order, and the
-- deferrable unique (lesson_id, position) key lets one UPDATE shift a run. Unknown id: no_data_found
-- with p_hint (quiz_id, media_id) as HINT.
CREATE FUNCTION move_lesson_item(p_table text, p_id uuid, p_position integer, p_hint text) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = public, pg_temp AS $$
DECLARE
    v_lesson uuid;
    v_from integer;
    v_to integer;
    v_last integer;
    v_moved integer;
BEGIN
    EXECUTE format('SELECT lesson_id FROM %I WHERE id = $1', p_table) INTO v_lesson USING p_id;
    IF v_lesson IS NULL OR lock_lesson_course(v_lesson) IS NULL THEN
        RAISE EXCEPTION 'no % with id %', replace(p_hint, '_id', ''), p_id USING ERRCODE = 'no_data_found', HINT = p_hint;
    END IF;
    -- A fresh snapshot: the row may have moved, or gone, while this waited for the lock.
    EXECUTE format('SELECT position FROM %I WHERE id = $1', p_table) INTO v_from USING p_id;
    IF v_from IS NULL THEN
        RAISE EXCEPTION 'no % with id %', replace(p_hint, '_id', ''), p_id USING ERRCODE = 'no_data_found', HINT = p_hint;
    END IF;
    EXECUTE format('SELECT count(*)::integer - 1 FROM %I WHERE lesson_id = $1', p_table) INTO v_last USING v_lesson;
    v_to := content_position(p_position, v_last);
    EXECUTE format(
        'UPDATE %I SET position = CASE WHEN id = $1 THEN $3 WHEN $3 > $2 THEN position - 1 ELSE position + 1 END'
        ' WHERE lesson_id = $4 AND $2 <> $3 AND position BETWEEN least($2, $3) AND greatest($2, $3)', p_table)
        USING p_id, v_from, v_to, v_lesson;
    -- Row-level security hides the rows a user may not change from the UPDATE: fewer rows than the
    -- run means a refusal, which must be an error, not a silent no-op.
    GET DIAGNOSTICS v_moved = ROW_COUNT;
    IF v_from <> v_to AND v_moved <> abs(v_to - v_from) + 1 THEN
        RAISE EXCEPTION 'may not reorder the % of lesson %', p_table, v_lesson
            USING ERRCODE = 'insufficient_privilege', HINT = p_hint;
    END IF;
END
$$;

-- move_lesson_item for each table, returning the moved row.
CREATE FUNCTION move_quiz(p_quiz_id uuid, p_position integer) RETURNS quizzes
LANGUAGE plpgsql VOLATILE SET search_path = public, pg_temp AS $$
DECLARE
    moved quizzes;
BEGIN
    PERFORM move_lesson_item('quizzes', p_quiz_id, p_position, 'quiz_id');
    SELECT * INTO moved FROM quizzes WHERE id = p_quiz_id;
    RETURN moved;
END
$$;
CREATE FUNCTION move_media(p_media_id uuid, p_position integer) RETURNS media
LANGUAGE plpgsql VOLATILE SET search_path = public, pg_temp AS $$
DECLARE
    moved media;
BEGIN
    PERFORM move_lesson_item('media', p_media_id, p_position, 'media_id');
    SELECT * INTO moved FROM media WHERE id = p_media_id;
    RETURN moved;
END
$$;

-- Deletes a quiz or a media file, closing the gap it leaves; false if there is no such row.
CREATE FUNCTION delete_lesson_item(p_table text, p_id uuid) RETURNS boolean
LANGUAGE plpgsql VOLATILE SET search_path = public, pg_temp AS $$
DECLARE
    v_lesson uuid;
    v_from integer;
BEGIN
    EXECUTE format('SELECT lesson_id FROM %I WHERE id = $1', p_table) INTO v_lesson USING p_id;
    IF v_lesson IS NULL OR lock_lesson_course(v_lesson) IS NULL THEN
        RETURN false;
    END IF;
    EXECUTE format('DELETE FROM %I WHERE id = $1 RETURNING position', p_table) INTO v_from USING p_id;
    IF v_from IS NULL THEN
        RETURN false;
    END IF;
    EXECUTE format('UPDATE %I SET position = position - 1 WHERE lesson_id = $1 AND position > $2', p_table)
        USING v_lesson, v_from;
    RETURN true;
END
$$;

-- ---- flashcard sets: a language, and the set a fork came from ----------------------------------
ALTER TABLE flashcard_sets ADD COLUMN language_id uuid;
ALTER TABLE flashcard_sets ADD COLUMN forked_from uuid;
ALTER TABLE flashcard_sets ADD CONSTRAINT flashcard_sets_language_id_fkey FOREIGN KEY (language_id)
    REFERENCES languages (id) ON DELETE RESTRICT;
ALTER TABLE flashcard_sets ADD CONSTRAINT flashcard_sets_forked_from_fkey FOREIGN KEY (forked_from)
    REFERENCES flashcard_sets (id) ON DELETE SET NULL;
COMMENT ON COLUMN flashcard_sets.language_id IS 'The language the set teaches; NULL when not said.';
COMMENT ON COLUMN flashcard_sets.forked_from IS 'The public set this one was forked from; NULL once that set is deleted.';
-- Who forked what is the database's to say: forked_from is written by fork_flashcard_set alone.
GRANT INSERT (language_id), UPDATE (language_id) ON flashcard_sets TO learnstore_app;
CREATE INDEX flashcard_sets_language_id_idx ON flashcard_sets (language_id);
CREATE INDEX flashcard_sets_forked_from_idx ON flashcard_sets (forked_from);
-- Browsing public sets newest first, keyset on (created_at, id).
CREATE INDEX flashcard_sets_public_created_idx ON flashcard_sets (created_at DESC, id DESC) WHERE is_public;
-- Searching sets by title and description: the expression is the one the queries write.
CREATE INDEX flashcard_sets_search_idx ON flashcard_sets
    USING gin (to_tsvector('simple'::regconfig, title || ' ' || description));

-- ---- cloning ------------------------------------------------------------------------------------
-- Who may clone a course: its author and accepted collaborators (editor, reviewer) whatever its
-- status; anyone else a published course only. A draft the user may not see is no_data_found (as it
-- is to them under as_user: learnstore_hidden_courses); an archived course insufficient_privilege.
-- The caller is p_clerk_id, and under as_user() the acting identity (another id is refused).
--
-- SECURITY DEFINER, with the rule above checked here: the copy is one INSERT ... SELECT statement
-- (one snapshot, so an edit of the source committed meanwhile is either wholly in the clone or not
-- at all), and inside one statement the new course is not yet visible to the row-level policies
-- that would check its units, lessons, quizzes, media and tags. Ids map old to new through
-- unit_map and lesson_map (a new uuid per source row, drawn once: the maps are materialized), which
-- the children join to find their new parent. The children are read by LATERAL subqueries kept
-- apart by OFFSET 0 (else the planner flattens them into joins), so each is an index lookup by its
-- parent: misled by the maps' estimates, the planner had merged whole sorted tables instead.
CREATE FUNCTION clone_course(p_course_id uuid, p_clerk_id text, p_title text) RETURNS courses
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_actor text := nullif(current_setting('learnstore.clerk_id', true), '');
    v_status text;
    v_role text;
    created courses;
BEGIN
    IF p_clerk_id IS NULL THEN
        RAISE EXCEPTION 'a clone needs an author' USING HINT = 'clerk_id';
    END IF;
    IF v_actor IS NOT NULL AND v_actor IS DISTINCT FROM p_clerk_id THEN
        RAISE EXCEPTION 'user % may not clone a course in the name of %', v_actor, p_clerk_id
            USING ERRCODE = 'insufficient_privilege', HINT = 'clerk_id';
    END IF;
    -- FOR KEY SHARE: the source is not deleted halfway; edits of its fields go on.
    SELECT status INTO v_status FROM courses WHERE id = p_course_id FOR KEY SHARE;
    v_role := course_role(p_course_id, p_clerk_id);
    IF v_status IS NULL OR (v_status = 'draft' AND v_role IS NULL) THEN
        RAISE EXCEPTION 'no course with id %', p_course_id USING ERRCODE = 'no_data_found', HINT = 'course_id';
    END IF;
    IF v_status <> 'published' AND v_role IS NULL THEN
        RAISE EXCEPTION 'user % may not clone course %: an % course is cloned by its team only',
            p_clerk_id, p_course_id, v_status USING ERRCODE = 'insufficient_privilege', HINT = 'course_id';
    END IF;
    WITH src AS (
        SELECT * FROM courses WHERE id = p_course_id
    ), new_course AS (
        INSERT INTO courses (author_clerk_id, title, description, difficulty, estimated_duration_minutes,
                             learning_objectives, cover_image_url, language_id)
        SELECT p_clerk_id, coalesce(p_title, s.title), s.description, s.difficulty, s.estimated_duration_minutes,
               s.learning_objectives, s.cover_image_url, s.language_id
        FROM src s
        RETURNING *
    ), unit_map AS MATERIALIZED (
        SELECT u.id AS old_id, gen_random_uuid() AS new_id, u.title, u.description, u.position
        FROM units u WHERE u.course_id = p_course_id
    ), new_units AS (
        INSERT INTO units (id, course_id, title, description, position)
        SELECT m.new_id, c.id, m.title, m.description, m.position FROM unit_map m CROSS JOIN new_course c
    ), lesson_map AS MATERIALIZED (
        SELECT l.*, gen_random_uuid() AS new_id, m.new_id AS new_unit_id
        FROM unit_map m CROSS JOIN LATERAL (SELECT * FROM lessons l WHERE l.unit_id = m.old_id OFFSET 0) AS l
    ), new_lessons AS (
        INSERT INTO lessons (id, unit_id, title, content_type, content, duration_seconds, position)
        SELECT m.new_id, m.new_unit_id, m.title, m.content_type, m.content, m.duration_seconds, m.position
        FROM lesson_map m
    ), new_quizzes AS (
        INSERT INTO quizzes (lesson_id, question, question_type, options, correct_answer, position)
        SELECT m.new_id, q.question, q.question_type, q.options, q.correct_answer, q.position
        FROM lesson_map m CROSS JOIN LATERAL (SELECT * FROM quizzes q WHERE q.lesson_id = m.id OFFSET 0) AS q
    ), new_media AS (
        INSERT INTO media (lesson_id, media_type, url, title, position)
        SELECT m.new_id, x.media_type, x.url, x.title, x.position
        FROM lesson_map m CROSS JOIN LATERAL (SELECT * FROM media x WHERE x.lesson_id = m.id OFFSET 0) AS x
    ), new_tags AS (
        INSERT INTO course_tags (course_id, tag_id)
        SELECT c.id, t.tag_id FROM course_tags t CROSS JOIN new_course c WHERE t.course_id = p_course_id
    )
    SELECT * INTO created FROM new_course;
    RETURN created;
END
$$;
COMMENT ON FUNCTION clone_course(uuid, text, text) IS 'A deep copy of a course (units, lessons, quizzes, media, tags) as a draft of p_clerk_id''s.';
REVOKE EXECUTE ON FUNCTION clone_course(uuid, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION clone_course(uuid, text, text) TO learnstore_app;

-- Forks a flashcard set, cards included, as a private set of p_clerk_id's that names its source
-- (forked_from). A public set is forked by anyone, a private one by its owner only (no_data_found
-- otherwise, as it is to anyone else under as_user). One statement; SECURITY DEFINER for the reason
-- clone_course gives.
CREATE FUNCTION fork_flashcard_set(p_set_id uuid, p_clerk_id text, p_title text) RETURNS flashcard_sets
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    v_actor text := nullif(current_setting('learnstore.clerk_id', true), '');
    created flashcard_sets;
BEGIN
    IF p_clerk_id IS NULL THEN
        RAISE EXCEPTION 'a fork needs an owner' USING HINT = 'clerk_id';
    END IF;
    IF v_actor IS NOT NULL AND v_actor IS DISTINCT FROM p_clerk_id THEN
        RAISE EXCEPTION 'user % may not fork a set in the name of %', v_actor, p_clerk_id
            USING ERRCODE = 'insufficient_privilege', HINT = 'clerk_id';
    END IF;
    WITH src AS (
        SELECT * FROM flashcard_sets
        WHERE id = p_set_id AND (is_public OR owner_clerk_id = p_clerk_id)
        FOR KEY SHARE
    ), new_set AS (
        INSERT INTO flashcard_sets (owner_clerk_id, course_id, title, description, is_public, language_id, forked_from)
        SELECT p_clerk_id, s.course_id, coalesce(p_title, s.title), s.description, false, s.language_id, s.id
        FROM src s
        RETURNING *
    ), new_cards AS (
        INSERT INTO flashcards (set_id, front, back, position)
        SELECT n.id, f.front, f.back, f.position FROM flashcards f CROSS JOIN new_set n WHERE f.set_id = p_set_id
    )
    SELECT * INTO created FROM new_set;
    IF created.id IS NULL THEN
        RAISE EXCEPTION 'no flashcard set with id %', p_set_id USING ERRCODE = 'no_data_found', HINT = 'set_id';
    END IF;
    RETURN created;
END
$$;
COMMENT ON FUNCTION fork_flashcard_set(uuid, text, text) IS 'A private copy of a public (or one''s own) flashcard set, cards included, naming its source.';
REVOKE EXECUTE ON FUNCTION fork_flashcard_set(uuid, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION fork_flashcard_set(uuid, text, text) TO learnstore_app;

-- ---- the audit trail of a large INSERT ---------------------------------------------------------
-- The audit trail's INSERT entries find each new row's course by joining the transition table to
-- its parents once per statement, not by a lookup per row (audit_course_of): a clone inserts
-- thousands of rows in one statement, and the per-row lookup was most of its time
-- (bench/clone_time.py: a 1,000-lesson clone took half the time with the joins). UPDATE and DELETE keep
-- audit_course_of: a deleted row's parents may be gone, and an update touches few rows.
CREATE OR REPLACE FUNCTION audit_record_changes() RETURNS trigger
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
               CASE TG_TABLE_NAME
                   WHEN 'courses' THEN (r.j ->> 'id')::uuid
                   WHEN 'units' THEN (r.j ->> 'course_id')::uuid
                   WHEN 'collaborators' THEN (r.j ->> 'course_id')::uuid
                   WHEN 'lessons' THEN lu.course_id
                   WHEN 'media' THEN iu.course_id
                   WHEN 'quizzes' THEN iu.course_id
               END,
               r.j
        FROM (SELECT to_jsonb(n) AS j FROM new_rows n) AS r
        LEFT JOIN units lu ON TG_TABLE_NAME = 'lessons' AND lu.id = (r.j ->> 'unit_id')::uuid
        LEFT JOIN lessons il ON TG_TABLE_NAME IN ('media', 'quizzes') AND il.id = (r.j ->> 'lesson_id')::uuid
        LEFT JOIN units iu ON iu.id = il.unit_id;
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
