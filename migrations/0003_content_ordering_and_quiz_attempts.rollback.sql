-- Undo 0003_content_ordering_and_quiz_attempts.
DROP TABLE quiz_attempts;
DROP FUNCTION quiz_answer_is_correct(text, jsonb, jsonb);
DROP FUNCTION delete_lesson(uuid);
DROP FUNCTION move_lesson(uuid, uuid, integer);
DROP FUNCTION add_lesson(uuid, text, text, jsonb, integer, integer);
DROP FUNCTION delete_unit(uuid);
DROP FUNCTION move_unit(uuid, integer);
DROP FUNCTION add_unit(uuid, text, text, integer);
DROP FUNCTION content_position(integer, integer);
DROP FUNCTION lock_course_content(uuid);
