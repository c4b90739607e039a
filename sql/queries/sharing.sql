-- What users share: a course cloned as one's own draft, a flashcard set forked, public sets browsed.

-- name: CloneCourse :one
-- A deep copy of a course (units, lessons, quizzes, media, tags) as a new draft of clerk_id's, in
-- one statement (clone_course, 96_cloning_and_sets.sql, says who may clone what); title NULL keeps
-- the source's.
SELECT * FROM clone_course(sqlc.arg(course_id)::uuid, sqlc.arg(clerk_id)::text, sqlc.narg(title)::text);

-- name: ForkFlashcardSet :one
-- A private copy of a public (or one's own) set, its cards in order, whose forked_from names the
-- source; title NULL keeps the source's.
SELECT * FROM fork_flashcard_set(sqlc.arg(set_id)::uuid, sqlc.arg(clerk_id)::text, sqlc.narg(title)::text);

-- name: SearchPublicFlashcardSets :many
-- One page of public flashcard sets, newest first, matching every filter given (NULL matches all):
-- text_query against title and description (websearch syntax, written as flashcard_sets_search_idx's
-- expression so that the index serves it), language_id, course_id. Keyset pagination: the last row's
-- created_at and id as before_* (NULL for the first page). Each row carries its card count and its
-- owner's name ('' when they gave none) and avatar, so that a list draws without a call per set.
-- Two ways to the page, chosen when it runs (the forum search's, forum_pages.sql): a word in few sets
-- reads them from the GIN index; no text or a common word walks the newest first. Every filter is
-- written so that the generic plan a prepared statement switches to walks the index: with
-- `$1 IS NULL OR ...` filters PostgreSQL guessed them selective, and read and sorted every public set
-- (4 ms for a first page of 5,000 sets, 0.2 ms walked; docs/sharing.md).
WITH query AS MATERIALIZED (
    SELECT websearch_to_tsquery('simple'::regconfig, sqlc.narg(text_query)::text) AS q
), probe AS MATERIALIZED (
    -- How many sets match, counted up to 1,001 in flashcard_sets_search_idx (1,001: no text).
    SELECT CASE WHEN (SELECT q FROM query) IS NULL THEN 1001
                ELSE (SELECT count(*) FROM (SELECT FROM flashcard_sets m
                      WHERE to_tsvector('simple'::regconfig, m.title || ' ' || m.description) @@ (SELECT q FROM query)
                      LIMIT 1001) AS s)
           END AS n
), page AS (
    -- At most 1,000 matches: all of them from the GIN index, then the page's.
    (SELECT s.* FROM flashcard_sets s
     WHERE (SELECT n FROM probe) <= 1000
       AND to_tsvector('simple'::regconfig, s.title || ' ' || s.description) @@ (SELECT q FROM query)
       AND s.is_public
       AND coalesce(s.language_id = sqlc.narg(language_id)::uuid, sqlc.narg(language_id)::uuid IS NULL)
       AND coalesce(s.course_id = sqlc.narg(course_id)::uuid, sqlc.narg(course_id)::uuid IS NULL)
       AND (s.created_at, s.id) < (coalesce(sqlc.narg(before_created_at)::timestamptz, 'infinity'),
                                   coalesce(sqlc.narg(before_id)::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
     ORDER BY s.created_at DESC, s.id DESC
     LIMIT sqlc.arg(page_size)::integer)
    UNION ALL
    -- No text, or more matches: flashcard_sets_public_created_idx, newest first from the keyset until the page is full, which
    -- reads fewer rows the more sets match. ts_match_vq is @@ that no plan turns into a GIN scan.
    (SELECT s.* FROM flashcard_sets s
     WHERE (SELECT n FROM probe) > 1000
       AND s.is_public
       AND CASE WHEN (SELECT q FROM query) IS NULL THEN true
                ELSE ts_match_vq(to_tsvector('simple'::regconfig, s.title || ' ' || s.description),
                                 (SELECT q FROM query)) END
       AND coalesce(s.language_id = sqlc.narg(language_id)::uuid, sqlc.narg(language_id)::uuid IS NULL)
       AND coalesce(s.course_id = sqlc.narg(course_id)::uuid, sqlc.narg(course_id)::uuid IS NULL)
       AND (s.created_at, s.id) < (coalesce(sqlc.narg(before_created_at)::timestamptz, 'infinity'),
                                   coalesce(sqlc.narg(before_id)::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
     ORDER BY s.created_at DESC, s.id DESC
     LIMIT sqlc.arg(page_size)::integer)
)
SELECT s.id, s.owner_clerk_id, s.course_id, s.language_id, s.title, s.description, s.forked_from,
       s.created_at, s.updated_at, s.learners,
       (SELECT count(*) FROM flashcards f WHERE f.set_id = s.id)::integer AS card_count,
       concat_ws(' ', u.first_name, u.last_name) AS owner_name,
       u.avatar_url AS owner_avatar_url
FROM page s
CROSS JOIN LATERAL (SELECT u.first_name, u.last_name, u.avatar_url FROM users u
                    WHERE u.clerk_id = s.owner_clerk_id LIMIT 1) AS u
ORDER BY s.created_at DESC, s.id DESC;

-- name: SearchPublicFlashcardSetsByLearners :many
-- SearchPublicFlashcardSets' page most used first: by learners (flashcard_sets.learners, the users
-- who have started a card of the set), then id. Keyset: the last row's learners and id as before_*
-- (NULL for the first page), so that flashcard_sets_public_learners_idx is read from there.
-- returns: SearchPublicFlashcardSetsRow
WITH query AS MATERIALIZED (
    SELECT websearch_to_tsquery('simple'::regconfig, sqlc.narg(text_query)::text) AS q
), probe AS MATERIALIZED (
    -- How many sets match, counted up to 1,001 in flashcard_sets_search_idx (1,001: no text).
    SELECT CASE WHEN (SELECT q FROM query) IS NULL THEN 1001
                ELSE (SELECT count(*) FROM (SELECT FROM flashcard_sets m
                      WHERE to_tsvector('simple'::regconfig, m.title || ' ' || m.description) @@ (SELECT q FROM query)
                      LIMIT 1001) AS s)
           END AS n
), page AS (
    -- At most 1,000 matches: all of them from the GIN index, then the page's.
    (SELECT s.* FROM flashcard_sets s
     WHERE (SELECT n FROM probe) <= 1000
       AND to_tsvector('simple'::regconfig, s.title || ' ' || s.description) @@ (SELECT q FROM query)
       AND s.is_public
       AND coalesce(s.language_id = sqlc.narg(language_id)::uuid, sqlc.narg(language_id)::uuid IS NULL)
       AND coalesce(s.course_id = sqlc.narg(course_id)::uuid, sqlc.narg(course_id)::uuid IS NULL)
       AND (s.learners, s.id) < (coalesce(sqlc.narg(before_learners)::integer, 2147483647),
                                 coalesce(sqlc.narg(before_id)::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
     ORDER BY s.learners DESC, s.id DESC
     LIMIT sqlc.arg(page_size)::integer)
    UNION ALL
    -- No text, or more matches: flashcard_sets_public_learners_idx, most used first from the keyset until the page is full, which
    -- reads fewer rows the more sets match. ts_match_vq is @@ that no plan turns into a GIN scan.
    (SELECT s.* FROM flashcard_sets s
     WHERE (SELECT n FROM probe) > 1000
       AND s.is_public
       AND CASE WHEN (SELECT q FROM query) IS NULL THEN true
                ELSE ts_match_vq(to_tsvector('simple'::regconfig, s.title || ' ' || s.description),
                                 (SELECT q FROM query)) END
       AND coalesce(s.language_id = sqlc.narg(language_id)::uuid, sqlc.narg(language_id)::uuid IS NULL)
       AND coalesce(s.course_id = sqlc.narg(course_id)::uuid, sqlc.narg(course_id)::uuid IS NULL)
       AND (s.learners, s.id) < (coalesce(sqlc.narg(before_learners)::integer, 2147483647),
                                 coalesce(sqlc.narg(before_id)::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
     ORDER BY s.learners DESC, s.id DESC
     LIMIT sqlc.arg(page_size)::integer)
)
SELECT s.id, s.owner_clerk_id, s.course_id, s.language_id, s.title, s.description, s.forked_from,
       s.created_at, s.updated_at, s.learners,
       (SELECT count(*) FROM flashcards f WHERE f.set_id = s.id)::integer AS card_count,
       concat_ws(' ', u.first_name, u.last_name) AS owner_name,
       u.avatar_url AS owner_avatar_url
FROM page s
CROSS JOIN LATERAL (SELECT u.first_name, u.last_name, u.avatar_url FROM users u
                    WHERE u.clerk_id = s.owner_clerk_id LIMIT 1) AS u
ORDER BY s.learners DESC, s.id DESC;

-- name: SearchOwnerFlashcardSets :many
-- One page of an owner's sets, newest first: all of them when include_private (the owner looking),
-- else the public ones; text_query (NULL: all) against title and description. Keyset as above.
SELECT s.id, s.owner_clerk_id, s.course_id, s.language_id, s.title, s.description, s.is_public,
       s.forked_from, s.created_at, s.updated_at,
       (SELECT count(*) FROM flashcards f WHERE f.set_id = s.id)::integer AS card_count
FROM flashcard_sets s
WHERE s.owner_clerk_id = sqlc.arg(owner_clerk_id)::text
  AND (s.is_public OR sqlc.arg(include_private)::boolean)
  AND (sqlc.narg(text_query)::text IS NULL
       OR to_tsvector('simple'::regconfig, s.title || ' ' || s.description)
          @@ websearch_to_tsquery('simple'::regconfig, sqlc.narg(text_query)::text))
  -- The keyset as one row comparison (no OR; the first page starts past the newest possible row),
  -- so that even a generic plan reads flashcard_sets_public_created_idx from there and stops at
  -- the page's end.
  AND (s.created_at, s.id) < (coalesce(sqlc.narg(before_created_at)::timestamptz, 'infinity'),
                              coalesce(sqlc.narg(before_id)::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
ORDER BY s.created_at DESC, s.id DESC
LIMIT sqlc.arg(page_size)::integer;
