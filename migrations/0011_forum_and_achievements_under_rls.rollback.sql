DROP POLICY notifications_forum_activity ON notifications;
GRANT INSERT, UPDATE, DELETE ON user_points TO learnstore_app;
ALTER FUNCTION evaluate_achievements(text[], uuid, text[]) SECURITY INVOKER RESET search_path;
