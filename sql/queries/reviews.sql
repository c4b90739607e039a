-- Answers to reviews: a course's author answers a learner's review once, edits or deletes it.
-- Only the course's author may answer: the trigger review_replies_enforce_author (sql/schema/95_workflows.sql).

-- name: AnswerReview :one
-- The author's answer; no row when the review already has one (an answer is edited, not repeated).
INSERT INTO review_replies (feedback_id, author_clerk_id, body)
VALUES (sqlc.arg(feedback_id)::uuid, sqlc.arg(author_clerk_id)::text, sqlc.arg(body)::text)
ON CONFLICT (feedback_id) DO NOTHING
RETURNING *;

-- name: EditReviewAnswer :one
-- Changes the answer's body and sets edited_at; its author only; no row otherwise.
UPDATE review_replies SET body = sqlc.arg(body)::text, edited_at = now()
WHERE feedback_id = sqlc.arg(feedback_id)::uuid AND author_clerk_id = sqlc.arg(author_clerk_id)::text
RETURNING *;

-- name: DeleteReviewAnswer :execrows
DELETE FROM review_replies
WHERE feedback_id = sqlc.arg(feedback_id)::uuid AND author_clerk_id = sqlc.arg(author_clerk_id)::text;

-- name: GetReviewAnswer :one
-- No row when the review is hidden from the acting user (learnstore_visible): its
-- answer goes with it.
SELECT a.* FROM review_replies a JOIN course_feedback f ON f.id = a.feedback_id
WHERE a.feedback_id = sqlc.arg(feedback_id)::uuid AND learnstore_visible(f.hidden_at, f.user_clerk_id);
