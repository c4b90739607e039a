-- Nothing to undo: the counts go with their table (0027_forum_activity's rollback drops it).
SELECT 1;
