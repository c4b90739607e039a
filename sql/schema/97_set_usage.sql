-- Public flashcard sets "most used first" (issue 18 point 7; migrations 0024_set_usage and
-- 0024_set_usage_indexes): a set's learners and their count, kept exact by triggers.

-- ---- who has used a set ------------------------------------------------------------------------
-- A set's learners: each user who has started (has, or had, a schedule for) at least one of its
-- cards, once. A learner stays when their card is deleted or reset (they did use the set), and goes
-- with the set or when erased (ON DELETE CASCADE).
CREATE TABLE flashcard_set_learners (
    id            uuid        NOT NULL DEFAULT uuidv7(),
    set_id        uuid        NOT NULL,
    user_clerk_id text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT flashcard_set_learners_pkey PRIMARY KEY (id),
    CONSTRAINT flashcard_set_learners_set_user_key UNIQUE (set_id, user_clerk_id),
    CONSTRAINT flashcard_set_learners_set_id_fkey FOREIGN KEY (set_id)
        REFERENCES flashcard_sets (id) ON DELETE CASCADE,
    CONSTRAINT flashcard_set_learners_user_clerk_id_fkey FOREIGN KEY (user_clerk_id)
        REFERENCES users (clerk_id) ON UPDATE CASCADE ON DELETE CASCADE
);
COMMENT ON TABLE flashcard_set_learners IS 'A learner who has started a card of a set, once per set: flashcard_sets.learners counts them.';
CREATE INDEX flashcard_set_learners_user_clerk_id_idx ON flashcard_set_learners (user_clerk_id);
CREATE TRIGGER flashcard_set_learners_set_updated_at BEFORE UPDATE ON flashcard_set_learners
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- The count of a set's learners, kept by flashcard_set_learners' triggers.
ALTER TABLE flashcard_sets ADD COLUMN learners integer NOT NULL DEFAULT 0;
COMMENT ON COLUMN flashcard_sets.learners IS 'How many learners have started a card of the set (flashcard_set_learners).';
-- A change of the count alone is not an edit of the set: updated_at stays.
DROP TRIGGER flashcard_sets_set_updated_at ON flashcard_sets;
CREATE TRIGGER flashcard_sets_set_updated_at BEFORE UPDATE ON flashcard_sets
    FOR EACH ROW WHEN (OLD.learners IS NOT DISTINCT FROM NEW.learners)
    EXECUTE FUNCTION set_updated_at();

-- AFTER INSERT on user_flashcard_progress, per statement: each (set, learner) pair the new schedules
-- name, once; a pair already there is left alone (ON CONFLICT: of two learners' first cards at once,
-- the unique key lets one pair in and makes the other wait, then skip). SECURITY DEFINER: the
-- learner may not write the pairs, nor see a private set's cards.
CREATE FUNCTION flashcard_set_learners_record() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    INSERT INTO flashcard_set_learners (set_id, user_clerk_id)
    SELECT DISTINCT f.set_id, n.user_clerk_id
    FROM new_rows n JOIN flashcards f ON f.id = n.flashcard_id
    ORDER BY 1, 2
    ON CONFLICT (set_id, user_clerk_id) DO NOTHING;
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION flashcard_set_learners_record() FROM PUBLIC;
CREATE TRIGGER user_flashcard_progress_record_set_learners AFTER INSERT ON user_flashcard_progress
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION flashcard_set_learners_record();

-- AFTER INSERT and AFTER DELETE on flashcard_set_learners, per statement: the pairs' count added
-- to (or taken from) their sets' learners. Additions commute, so concurrent learners lose none; the
-- sets are locked in id order first, so that two statements touching several sets cannot deadlock.
-- A set deleted with its pairs is no longer there to update.
CREATE FUNCTION flashcard_set_learners_add(p_deltas jsonb) RETURNS void
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM FROM flashcard_sets s
    WHERE s.id IN (SELECT (d.key)::uuid FROM jsonb_each(p_deltas) AS d)
    ORDER BY s.id FOR NO KEY UPDATE;
    UPDATE flashcard_sets s SET learners = s.learners + (d.value)::integer
    FROM jsonb_each(p_deltas) AS d
    WHERE s.id = (d.key)::uuid;
END
$$;
REVOKE EXECUTE ON FUNCTION flashcard_set_learners_add(jsonb) FROM PUBLIC;
CREATE FUNCTION flashcard_set_learners_added() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM flashcard_set_learners_add(
        (SELECT jsonb_object_agg(c.set_id, c.n) FROM (SELECT n.set_id, count(*) AS n FROM new_rows n GROUP BY 1) AS c));
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION flashcard_set_learners_added() FROM PUBLIC;
CREATE FUNCTION flashcard_set_learners_removed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM flashcard_set_learners_add(
        (SELECT jsonb_object_agg(c.set_id, -c.n) FROM (SELECT o.set_id, count(*) AS n FROM old_rows o GROUP BY 1) AS c));
    RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION flashcard_set_learners_removed() FROM PUBLIC;
CREATE TRIGGER flashcard_set_learners_count_added AFTER INSERT ON flashcard_set_learners
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION flashcard_set_learners_added();
CREATE TRIGGER flashcard_set_learners_count_removed AFTER DELETE ON flashcard_set_learners
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION flashcard_set_learners_removed();

-- Who may read the pairs: each learner their own (a set's count is public on the set, who studies
-- it is not). Nobody writes them under as_user: the triggers above do, and cascades remove them.
GRANT SELECT ON flashcard_set_learners TO learnstore_app;
ALTER TABLE flashcard_set_learners ENABLE ROW LEVEL SECURITY;
CREATE POLICY flashcard_set_learners_own_select ON flashcard_set_learners FOR SELECT
    USING (user_clerk_id = (select learnstore_actor()));

-- Browsing public sets most used first, keyset on (learners, id).
CREATE INDEX flashcard_sets_public_learners_idx ON flashcard_sets (learners DESC, id DESC) WHERE is_public;

-- A learner's first review of a set counts them among its learners: the trigger above locks the set
-- row, at the end of the review's statement, after the progress row's foreign key has locked the
-- card. Adding, moving and deleting cards lock the set first, then its cards: the two orders
-- deadlocked. The review statement calls this first, so it takes the set before the card, as they
-- do; only while the learner is not yet one of the set's learners (later reviews lock no set row).
-- SECURITY DEFINER: the learner may not lock a set that is not theirs. Its caller check: under
-- as_user it locks for the acting user only.
CREATE FUNCTION flashcard_review_lock_set(p_flashcard_id uuid, p_user_clerk_id text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM FROM flashcards f JOIN flashcard_sets s ON s.id = f.set_id
    WHERE f.id = p_flashcard_id
      AND p_user_clerk_id = coalesce(learnstore_actor(), p_user_clerk_id)
      AND (s.is_public OR s.owner_clerk_id = p_user_clerk_id)
      AND NOT EXISTS (SELECT FROM flashcard_set_learners l
                      WHERE l.set_id = s.id AND l.user_clerk_id = p_user_clerk_id)
    FOR NO KEY UPDATE OF s;
    RETURN true;
END
$$;
REVOKE EXECUTE ON FUNCTION flashcard_review_lock_set(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION flashcard_review_lock_set(uuid, text) TO learnstore_app;
