DROP VIEW course_roster_by_name;
DROP TRIGGER users_copy_roster_names ON users;
DROP FUNCTION users_copy_roster_names();
DROP TRIGGER user_courses_copy_roster_names ON user_courses;
DROP FUNCTION user_courses_copy_roster_names();
DROP FUNCTION course_roster_names_resync(text[]);
DROP FUNCTION course_roster_names_lock(text[], boolean);
DROP TABLE course_roster_names;
DROP FUNCTION learnstore_name_key(text, text, text);
