ALTER FUNCTION user_courses_count_lessons() RESET enable_hashjoin RESET enable_mergejoin;
