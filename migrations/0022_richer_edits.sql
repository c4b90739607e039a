-- Richer suggested edits (issue 19): besides fields of a course or a lesson, an edit adds a lesson to
-- a unit, removes one, reorders a unit's lessons, or changes a quiz (`kind`, with the payload's shape
-- checked per kind); the proposer withdraws a pending edit; approval applies any kind whole in one
-- function (approve_suggested_edit) with a staleness check; the proposer is told of the decision.
-- The constraints are added NOT VALID (no scan under the ACCESS EXCLUSIVE lock) and validated, with the
-- new columns' indexes, in 0022_richer_edits_indexes.

ALTER TABLE suggested_edits
    ADD COLUMN kind text NOT NULL DEFAULT 'fields',
    ADD COLUMN unit_id uuid,
    ADD COLUMN quiz_id uuid,
    ADD COLUMN base_lesson_ids uuid[];
COMMENT ON COLUMN suggested_edits.kind IS 'What the edit does: fields, add_lesson, remove_lesson, reorder_lessons or quiz.';
COMMENT ON COLUMN suggested_edits.base_lesson_ids IS 'A unit''s lessons in order when the edit was proposed: approval fails if they moved.';
COMMENT ON COLUMN suggested_edits.reviewed_at IS 'When the edit was approved, rejected or withdrawn.';
ALTER TABLE suggested_edits ADD CONSTRAINT suggested_edits_unit_id_fkey
    FOREIGN KEY (unit_id) REFERENCES units (id) ON DELETE CASCADE NOT VALID;
ALTER TABLE suggested_edits ADD CONSTRAINT suggested_edits_quiz_id_fkey
    FOREIGN KEY (quiz_id) REFERENCES quizzes (id) ON DELETE CASCADE NOT VALID;
ALTER TABLE suggested_edits ADD CONSTRAINT suggested_edits_kind_valid
    CHECK (kind IN ('fields', 'add_lesson', 'remove_lesson', 'reorder_lessons', 'quiz')) NOT VALID;
ALTER TABLE suggested_edits ADD CONSTRAINT suggested_edits_kind_target CHECK (
    CASE kind
        WHEN 'fields' THEN unit_id IS NULL AND quiz_id IS NULL AND base_lesson_ids IS NULL
        WHEN 'quiz' THEN quiz_id IS NOT NULL AND lesson_id IS NULL AND unit_id IS NULL AND base_lesson_ids IS NULL
        WHEN 'add_lesson' THEN unit_id IS NOT NULL AND lesson_id IS NULL AND quiz_id IS NULL AND base_lesson_ids IS NOT NULL
        WHEN 'remove_lesson' THEN unit_id IS NOT NULL AND lesson_id IS NULL AND quiz_id IS NULL AND base_lesson_ids IS NOT NULL
        WHEN 'reorder_lessons' THEN unit_id IS NOT NULL AND lesson_id IS NULL AND quiz_id IS NULL AND base_lesson_ids IS NOT NULL
        ELSE true
    END) NOT VALID;
ALTER TABLE suggested_edits ADD CONSTRAINT suggested_edits_kind_payload CHECK (  -- a missing key is NULL: refused, not let through
    coalesce(CASE kind
        WHEN 'add_lesson' THEN payload ?& ARRAY['title', 'content_type', 'content']
                               AND jsonb_typeof(payload -> 'content') = 'object'
        WHEN 'remove_lesson' THEN jsonb_typeof(payload -> 'lesson_id') = 'string'
        WHEN 'reorder_lessons' THEN jsonb_typeof(payload -> 'lesson_ids') = 'array'
        WHEN 'quiz' THEN payload ?| ARRAY['question', 'options', 'correct_answer']
        ELSE true
    END, false)) NOT VALID;
-- A withdrawn edit was never reviewed: its proposer closed it.
ALTER TABLE suggested_edits ADD CONSTRAINT suggested_edits_withdrawn_unreviewed
    CHECK (status <> 'withdrawn' OR reviewer_clerk_id IS NULL) NOT VALID;
-- The status rule gains 'withdrawn'; the old CHECK is a subset of the new one.
-- squawk-ignore ban-drop-constraint
ALTER TABLE suggested_edits DROP CONSTRAINT suggested_edits_status_valid;
ALTER TABLE suggested_edits ADD CONSTRAINT suggested_edits_status_valid
    CHECK (status IN ('pending', 'approved', 'rejected', 'withdrawn')) NOT VALID;

-- Approves a pending suggested edit and applies it, all or nothing, in the caller's transaction:
-- the course's author or an accepted reviewer (the rule edits.approve_edit always had), in their
-- own name under as_user (insufficient_privilege otherwise). The edit row is locked first; then the
-- target: a field edit and a quiz edit compare their target's updated_at with the proposal's (the
-- UPDATE's WHERE re-checks it on the newest row version, so a concurrent direct edit makes it stale);
-- a lesson edit of a unit locks the course's content (lock_course_content, as every change of order
-- does) and compares the unit's lessons, in order, with what the proposal saw. Stale, no longer
-- pending, or not the caller's to approve: no row, nothing changed (the caller explains the refusal
-- from a second read). SECURITY DEFINER: a reviewer approves a new lesson or a quiz change that the
-- content policies let only the author and editors write directly; the check above is the rule.
CREATE FUNCTION approve_suggested_edit(p_edit_id uuid, p_reviewer text, p_note text)
RETURNS SETOF suggested_edits
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    e suggested_edits;
    v_order uuid[];
BEGIN
    IF learnstore_actor() IS NOT NULL AND learnstore_actor() IS DISTINCT FROM p_reviewer THEN
        RAISE EXCEPTION 'an edit is approved in the acting user''s own name'
            USING ERRCODE = 'insufficient_privilege', HINT = 'reviewer_clerk_id';
    END IF;
    SELECT * INTO e FROM suggested_edits s
    WHERE s.id = p_edit_id AND s.status = 'pending'
      AND course_role(s.course_id, p_reviewer) IN ('author', 'reviewer')
    FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF e.kind = 'fields' AND e.lesson_id IS NULL THEN
        UPDATE courses c
        SET title = coalesce(e.payload ->> 'title', c.title),
            description = coalesce(e.payload ->> 'description', c.description),
            learning_objectives = CASE WHEN e.payload -> 'learning_objectives' IS NULL THEN c.learning_objectives
                ELSE array(SELECT jsonb_array_elements_text(e.payload -> 'learning_objectives')) END
        WHERE c.id = e.course_id AND c.updated_at = e.base_updated_at;
        IF NOT FOUND THEN
            RETURN;
        END IF;
    ELSIF e.kind = 'fields' THEN
        UPDATE lessons l
        SET title = coalesce(e.payload ->> 'title', l.title),
            content = coalesce(e.payload -> 'content', l.content)
        WHERE l.id = e.lesson_id AND l.updated_at = e.base_updated_at;
        IF NOT FOUND THEN
            RETURN;
        END IF;
    ELSIF e.kind = 'quiz' THEN
        UPDATE quizzes q
        SET question = coalesce(e.payload ->> 'question', q.question),
            options = coalesce(e.payload -> 'options', q.options),
            correct_answer = coalesce(e.payload -> 'correct_answer', q.correct_answer)
        WHERE q.id = e.quiz_id AND q.updated_at = e.base_updated_at;
        IF NOT FOUND THEN
            RETURN;
        END IF;
    ELSE
        PERFORM lock_course_content(e.course_id);
        -- A fresh snapshot after the lock: every change of order committed before it is seen here.
        v_order := array(SELECT l.id FROM lessons l WHERE l.unit_id = e.unit_id ORDER BY l.position);
        IF v_order IS DISTINCT FROM e.base_lesson_ids THEN
            RETURN;
        END IF;
        IF e.kind = 'add_lesson' THEN
            PERFORM add_lesson(e.unit_id, e.payload ->> 'title', e.payload ->> 'content_type', e.payload -> 'content',
                               (e.payload ->> 'duration_seconds')::integer, (e.payload ->> 'position')::integer);
        ELSIF e.kind = 'remove_lesson' THEN
            PERFORM delete_lesson((e.payload ->> 'lesson_id')::uuid);
        ELSE
            -- One statement: the unique (unit_id, position) key is deferrable, checked at its end.
            UPDATE lessons l SET position = o.ordinality - 1
            FROM jsonb_array_elements_text(e.payload -> 'lesson_ids') WITH ORDINALITY AS o (id, ordinality)
            WHERE l.id = o.id::uuid AND l.unit_id = e.unit_id AND l.position <> o.ordinality - 1;
        END IF;
    END IF;
    RETURN QUERY
    UPDATE suggested_edits s
    SET status = 'approved', reviewer_clerk_id = p_reviewer, reviewed_at = now(), review_note = p_note
    WHERE s.id = e.id
    RETURNING s.*;
END
$$;
COMMENT ON FUNCTION approve_suggested_edit(uuid, text, text) IS 'Approves a pending suggested edit and applies it whole, or returns no row (stale, decided, or not the reviewer''s).';
REVOKE EXECUTE ON FUNCTION approve_suggested_edit(uuid, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION approve_suggested_edit(uuid, text, text) TO learnstore_app;

-- The proposer is told when their edit is approved or rejected (not when they withdraw it), in the
-- statement of the decision. SECURITY DEFINER: a reviewer may not write another user's notification.
CREATE FUNCTION suggested_edits_notify_proposer() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    INSERT INTO notifications (user_clerk_id, type, message, source_id, source_type, metadata)
    SELECT NEW.author_clerk_id, 'system',
           'Your suggested edit "' || left(NEW.summary, 200) || '" to "' || left(c.title, 200) || '" was ' || NEW.status,
           NEW.id, 'suggested_edit',
           jsonb_build_object('by', NEW.reviewer_clerk_id, 'course_id', NEW.course_id, 'status', NEW.status)
    FROM courses c WHERE c.id = NEW.course_id;
    RETURN NULL;
END
$$;
CREATE TRIGGER suggested_edits_notify_proposer AFTER UPDATE OF status ON suggested_edits
    FOR EACH ROW
    WHEN (OLD.status = 'pending' AND NEW.status IN ('approved', 'rejected') AND NEW.author_clerk_id IS NOT NULL
          AND NEW.author_clerk_id IS DISTINCT FROM NEW.reviewer_clerk_id)
    EXECUTE FUNCTION suggested_edits_notify_proposer();

-- The proposer withdraws their own pending edit; nothing else of it changes (column grants), and it
-- is never reviewed after (suggested_edits_withdrawn_unreviewed).
GRANT INSERT (kind, unit_id, quiz_id, base_lesson_ids) ON suggested_edits TO learnstore_app;
CREATE POLICY suggested_edits_own_withdraw_update ON suggested_edits FOR UPDATE
    USING (author_clerk_id = (select learnstore_actor()) AND status = 'pending')
    WITH CHECK (author_clerk_id = (select learnstore_actor()) AND status = 'withdrawn');
