-- Quizzes and media edited like lessons: changed in place, moved to another position under their
-- lesson (the others shift, positions stay 0..n-1), deleted with the gap closed (content.sql's
-- DeleteQuiz and DeleteMedia). Each change of order locks the course (move_lesson_item,
-- 96_cloning_and_sets.sql), so concurrent moves of one lesson's items queue.

-- name: UpdateQuiz :one
-- Changes the question (NULL keeps it) and, when answer_set, the question type, options and
-- correct answer together (they are validated as one).
UPDATE quizzes
SET question = coalesce(sqlc.narg(question), question),
    question_type = CASE WHEN sqlc.arg(answer_set)::boolean THEN sqlc.arg(question_type)::text ELSE question_type END,
    options = CASE WHEN sqlc.arg(answer_set)::boolean THEN sqlc.arg(options)::jsonb ELSE options END,
    correct_answer = CASE WHEN sqlc.arg(answer_set)::boolean THEN sqlc.arg(correct_answer)::jsonb ELSE correct_answer END
WHERE id = sqlc.arg(id)
RETURNING *;

-- name: MoveQuiz :one
-- Moves a quiz to a position under its lesson (NULL: the last), shifting the quizzes between.
SELECT * FROM move_quiz(sqlc.arg(quiz_id)::uuid, sqlc.narg(position)::integer);

-- name: UpdateMedia :one
-- Changes the media type and url (NULL keeps each) and, when title_set, the title (NULL
-- clears it).
UPDATE media
SET media_type = coalesce(sqlc.narg(media_type), media_type),
    url = coalesce(sqlc.narg(url), url),
    title = CASE WHEN sqlc.arg(title_set)::boolean THEN sqlc.narg(title)::text ELSE title END
WHERE id = sqlc.arg(id)
RETURNING *;

-- name: MoveMedia :one
-- Moves a file to a position under its lesson (NULL: the last), shifting the files between.
SELECT * FROM move_media(sqlc.arg(media_id)::uuid, sqlc.narg(position)::integer);

-- name: AuthorizeLessonItemChange :one
-- Checks that clerk_id may change the course the quiz or media file belongs to (its author or an
-- accepted editor: assert_may_edit_course raises insufficient_privilege otherwise), as content's
-- AuthorizeCourseChange does, and holds what allows it until the transaction ends. NULL, and no
-- check, for an unknown id.
SELECT assert_may_edit_course(coalesce(
    (SELECT u.course_id FROM media m JOIN lessons l ON l.id = m.lesson_id JOIN units u ON u.id = l.unit_id
     WHERE m.id = sqlc.narg(media_id)::uuid),
    (SELECT u.course_id FROM quizzes q JOIN lessons l ON l.id = q.lesson_id JOIN units u ON u.id = l.unit_id
     WHERE q.id = sqlc.narg(quiz_id)::uuid)), sqlc.arg(clerk_id)::text) AS course_id;
