-- Nothing to undo: the counts go with their table (0028_course_stats' rollback drops it).
SELECT 1;
