-- Flashcards: sets and cards (create, edit, delete, reorder; public or private), each learner's
-- FSRS schedule per card with the review log that replays it, and the queue of cards due now.
-- Write operations take the acting user (owner_clerk_id) and touch only that user's sets.

-- name: CreateFlashcardSet :one
-- Creates a set owned by a user.
INSERT INTO flashcard_sets (owner_clerk_id, course_id, title, description, is_public)
VALUES (sqlc.arg(owner_clerk_id), sqlc.narg(course_id), sqlc.arg(title), sqlc.arg(description),
        sqlc.arg(is_public))
RETURNING *;

-- name: ImportFlashcardSet :one
-- Creates a set and its cards, in the order given, in one statement (one transaction).
-- returns: FlashcardSet
WITH created AS (
    INSERT INTO flashcard_sets (owner_clerk_id, course_id, title, description, is_public)
    VALUES (sqlc.arg(owner_clerk_id), sqlc.narg(course_id), sqlc.arg(title), sqlc.arg(description),
            sqlc.arg(is_public))
    RETURNING *
), cards AS (
    INSERT INTO flashcards (set_id, front, back, position)
    SELECT created.id, f.front, b.back, (f.ord - 1)::integer
    FROM created
    CROSS JOIN unnest(sqlc.arg(fronts)::text[]) WITH ORDINALITY AS f(front, ord)
    -- joined by ordinality: subscripting a large array parameter row by row is quadratic
    JOIN unnest(sqlc.arg(backs)::text[]) WITH ORDINALITY AS b(back, ord) ON b.ord = f.ord
)
SELECT * FROM created;

-- name: GetFlashcardSet :one
-- A set with its card count, if the viewer may see it (theirs, or public).
-- into: caller
SELECT s.id, s.owner_clerk_id, s.course_id, s.title, s.description, s.is_public, s.created_at, s.updated_at,
       (SELECT count(*) FROM flashcards f WHERE f.set_id = s.id)::integer AS card_count
FROM flashcard_sets s
WHERE s.id = sqlc.arg(id) AND (s.is_public OR s.owner_clerk_id = sqlc.arg(viewer_clerk_id));

-- name: UpdateFlashcardSet :one
-- Changes the given fields of an owner's set (NULL: keep; course_id_set: set course_id, NULL too).
UPDATE flashcard_sets
SET title = coalesce(sqlc.narg(title), title),
    description = coalesce(sqlc.narg(description), description),
    is_public = coalesce(sqlc.narg(is_public), is_public),
    course_id = CASE WHEN sqlc.arg(course_id_set)::boolean THEN sqlc.narg(course_id)::uuid ELSE course_id END
WHERE id = sqlc.arg(id) AND owner_clerk_id = sqlc.arg(owner_clerk_id)
RETURNING *;

-- name: DeleteFlashcardSet :execrows
-- Deletes an owner's set with its cards, and every learner's schedule and reviews of them.
DELETE FROM flashcard_sets WHERE id = sqlc.arg(id) AND owner_clerk_id = sqlc.arg(owner_clerk_id);

-- name: ListUserFlashcardSets :many
-- A user's own sets with their card counts, newest first.
-- into: caller
SELECT s.id, s.owner_clerk_id, s.course_id, s.title, s.description, s.is_public, s.created_at, s.updated_at,
       (SELECT count(*) FROM flashcards f WHERE f.set_id = s.id)::integer AS card_count
FROM flashcard_sets s
WHERE s.owner_clerk_id = sqlc.arg(owner_clerk_id)
ORDER BY s.created_at DESC, s.id DESC;

-- name: ListCourseFlashcardSets :many
-- The public sets of a course with their card counts, newest first.
-- into: caller
SELECT s.id, s.owner_clerk_id, s.course_id, s.title, s.description, s.is_public, s.created_at, s.updated_at,
       (SELECT count(*) FROM flashcards f WHERE f.set_id = s.id)::integer AS card_count
FROM flashcard_sets s
WHERE s.course_id = sqlc.arg(course_id) AND s.is_public
ORDER BY s.created_at DESC, s.id DESC;

-- name: AddFlashcard :one
-- Adds a card to an owner's set at a position (NULL: at the end), shifting the cards after it.
SELECT * FROM add_flashcard(sqlc.arg(owner_clerk_id), sqlc.arg(set_id), sqlc.arg(front), sqlc.arg(back),
                            sqlc.narg(position));

-- name: UpdateFlashcard :one
-- Changes the front and/or back (NULL: keep) of a card in an owner's set.
UPDATE flashcards f
SET front = coalesce(sqlc.narg(front), f.front),
    back = coalesce(sqlc.narg(back), f.back)
FROM flashcard_sets s
WHERE f.id = sqlc.arg(id) AND s.id = f.set_id AND s.owner_clerk_id = sqlc.arg(owner_clerk_id)
RETURNING f.*;

-- name: MoveFlashcard :one
-- Moves a card of an owner's set to a position (NULL: the last), shifting the cards between.
SELECT * FROM move_flashcard(sqlc.arg(owner_clerk_id), sqlc.arg(flashcard_id), sqlc.narg(position));

-- name: DeleteFlashcard :one
-- Deletes a card of an owner's set, closing the gap; false if there is no such card of theirs.
SELECT delete_flashcard(sqlc.arg(owner_clerk_id), sqlc.arg(flashcard_id)) AS deleted;

-- name: ReorderFlashcards :many
-- Puts the cards of an owner's set in the order given (every card once); returns them in order.
SELECT * FROM reorder_flashcards(sqlc.arg(owner_clerk_id), sqlc.arg(set_id), sqlc.arg(card_ids)::uuid[]);

-- name: ListFlashcards :many
-- The cards of a set in order, if the viewer may see the set (theirs, or public).
SELECT f.*
FROM flashcards f
JOIN flashcard_sets s ON s.id = f.set_id
WHERE f.set_id = sqlc.arg(set_id) AND (s.is_public OR s.owner_clerk_id = sqlc.arg(viewer_clerk_id))
ORDER BY f.position;

-- name: GetFlashcardForReview :one
-- A card the learner may review (in their own set or a public one) with their schedule of it:
-- the progress columns are NULL when they never reviewed it. No row for a card they cannot see.
SELECT f.id AS flashcard_id,
       f.set_id,
       p.repetitions,
       p.state,
       p.step,
       p.stability,
       p.difficulty,
       p.next_review_at,
       p.last_reviewed_at
FROM flashcards f
JOIN flashcard_sets s ON s.id = f.set_id
LEFT JOIN user_flashcard_progress p ON p.flashcard_id = f.id AND p.user_clerk_id = sqlc.arg(user_clerk_id)
WHERE f.id = sqlc.arg(flashcard_id) AND (s.is_public OR s.owner_clerk_id = sqlc.arg(user_clerk_id));

-- name: RecordFlashcardReview :one
-- Writes the schedule computed from the state read at repetitions_before, and logs the review, in
-- one statement; no row when another review changed the card since (the caller reads again).
-- ON CONFLICT DO UPDATE checks its WHERE on the latest row version, after waiting for its lock:
-- of two reviews computed from one state, the second updates nothing and logs nothing. A learner's
-- first review of a set takes the set's row before the card's (flashcard_review_lock_set), in the
-- order adding, moving and deleting cards take them.
-- returns: UserFlashcardProgress
WITH set_first AS (
    SELECT flashcard_review_lock_set(sqlc.arg(flashcard_id), sqlc.arg(user_clerk_id)) AS locked
), saved AS (
    INSERT INTO user_flashcard_progress AS p (
        user_clerk_id, flashcard_id, repetitions, interval_days, mastery, next_review_at,
        last_reviewed_at, state, step, stability, difficulty)
    SELECT sqlc.arg(user_clerk_id), sqlc.arg(flashcard_id), sqlc.arg(repetitions_before)::integer + 1,
           sqlc.arg(interval_days), sqlc.arg(mastery), sqlc.arg(due_after), sqlc.arg(reviewed_at),
           sqlc.arg(state_after), sqlc.narg(step_after), sqlc.arg(stability_after), sqlc.arg(difficulty_after)
    FROM set_first
    ON CONFLICT (user_clerk_id, flashcard_id) DO UPDATE
    SET repetitions = excluded.repetitions,
        interval_days = excluded.interval_days,
        mastery = excluded.mastery,
        next_review_at = excluded.next_review_at,
        last_reviewed_at = excluded.last_reviewed_at,
        state = excluded.state,
        step = excluded.step,
        stability = excluded.stability,
        difficulty = excluded.difficulty
    WHERE p.repetitions = sqlc.arg(repetitions_before)::integer
    RETURNING p.*
), logged AS (
    INSERT INTO flashcard_reviews (
        user_clerk_id, flashcard_id, review_number, rating, reviewed_at, elapsed_days, review_duration_ms,
        state_before, step_before, stability_before, difficulty_before, due_before,
        state_after, step_after, stability_after, difficulty_after, due_after)
    SELECT saved.user_clerk_id, saved.flashcard_id, saved.repetitions, sqlc.arg(rating), saved.last_reviewed_at,
           sqlc.narg(elapsed_days), sqlc.narg(review_duration_ms),
           sqlc.arg(state_before), sqlc.narg(step_before), sqlc.narg(stability_before),
           sqlc.narg(difficulty_before), sqlc.narg(due_before)::timestamptz,
           saved.state, saved.step, saved.stability, saved.difficulty, saved.next_review_at
    FROM saved
)
SELECT * FROM saved;

-- name: GetFlashcardProgress :one
-- A learner's schedule of one card.
SELECT * FROM user_flashcard_progress
WHERE user_clerk_id = sqlc.arg(user_clerk_id) AND flashcard_id = sqlc.arg(flashcard_id);

-- name: ListFlashcardReviews :many
-- A learner's reviews of one card, oldest first: the log a replay reads.
SELECT * FROM flashcard_reviews
WHERE user_clerk_id = sqlc.arg(user_clerk_id) AND flashcard_id = sqlc.arg(flashcard_id)
ORDER BY review_number;

-- name: ListDueFlashcards :many
-- The learner's queue: cards due now (most overdue first), then new cards (due_at: now) up to
-- what is left of the day's allowance (new_per_day minus the cards first reviewed since the start
-- of the learner's local day), at most page_size in all. Without set_id: every due card the learner
-- may still see, and the new cards of their own sets; with set_id: that set only (theirs or public).
WITH me AS (
    SELECT (date_trunc('day', now() AT TIME ZONE u.timezone) AT TIME ZONE u.timezone) AS day_start
    FROM users u
    WHERE u.clerk_id = sqlc.arg(user_clerk_id)
), due AS (
    -- the due index (user_clerk_id, next_review_at, flashcard_id) gives the order: no sort, and
    -- the scan stops at page_size visible cards
    SELECT f.id, f.set_id, f.front, f.back, f.position, p.state, p.next_review_at AS due_at, p.mastery
    FROM user_flashcard_progress p
    JOIN flashcards f ON f.id = p.flashcard_id
    JOIN flashcard_sets s ON s.id = f.set_id
    WHERE p.user_clerk_id = sqlc.arg(user_clerk_id)
      AND p.next_review_at <= now()
      AND (s.is_public OR s.owner_clerk_id = sqlc.arg(user_clerk_id))
      AND (sqlc.narg(set_id)::uuid IS NULL OR f.set_id = sqlc.narg(set_id)::uuid)
    ORDER BY p.next_review_at, p.flashcard_id
    LIMIT sqlc.arg(page_size)::integer
), fresh AS (
    SELECT f.id, f.set_id, f.front, f.back, f.position, 'new'::text AS state, now() AS due_at, 0 AS mastery
    FROM flashcard_sets s
    JOIN flashcards f ON f.set_id = s.id
    WHERE ((sqlc.narg(set_id)::uuid IS NULL AND s.owner_clerk_id = sqlc.arg(user_clerk_id))
           OR (s.id = sqlc.narg(set_id)::uuid AND (s.is_public OR s.owner_clerk_id = sqlc.arg(user_clerk_id))))
      AND EXISTS (SELECT FROM me)
      AND NOT EXISTS (SELECT FROM user_flashcard_progress p
                      WHERE p.user_clerk_id = sqlc.arg(user_clerk_id) AND p.flashcard_id = f.id)
    ORDER BY s.created_at, s.id, f.position
    LIMIT greatest(0, least(
        sqlc.arg(new_per_day)::integer - (
            SELECT count(*) FROM flashcard_reviews r
            WHERE r.user_clerk_id = sqlc.arg(user_clerk_id) AND r.review_number = 1
              AND r.reviewed_at >= (SELECT day_start FROM me)),
        sqlc.arg(page_size)::integer - (SELECT count(*) FROM due)))
)
SELECT q.id AS flashcard_id, q.set_id, q.front, q.back, q.position, q.state, q.due_at, q.mastery
FROM (SELECT *, 0 AS part FROM due UNION ALL SELECT *, 1 AS part FROM fresh) q
ORDER BY q.part, q.due_at, q.set_id, q.position;

-- name: CountFlashcardsReviewed :one
-- A learner's totals: cards reviewed at least once, reviews in all, cards at mastery 4 or more.
SELECT count(*)::integer AS cards_reviewed,
       coalesce(sum(repetitions), 0)::integer AS reviews,
       count(*) FILTER (WHERE mastery >= 4)::integer AS cards_mastered
FROM user_flashcard_progress
WHERE user_clerk_id = sqlc.arg(user_clerk_id);
