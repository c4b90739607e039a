-- Flashcards: sets of cards, and each learner's spaced-repetition schedule per card.

CREATE TABLE flashcard_sets (
    id             uuid        NOT NULL DEFAULT uuidv7(),
    owner_clerk_id text        NOT NULL,
    course_id      uuid,
    title          text        NOT NULL,
    description    text        NOT NULL DEFAULT '',
    is_public      boolean     NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT flashcard_sets_pkey PRIMARY KEY (id),
    CONSTRAINT flashcard_sets_owner_clerk_id_fkey FOREIGN KEY (owner_clerk_id)
        REFERENCES users (clerk_id) ON UPDATE CASCADE ON DELETE CASCADE,
    CONSTRAINT flashcard_sets_course_id_fkey FOREIGN KEY (course_id) REFERENCES courses (id) ON DELETE SET NULL,
    CONSTRAINT flashcard_sets_title_not_blank CHECK (is_not_blank(title) AND char_length(title) <= 200),
    CONSTRAINT flashcard_sets_description_length CHECK (char_length(description) <= 5000)
);
COMMENT ON TABLE flashcard_sets IS 'A deck of flashcards owned by a user, optionally tied to a course.';
CREATE INDEX flashcard_sets_owner_clerk_id_idx ON flashcard_sets (owner_clerk_id);
CREATE INDEX flashcard_sets_course_id_idx ON flashcard_sets (course_id);
CREATE TRIGGER flashcard_sets_set_updated_at BEFORE UPDATE ON flashcard_sets
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE flashcards (
    id         uuid        NOT NULL DEFAULT uuidv7(),
    set_id     uuid        NOT NULL,
    front      text        NOT NULL,
    back       text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT flashcards_pkey PRIMARY KEY (id),
    CONSTRAINT flashcards_set_id_fkey FOREIGN KEY (set_id) REFERENCES flashcard_sets (id) ON DELETE CASCADE,
    CONSTRAINT flashcards_front_not_blank CHECK (is_not_blank(front) AND char_length(front) <= 5000),
    CONSTRAINT flashcards_back_not_blank CHECK (is_not_blank(back) AND char_length(back) <= 5000)
);
COMMENT ON TABLE flashcards IS 'A card: a prompt on the front, the answer on the back.';
CREATE INDEX flashcards_set_id_idx ON flashcards (set_id);
CREATE TRIGGER flashcards_set_updated_at BEFORE UPDATE ON flashcards
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE user_flashcard_progress (
    id               uuid         NOT NULL DEFAULT uuidv7(),
    user_clerk_id    text         NOT NULL,
    flashcard_id     uuid         NOT NULL,
    repetitions      integer      NOT NULL DEFAULT 0,
    interval_days    integer      NOT NULL DEFAULT 0,
    ease_factor      numeric(4,2) NOT NULL DEFAULT 2.5,
    mastery          integer      NOT NULL DEFAULT 0,
    next_review_at   timestamptz  NOT NULL DEFAULT now(),
    last_reviewed_at timestamptz,
    created_at       timestamptz  NOT NULL DEFAULT now(),
    updated_at       timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT user_flashcard_progress_pkey PRIMARY KEY (id),
    CONSTRAINT user_flashcard_progress_user_card_key UNIQUE (user_clerk_id, flashcard_id),
    CONSTRAINT user_flashcard_progress_user_clerk_id_fkey FOREIGN KEY (user_clerk_id)
        REFERENCES users (clerk_id) ON UPDATE CASCADE ON DELETE CASCADE,
    CONSTRAINT user_flashcard_progress_flashcard_id_fkey FOREIGN KEY (flashcard_id)
        REFERENCES flashcards (id) ON DELETE CASCADE,
    CONSTRAINT user_flashcard_progress_repetitions_non_negative CHECK (repetitions >= 0),
    CONSTRAINT user_flashcard_progress_interval_non_negative CHECK (interval_days >= 0),
    -- SM-2 never lets the ease factor fall below 1.3.
    CONSTRAINT user_flashcard_progress_ease_factor_range CHECK (ease_factor BETWEEN 1.3 AND 5.0),
    CONSTRAINT user_flashcard_progress_mastery_range CHECK (mastery BETWEEN 0 AND 5)
);
COMMENT ON TABLE user_flashcard_progress IS 'A learner''s SM-2 schedule for one card; mastery 0-5.';
CREATE INDEX user_flashcard_progress_flashcard_id_idx ON user_flashcard_progress (flashcard_id);
-- The queue of cards due now, per learner.
CREATE INDEX user_flashcard_progress_due_idx ON user_flashcard_progress (user_clerk_id, next_review_at);
CREATE TRIGGER user_flashcard_progress_set_updated_at BEFORE UPDATE ON user_flashcard_progress
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
