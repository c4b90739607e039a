DROP INDEX users_email_prefix_idx;
DROP INDEX users_last_name_prefix_idx;
DROP INDEX users_full_name_prefix_idx;
DROP INDEX user_progress_user_updated_idx;
DROP INDEX course_feedback_course_rating_idx;
DROP VIEW course_card_facts;
