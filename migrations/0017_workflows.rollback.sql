DROP TABLE review_replies;
DROP FUNCTION review_replies_notify();
DROP FUNCTION review_replies_check();
DROP TABLE collaboration_requests;
DROP FUNCTION collaboration_requests_follow_up();
DROP FUNCTION collaboration_requests_check();
