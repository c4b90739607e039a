-- Nothing to undo: the rows go with their table (0040_course_roster_names' rollback drops it).
SELECT 1;
