DROP TRIGGER feedback_upvotes_count_deleted ON feedback_upvotes;
DROP TRIGGER feedback_upvotes_count_inserted ON feedback_upvotes;
DROP TRIGGER course_feedback_make_upvote_counts ON course_feedback;
DROP FUNCTION feedback_upvote_counts_recount(uuid[]);
DROP FUNCTION feedback_upvotes_count();
DROP FUNCTION course_feedback_make_upvote_counts();
DROP TABLE feedback_upvote_counts;
