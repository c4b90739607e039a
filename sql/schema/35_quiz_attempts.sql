-- Learners' answers to quizzes, each scored when it is recorded.

-- True when an answer is right for a quiz of this type and correct answer:
--   mcq: the same option (a string), or the same set of options (an array, for several right ones);
--   flashcard, fill_blank: the same text as the correct answer, or as one of the accepted answers
--   (an array), ignoring case and surrounding or repeated whitespace.
CREATE FUNCTION quiz_answer_is_correct(p_question_type text, p_correct_answer jsonb, p_answer jsonb)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN coalesce(CASE
    WHEN p_question_type = 'mcq' AND jsonb_typeof(p_correct_answer) = 'array' THEN
        jsonb_typeof(p_answer) = 'array' AND p_answer @> p_correct_answer AND p_correct_answer @> p_answer
    WHEN p_question_type = 'mcq' THEN
        p_answer = p_correct_answer
    ELSE
        jsonb_typeof(p_answer) IN ('string', 'number') AND EXISTS (
            SELECT FROM jsonb_array_elements(
                CASE WHEN jsonb_typeof(p_correct_answer) = 'array' THEN p_correct_answer
                     ELSE jsonb_build_array(p_correct_answer) END) AS accepted (value)
            WHERE lower(regexp_replace(btrim(accepted.value #>> '{}'), '\s+', ' ', 'g'))
                = lower(regexp_replace(btrim(p_answer #>> '{}'), '\s+', ' ', 'g')))
END, false);

CREATE TABLE quiz_attempts (
    id            uuid        NOT NULL DEFAULT uuidv7(),
    quiz_id       uuid        NOT NULL,
    user_clerk_id text        NOT NULL,
    answer        jsonb       NOT NULL,
    is_correct    boolean     NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT quiz_attempts_pkey PRIMARY KEY (id),
    CONSTRAINT quiz_attempts_quiz_id_fkey FOREIGN KEY (quiz_id) REFERENCES quizzes (id) ON DELETE CASCADE,
    CONSTRAINT quiz_attempts_user_clerk_id_fkey FOREIGN KEY (user_clerk_id)
        REFERENCES users (clerk_id) ON UPDATE CASCADE ON DELETE CASCADE,
    CONSTRAINT quiz_attempts_answer_shape CHECK (
        jsonb_typeof(answer) IN ('string', 'number', 'array') AND octet_length(answer::text) <= 10000)
);
COMMENT ON TABLE quiz_attempts IS 'A learner''s answer to a quiz, scored when it was recorded.';
COMMENT ON COLUMN quiz_attempts.is_correct IS 'The score at the time of the attempt: editing the quiz later does not change it.';
CREATE INDEX quiz_attempts_quiz_id_idx ON quiz_attempts (quiz_id);
-- A learner's attempts at a quiz: "has this learner passed these quizzes?"
CREATE INDEX quiz_attempts_user_quiz_idx ON quiz_attempts (user_clerk_id, quiz_id);
CREATE TRIGGER quiz_attempts_set_updated_at BEFORE UPDATE ON quiz_attempts
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
