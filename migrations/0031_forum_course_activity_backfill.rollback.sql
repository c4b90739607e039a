-- Nothing to undo: the rollup goes with its table (0031_forum_course_activity's rollback drops it).
SELECT 1;
