-- Undo 0008_achievement_evaluation.
DROP TRIGGER achievements_delete_remove_points ON achievements;
DROP TRIGGER achievements_update_change_points ON achievements;
DROP TRIGGER user_achievements_delete_add_points ON user_achievements;
DROP TRIGGER user_achievements_update_add_points ON user_achievements;
DROP TRIGGER user_achievements_insert_add_points ON user_achievements;
DROP TRIGGER forum_reply_likes_insert_evaluate_achievements ON forum_reply_likes;
DROP TRIGGER forum_post_likes_insert_evaluate_achievements ON forum_post_likes;
DROP TRIGGER forum_replies_insert_evaluate_achievements ON forum_replies;
DROP TRIGGER forum_posts_insert_evaluate_achievements ON forum_posts;
DROP TRIGGER learning_goals_update_evaluate_achievements ON learning_goals;
DROP TRIGGER learning_goals_insert_evaluate_achievements ON learning_goals;
DROP TRIGGER quiz_attempts_insert_evaluate_achievements ON quiz_attempts;
DROP TRIGGER user_flashcard_progress_update_evaluate_achievements ON user_flashcard_progress;
DROP TRIGGER user_flashcard_progress_insert_evaluate_achievements ON user_flashcard_progress;
DROP TRIGGER user_streaks_update_evaluate_achievements ON user_streaks;
DROP TRIGGER user_streaks_insert_evaluate_achievements ON user_streaks;
DROP TRIGGER user_courses_update_evaluate_achievements ON user_courses;
DROP TRIGGER user_courses_insert_evaluate_achievements ON user_courses;
DROP TRIGGER user_progress_update_evaluate_achievements ON user_progress;
DROP TRIGGER user_progress_insert_evaluate_achievements ON user_progress;
DROP FUNCTION count_learners_above(integer, uuid);
DROP FUNCTION achievements_remove_points();
DROP FUNCTION achievements_change_points();
DROP FUNCTION user_achievements_add_points();
DROP FUNCTION add_user_points(text[], bigint[], bigint[]);
DROP FUNCTION forum_evaluate_achievements();
DROP FUNCTION learning_goals_evaluate_achievements();
DROP FUNCTION quiz_attempts_evaluate_achievements();
DROP FUNCTION user_flashcard_progress_evaluate_achievements();
DROP FUNCTION user_streaks_evaluate_achievements();
DROP FUNCTION user_courses_evaluate_achievements();
DROP FUNCTION user_progress_evaluate_achievements();
DROP FUNCTION evaluate_achievements(text[], uuid, text[]);
DROP FUNCTION achievement_requirement_kinds(jsonb);
DROP FUNCTION achievement_score(jsonb, jsonb);
DROP FUNCTION achievement_metrics(text[], text[], uuid[]);
DROP TABLE user_points;
ALTER TABLE achievements DROP CONSTRAINT achievements_requirement_shape;
ALTER TABLE achievements ADD CONSTRAINT achievements_requirement_shape CHECK ((
    jsonb_typeof(requirement) = 'object'
    AND requirement ->> 'kind' IN (
        'lessons_completed', 'courses_completed', 'streak_days', 'flashcards_reviewed', 'forum_posts')
    AND jsonb_typeof(requirement -> 'threshold') = 'number'
    AND (requirement ->> 'threshold')::numeric >= 1
    AND (requirement ->> 'threshold')::numeric = trunc((requirement ->> 'threshold')::numeric)) IS TRUE);
DROP FUNCTION achievement_requirement_is_valid(jsonb, integer);
