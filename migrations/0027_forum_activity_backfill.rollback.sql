-- The counts go with their table (0027_forum_activity's rollback drops it); their CHECK goes here.
ALTER TABLE forum_user_activity DROP CONSTRAINT IF EXISTS forum_user_activity_counts_non_negative;
