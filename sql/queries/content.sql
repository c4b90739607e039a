-- Content: courses, their units and lessons in order, lessons' media and quizzes, quiz attempts.

-- ---- courses ---------------------------------------------------------------------------------

-- name: CreateCourse :one
-- Creates a course as a draft.
INSERT INTO courses (author_clerk_id, title, description, difficulty, estimated_duration_minutes,
                     learning_objectives, cover_image_url, language_id, open_to_collaboration)
VALUES (sqlc.arg(author_clerk_id), sqlc.arg(title), sqlc.arg(description), sqlc.arg(difficulty),
        sqlc.narg(estimated_duration_minutes), sqlc.arg(learning_objectives)::text[],
        sqlc.narg(cover_image_url), sqlc.narg(language_id), sqlc.arg(open_to_collaboration))
RETURNING *;

-- name: GetCourse :one
SELECT * FROM courses WHERE id = sqlc.arg(id);

-- name: UpdateCourse :one
-- Changes the fields given: a NULL keeps a NOT NULL column; a nullable column changes when its
-- *_set flag is true (to NULL, too).
UPDATE courses
SET title = coalesce(sqlc.narg(title), title),
    description = coalesce(sqlc.narg(description), description),
    difficulty = coalesce(sqlc.narg(difficulty), difficulty),
    estimated_duration_minutes = CASE WHEN sqlc.arg(estimated_duration_minutes_set)::boolean
        THEN sqlc.narg(estimated_duration_minutes)::integer ELSE estimated_duration_minutes END,
    learning_objectives = coalesce(sqlc.narg(learning_objectives)::text[], learning_objectives),
    cover_image_url = CASE WHEN sqlc.arg(cover_image_url_set)::boolean
        THEN sqlc.narg(cover_image_url)::text ELSE cover_image_url END,
    language_id = CASE WHEN sqlc.arg(language_id_set)::boolean
        THEN sqlc.narg(language_id)::uuid ELSE language_id END,
    open_to_collaboration = coalesce(sqlc.narg(open_to_collaboration), open_to_collaboration)
WHERE id = sqlc.arg(id)
RETURNING *;

-- name: PublishCourse :one
-- Publishes a course; publishing a published course keeps its first published_at.
UPDATE courses
SET status = 'published',
    published_at = CASE WHEN status = 'published' THEN published_at ELSE now() END
WHERE id = sqlc.arg(id)
RETURNING *;

-- name: UnpublishCourse :one
-- Takes a course back to draft.
UPDATE courses SET status = 'draft', published_at = NULL WHERE id = sqlc.arg(id) RETURNING *;

-- name: ArchiveCourse :one
-- Archives a course: learners no longer see it; its content stays.
UPDATE courses SET status = 'archived', published_at = NULL WHERE id = sqlc.arg(id) RETURNING *;

-- name: DeleteCourse :execrows
-- Deletes a course and everything under it: units, lessons, media, quizzes, attempts, enrolments,
-- progress, forum threads, feedback, tags, collaborators, suggested edits (ON DELETE CASCADE).
DELETE FROM courses WHERE id = sqlc.arg(id);

-- name: ListAuthorCourses :many
-- An author's courses, newest first, optionally of one status only.
SELECT * FROM courses
WHERE author_clerk_id = sqlc.arg(author_clerk_id)
  AND (sqlc.narg(status)::text IS NULL OR status = sqlc.narg(status)::text)
ORDER BY created_at DESC, id DESC;

-- name: ListCourseCollaborators :many
-- The users who co-manage a course besides its author (accepted seats), oldest first.
SELECT u.clerk_id, u.first_name, u.last_name, u.email, u.avatar_url, c.role, c.created_at AS added_at
FROM collaborators c JOIN users u ON u.clerk_id = c.user_clerk_id
WHERE c.course_id = sqlc.arg(course_id) AND c.status = 'accepted'
ORDER BY c.created_at, u.clerk_id;

-- name: AuthorizeCourseChange :one
-- Checks that clerk_id may change the course that the one id given belongs to (its author or an
-- accepted editor: assert_may_edit_course raises insufficient_privilege otherwise) and locks
-- what allows it until the transaction ends. NULL, and no check, when the id is unknown.
SELECT assert_may_edit_course(coalesce(
    sqlc.narg(course_id)::uuid,
    (SELECT u.course_id FROM units u WHERE u.id = sqlc.narg(unit_id)::uuid),
    (SELECT u.course_id FROM lessons l JOIN units u ON u.id = l.unit_id WHERE l.id = sqlc.narg(lesson_id)::uuid),
    (SELECT u.course_id FROM media m JOIN lessons l ON l.id = m.lesson_id JOIN units u ON u.id = l.unit_id
     WHERE m.id = sqlc.narg(media_id)::uuid),
    (SELECT u.course_id FROM quizzes q JOIN lessons l ON l.id = q.lesson_id JOIN units u ON u.id = l.unit_id
     WHERE q.id = sqlc.narg(quiz_id)::uuid)), sqlc.arg(clerk_id)::text) AS course_id;

-- name: GetCourseTree :one
-- The course, its units in order, each with its lessons in order and their media and quiz counts,
-- as one JSON document. Only a published course unless include_unpublished. json, not jsonb:
-- the document is only sent, never queried, and the json builders take half the time (bench/).
-- As text: the caller parses it once, straight into its models (pydantic's model_validate_json),
-- instead of psycopg's json.loads building dicts that are then validated again.
SELECT json_build_object(
    'course', to_json(c),
    'units', coalesce((
        SELECT json_agg(json_build_object(
                   'id', u.id,
                   'title', u.title,
                   'description', u.description,
                   'position', u.position,
                   'lessons', coalesce((
                       SELECT json_agg(json_build_object(
                                  'id', l.id,
                                  'title', l.title,
                                  'content_type', l.content_type,
                                  'duration_seconds', l.duration_seconds,
                                  'position', l.position,
                                  'media_count', (SELECT count(*) FROM media m WHERE m.lesson_id = l.id),
                                  'quiz_count', (SELECT count(*) FROM quizzes q WHERE q.lesson_id = l.id))
                              ORDER BY l.position)
                       FROM lessons l WHERE l.unit_id = u.id), '[]'::json))
               ORDER BY u.position)
        FROM units u WHERE u.course_id = c.id), '[]'::json)
)::text AS tree
FROM courses c
WHERE c.id = sqlc.arg(course_id) AND (sqlc.arg(include_unpublished)::boolean OR c.status = 'published');

-- ---- units -------------------------------------------------------------------------------------

-- name: AddUnit :one
-- Adds a unit at a position (NULL: at the end), shifting the units after it.
SELECT * FROM add_unit(sqlc.arg(course_id)::uuid, sqlc.arg(title)::text, sqlc.arg(description)::text,
                       sqlc.narg(position)::integer);

-- name: GetUnit :one
SELECT * FROM units WHERE id = sqlc.arg(id);

-- name: UpdateUnit :one
-- Changes a unit's title and/or description (NULL keeps one).
UPDATE units
SET title = coalesce(sqlc.narg(title), title),
    description = coalesce(sqlc.narg(description), description)
WHERE id = sqlc.arg(id)
RETURNING *;

-- name: MoveUnit :one
-- Moves a unit to a position in its course (NULL: the last), shifting the units between.
SELECT * FROM move_unit(sqlc.arg(unit_id)::uuid, sqlc.narg(position)::integer);

-- name: DeleteUnit :one
-- Deletes a unit and its lessons, closing the gap; false if there was no such unit.
SELECT delete_unit(sqlc.arg(unit_id)::uuid) AS deleted;

-- name: ListCourseUnits :many
SELECT * FROM units WHERE course_id = sqlc.arg(course_id) ORDER BY position;

-- ---- lessons -----------------------------------------------------------------------------------

-- name: AddLesson :one
-- Adds a lesson to a unit at a position (NULL: at the end), shifting the lessons after it.
SELECT * FROM add_lesson(sqlc.arg(unit_id)::uuid, sqlc.arg(title)::text, sqlc.arg(content_type)::text,
                         sqlc.arg(content)::jsonb, sqlc.narg(duration_seconds)::integer,
                         sqlc.narg(position)::integer);

-- name: GetLesson :one
SELECT * FROM lessons WHERE id = sqlc.arg(id);

-- name: UpdateLesson :one
-- Changes the fields given: title (NULL keeps it), duration_seconds when duration_seconds_set,
-- content_type and content together when content_set.
UPDATE lessons
SET title = coalesce(sqlc.narg(title), title),
    duration_seconds = CASE WHEN sqlc.arg(duration_seconds_set)::boolean
        THEN sqlc.narg(duration_seconds)::integer ELSE duration_seconds END,
    content_type = CASE WHEN sqlc.arg(content_set)::boolean
        THEN sqlc.arg(content_type)::text ELSE content_type END,
    content = CASE WHEN sqlc.arg(content_set)::boolean THEN sqlc.arg(content)::jsonb ELSE content END
WHERE id = sqlc.arg(id)
RETURNING *;

-- name: MoveLesson :one
-- Moves a lesson to a position (NULL: the end) in a unit of the same course (NULL: its own unit).
SELECT * FROM move_lesson(sqlc.arg(lesson_id)::uuid, sqlc.narg(unit_id)::uuid, sqlc.narg(position)::integer);

-- name: DeleteLesson :one
-- Deletes a lesson with its media, quizzes and attempts, closing the gap; false if there was none.
SELECT delete_lesson(sqlc.arg(lesson_id)::uuid) AS deleted;

-- name: ListUnitLessons :many
SELECT * FROM lessons WHERE unit_id = sqlc.arg(unit_id) ORDER BY position;

-- ---- media -------------------------------------------------------------------------------------

-- name: AddMedia :one
INSERT INTO media (lesson_id, media_type, url, title)
VALUES (sqlc.arg(lesson_id), sqlc.arg(media_type), sqlc.arg(url), sqlc.narg(title))
RETURNING *;

-- name: ListLessonMedia :many
SELECT * FROM media WHERE lesson_id = sqlc.arg(lesson_id) ORDER BY position;

-- name: DeleteMedia :one
-- Deletes a file, closing the gap it leaves (delete_lesson_item); false if there was none.
SELECT delete_lesson_item('media', sqlc.arg(id)::uuid) AS deleted;

-- ---- quizzes -----------------------------------------------------------------------------------

-- name: AddQuiz :one
INSERT INTO quizzes (lesson_id, question, question_type, options, correct_answer)
VALUES (sqlc.arg(lesson_id), sqlc.arg(question), sqlc.arg(question_type), sqlc.arg(options),
        sqlc.arg(correct_answer))
RETURNING *;

-- name: GetQuiz :one
SELECT * FROM quizzes WHERE id = sqlc.arg(id);

-- name: ListLessonQuizzes :many
SELECT * FROM quizzes WHERE lesson_id = sqlc.arg(lesson_id) ORDER BY position;

-- name: DeleteQuiz :one
-- Deletes a quiz and its attempts, closing the gap it leaves (delete_lesson_item); false if there
-- was none.
SELECT delete_lesson_item('quizzes', sqlc.arg(id)::uuid) AS deleted;

-- name: RecordQuizAttempt :one
-- Scores a learner's answer to a quiz (quiz_answer_is_correct) and records it; no row for an
-- unknown quiz.
INSERT INTO quiz_attempts (quiz_id, user_clerk_id, answer, is_correct)
SELECT q.id, sqlc.arg(user_clerk_id)::text, sqlc.arg(answer)::jsonb,
       quiz_answer_is_correct(q.question_type, q.correct_answer, sqlc.arg(answer)::jsonb)
FROM quizzes q WHERE q.id = sqlc.arg(quiz_id)::uuid
RETURNING *;

-- name: ListQuizAttempts :many
-- A learner's attempts at a quiz, newest first.
SELECT * FROM quiz_attempts
WHERE quiz_id = sqlc.arg(quiz_id) AND user_clerk_id = sqlc.arg(user_clerk_id)
ORDER BY created_at DESC, id DESC;

-- name: CountLessonQuizzesPassed :one
-- How many quizzes a lesson has, and how many of them the learner answered correctly at least
-- once. The learner passed the lesson's quizzes when the two are equal (a lesson without quizzes
-- counts as passed). No row for an unknown lesson.
SELECT count(q.id)::integer AS quizzes,
       count(q.id) FILTER (WHERE EXISTS (
           SELECT FROM quiz_attempts a
           WHERE a.quiz_id = q.id AND a.user_clerk_id = sqlc.arg(user_clerk_id) AND a.is_correct))::integer
           AS passed
FROM lessons l LEFT JOIN quizzes q ON q.lesson_id = l.id
WHERE l.id = sqlc.arg(lesson_id)
GROUP BY l.id;
