-- Nothing to undo: the counts go with their table (0030_review_upvotes' rollback drops it).
SELECT 1;
