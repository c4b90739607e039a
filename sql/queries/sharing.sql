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
