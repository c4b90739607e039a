-- Nothing to undo: the documents go with their columns (0025_forum_search's rollback drops them).
SELECT 1;
