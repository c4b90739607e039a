-- Flashcards, part two: cards in an explicit order, the FSRS schedule of each learner's card, and
-- the review log that schedule can be rebuilt from.
--
-- Cards of a set sit at positions 0, 1, ..., n-1, unique and without gaps, as units and lessons do
-- (32_content_ordering.sql, whose content_position() these functions share). Every change of order
-- locks the set row first, so changes to one set queue behind each other, and each later statement
-- of a function takes a fresh snapshot (READ COMMITTED) and sees what the change before it committed.
-- A plain INSERT without a position appends the card (a trigger picks the next position), so SQL
-- that predates positions, an import or a test still writes valid rows.

ALTER TABLE flashcards ADD COLUMN position integer NOT NULL;
ALTER TABLE flashcards ADD CONSTRAINT flashcards_position_non_negative CHECK (position >= 0);
ALTER TABLE flashcards ADD CONSTRAINT flashcards_set_position_key
    UNIQUE (set_id, position) DEFERRABLE INITIALLY IMMEDIATE;
-- The unique (set_id, position) index leads with set_id: it serves the foreign key.
DROP INDEX flashcards_set_id_idx;
COMMENT ON COLUMN flashcards.position IS 'The card''s place in its set, 0-based, dense.';

-- The FSRS memory state (https://github.com/open-spaced-repetition/py-fsrs): what the scheduler
-- needs to schedule the next review. The SM-2 columns (interval_days, ease_factor) stay: interval_days
-- is kept as the whole days from the last review to the next, ease_factor is unused by FSRS.
ALTER TABLE user_flashcard_progress ADD COLUMN state text NOT NULL DEFAULT 'new';
ALTER TABLE user_flashcard_progress ADD COLUMN step integer;
ALTER TABLE user_flashcard_progress ADD COLUMN stability double precision;
ALTER TABLE user_flashcard_progress ADD COLUMN difficulty double precision;
-- The due queue reads a learner's cards in due order with a stable tie-break: the card id joins
-- the index, so the queue needs no sort and stops after a page.
DROP INDEX user_flashcard_progress_due_idx;
CREATE INDEX user_flashcard_progress_due_idx
    ON user_flashcard_progress (user_clerk_id, next_review_at, flashcard_id);
ALTER TABLE user_flashcard_progress ADD CONSTRAINT user_flashcard_progress_state_valid
    CHECK (state IN ('new', 'learning', 'review', 'relearning'));
ALTER TABLE user_flashcard_progress ADD CONSTRAINT user_flashcard_progress_step_non_negative
    CHECK (step >= 0);
ALTER TABLE user_flashcard_progress ADD CONSTRAINT user_flashcard_progress_stability_positive
    CHECK (stability > 0);
ALTER TABLE user_flashcard_progress ADD CONSTRAINT user_flashcard_progress_difficulty_range
    CHECK (difficulty BETWEEN 1 AND 10);
COMMENT ON TABLE user_flashcard_progress IS
    'A learner''s FSRS schedule of one card (state, step, stability, difficulty); mastery 0-5.';
COMMENT ON COLUMN user_flashcard_progress.repetitions IS
    'Reviews so far; the version a review checks, so two concurrent reviews cannot both win.';
COMMENT ON COLUMN user_flashcard_progress.mastery IS
    '0 new; 1 learning; by stability: 2 under 7 days, 3 under 30, 4 under 90, 5 beyond.';

CREATE TABLE flashcard_reviews (
    id                 uuid             NOT NULL DEFAULT uuidv7(),
    user_clerk_id      text             NOT NULL,
    flashcard_id       uuid             NOT NULL,
    review_number      integer          NOT NULL,
    rating             smallint         NOT NULL,
    reviewed_at        timestamptz      NOT NULL,
    elapsed_days       integer,
    review_duration_ms integer,
    state_before       text             NOT NULL,
    step_before        integer,
    stability_before   double precision,
    difficulty_before  double precision,
    due_before         timestamptz,
    state_after        text             NOT NULL,
    step_after         integer,
    stability_after    double precision NOT NULL,
    difficulty_after   double precision NOT NULL,
    due_after          timestamptz      NOT NULL,
    created_at         timestamptz      NOT NULL DEFAULT now(),
    updated_at         timestamptz      NOT NULL DEFAULT now(),
    CONSTRAINT flashcard_reviews_pkey PRIMARY KEY (id),
    -- One review per number at one instant: the log is partitioned by reviewed_at (96_partitions.sql),
    -- and a unique key must hold the partition column. One review per number is kept by
    -- ReviewFlashcard's compare-and-set on the progress row (the second of two reviews computed from
    -- the same state writes no row); this key is its backstop. Its index also reads a card's log in
    -- order (replay) and serves the user's foreign key.
    CONSTRAINT flashcard_reviews_user_card_number_key UNIQUE (user_clerk_id, flashcard_id, review_number, reviewed_at),
    CONSTRAINT flashcard_reviews_user_clerk_id_fkey FOREIGN KEY (user_clerk_id)
        REFERENCES users (clerk_id) ON UPDATE CASCADE ON DELETE CASCADE,
    CONSTRAINT flashcard_reviews_flashcard_id_fkey FOREIGN KEY (flashcard_id)
        REFERENCES flashcards (id) ON DELETE CASCADE,
    CONSTRAINT flashcard_reviews_review_number_positive CHECK (review_number >= 1),
    CONSTRAINT flashcard_reviews_rating_range CHECK (rating BETWEEN 1 AND 4),
    CONSTRAINT flashcard_reviews_elapsed_days_non_negative CHECK (elapsed_days >= 0),
    CONSTRAINT flashcard_reviews_review_duration_ms_non_negative CHECK (review_duration_ms >= 0),
    CONSTRAINT flashcard_reviews_state_before_valid
        CHECK (state_before IN ('new', 'learning', 'review', 'relearning')),
    CONSTRAINT flashcard_reviews_state_after_valid CHECK (state_after IN ('learning', 'review', 'relearning')),
    CONSTRAINT flashcard_reviews_due_after_later CHECK (due_after > reviewed_at)
);
COMMENT ON TABLE flashcard_reviews IS 'Every review of a card: grade, time, FSRS state before and after.';
COMMENT ON COLUMN flashcard_reviews.rating IS '1 Again, 2 Hard, 3 Good, 4 Easy (fsrs.Rating).';
COMMENT ON COLUMN flashcard_reviews.elapsed_days IS 'Whole days since the previous review; NULL for the first.';
CREATE INDEX flashcard_reviews_flashcard_id_idx ON flashcard_reviews (flashcard_id);
-- The new cards a learner started since a time (the due queue's daily cap).
CREATE INDEX flashcard_reviews_user_first_idx ON flashcard_reviews (user_clerk_id, reviewed_at)
    WHERE review_number = 1;
CREATE TRIGGER flashcard_reviews_set_updated_at BEFORE UPDATE ON flashcard_reviews
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Locks a set against concurrent changes of order; false if there is no such set, or (p_owner given)
-- it is not p_owner's.
CREATE FUNCTION lock_flashcard_set(p_set_id uuid, p_owner text) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    -- NO KEY UPDATE: inserts that only reference the set (FOR KEY SHARE) go on.
    PERFORM FROM flashcard_sets
    WHERE id = p_set_id AND (p_owner IS NULL OR owner_clerk_id = p_owner)
    FOR NO KEY UPDATE;
    RETURN FOUND;
END
$$;

-- BEFORE INSERT: a card without a position goes at the end of its set. A row-level BEFORE trigger
-- sees the rows its statement inserted before this one, so a multi-row INSERT numbers them densely.
CREATE FUNCTION flashcards_append() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.position IS NULL THEN
        PERFORM lock_flashcard_set(NEW.set_id, NULL);
        SELECT coalesce(max(position) + 1, 0) INTO NEW.position FROM flashcards WHERE set_id = NEW.set_id;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER flashcards_append BEFORE INSERT ON flashcards
    FOR EACH ROW EXECUTE FUNCTION flashcards_append();

-- Adds a card to p_owner's set at a position (NULL: at the end), shifting the cards after it.
CREATE FUNCTION add_flashcard(p_owner text, p_set_id uuid, p_front text, p_back text, p_position integer)
RETURNS flashcards
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_position integer;
    created flashcards;
BEGIN
    IF NOT lock_flashcard_set(p_set_id, p_owner) THEN
        RAISE EXCEPTION 'no flashcard set with id % of user %', p_set_id, p_owner
            USING ERRCODE = 'no_data_found', HINT = 'set_id';
    END IF;
    SELECT content_position(p_position, count(*)::integer) INTO v_position FROM flashcards WHERE set_id = p_set_id;
    UPDATE flashcards SET position = position + 1 WHERE set_id = p_set_id AND position >= v_position;
    INSERT INTO flashcards (set_id, front, back, position)
    VALUES (p_set_id, p_front, p_back, v_position)
    RETURNING * INTO created;
    RETURN created;
END
$$;

-- Moves p_owner's card to another position in its set (NULL: the last), shifting the cards between.
CREATE FUNCTION move_flashcard(p_owner text, p_flashcard_id uuid, p_position integer) RETURNS flashcards
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_set uuid;
    v_from integer;
    v_to integer;
    moved flashcards;
BEGIN
    SELECT set_id INTO v_set FROM flashcards WHERE id = p_flashcard_id;
    IF NOT FOUND OR NOT lock_flashcard_set(v_set, p_owner) THEN
        RAISE EXCEPTION 'no flashcard with id % of user %', p_flashcard_id, p_owner
            USING ERRCODE = 'no_data_found', HINT = 'flashcard_id';
    END IF;
    -- A fresh snapshot: the card may have moved, or gone, while this waited for the lock.
    SELECT position INTO v_from FROM flashcards WHERE id = p_flashcard_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no flashcard with id % of user %', p_flashcard_id, p_owner
            USING ERRCODE = 'no_data_found', HINT = 'flashcard_id';
    END IF;
    SELECT content_position(p_position, count(*)::integer - 1) INTO v_to FROM flashcards WHERE set_id = v_set;
    UPDATE flashcards
    SET position = CASE WHEN id = p_flashcard_id THEN v_to WHEN v_to > v_from THEN position - 1 ELSE position + 1 END
    WHERE set_id = v_set AND v_from <> v_to
      AND position BETWEEN least(v_from, v_to) AND greatest(v_from, v_to);
    SELECT * INTO moved FROM flashcards WHERE id = p_flashcard_id;
    RETURN moved;
END
$$;

-- Deletes p_owner's card, closing the gap; false if there is no such card of theirs.
CREATE FUNCTION delete_flashcard(p_owner text, p_flashcard_id uuid) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_set uuid;
    v_from integer;
BEGIN
    SELECT set_id INTO v_set FROM flashcards WHERE id = p_flashcard_id;
    IF NOT FOUND OR NOT lock_flashcard_set(v_set, p_owner) THEN
        RETURN false;
    END IF;
    DELETE FROM flashcards WHERE id = p_flashcard_id RETURNING position INTO v_from;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    UPDATE flashcards SET position = position - 1 WHERE set_id = v_set AND position > v_from;
    RETURN true;
END
$$;

-- Puts the cards of p_owner's set in the order given: p_ids must hold each card of the set once.
CREATE FUNCTION reorder_flashcards(p_owner text, p_set_id uuid, p_ids uuid[]) RETURNS SETOF flashcards
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF NOT lock_flashcard_set(p_set_id, p_owner) THEN
        RAISE EXCEPTION 'no flashcard set with id % of user %', p_set_id, p_owner
            USING ERRCODE = 'no_data_found', HINT = 'set_id';
    END IF;
    IF cardinality(p_ids) IS DISTINCT FROM (SELECT count(*) FROM flashcards WHERE set_id = p_set_id)
       OR (SELECT count(DISTINCT i) FROM unnest(p_ids) i) <> cardinality(p_ids)
       OR EXISTS (SELECT FROM unnest(p_ids) i WHERE NOT EXISTS (
              SELECT FROM flashcards f WHERE f.id = i AND f.set_id = p_set_id)) THEN
        RAISE EXCEPTION 'card_ids: the new order must list every card of set % exactly once', p_set_id
            USING HINT = 'card_ids';
    END IF;
    UPDATE flashcards f SET position = o.ord - 1
    FROM unnest(p_ids) WITH ORDINALITY AS o(id, ord)
    WHERE f.id = o.id AND f.set_id = p_set_id AND f.position <> o.ord - 1;
    RETURN QUERY SELECT * FROM flashcards WHERE set_id = p_set_id ORDER BY position;
END
$$;
