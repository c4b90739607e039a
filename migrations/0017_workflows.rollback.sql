DROP TABLE review_replies;
DROP FUNCTION review_replies_notify();
DROP FUNCTION review_replies_enforce_author();
DROP TABLE collaboration_requests;
DROP FUNCTION collaboration_requests_follow_up();
DROP FUNCTION collaboration_requests_enforce_rules();
