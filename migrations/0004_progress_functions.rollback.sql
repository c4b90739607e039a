-- Undo 0004_progress_functions.
DROP FUNCTION set_lesson_status(text, uuid, text);
DROP FUNCTION unenrol_from_course(text, uuid);
DROP FUNCTION enrol_in_course(text, uuid);
DROP TRIGGER units_update_refresh_enrolments ON units;
DROP TRIGGER units_delete_refresh_enrolments ON units;
DROP TRIGGER lessons_update_refresh_enrolments ON lessons;
DROP TRIGGER lessons_delete_refresh_enrolments ON lessons;
DROP TRIGGER lessons_insert_refresh_enrolments ON lessons;
DROP FUNCTION units_refresh_enrolments();
DROP FUNCTION lessons_refresh_enrolments();
DROP FUNCTION refresh_course_enrolments(uuid[]);
DROP FUNCTION recompute_enrolments(uuid[], text);
