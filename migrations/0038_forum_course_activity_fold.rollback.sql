DROP FUNCTION forum_course_activity_fold(timestamptz, integer);
