-- The counts go with their table (0027_forum_activity's rollback drops it); their CHECKs go here.
ALTER TABLE forum_user_activity
    DROP CONSTRAINT IF EXISTS forum_user_activity_posts_non_negative,
    DROP CONSTRAINT IF EXISTS forum_user_activity_posts_public_non_negative,
    DROP CONSTRAINT IF EXISTS forum_user_activity_replies_non_negative,
    DROP CONSTRAINT IF EXISTS forum_user_activity_replies_public_non_negative,
    DROP CONSTRAINT IF EXISTS forum_user_activity_replies_own_non_negative,
    DROP CONSTRAINT IF EXISTS forum_user_activity_likes_given_non_negative,
    DROP CONSTRAINT IF EXISTS forum_user_activity_likes_given_public_non_negative,
    DROP CONSTRAINT IF EXISTS forum_user_activity_likes_given_own_non_negative,
    DROP CONSTRAINT IF EXISTS forum_user_activity_likes_received_non_negative,
    DROP CONSTRAINT IF EXISTS forum_user_activity_likes_received_public_non_negative,
    DROP CONSTRAINT IF EXISTS forum_user_activity_likes_received_own_non_negative;
