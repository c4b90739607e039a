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

-- ---- feedback ----------------------------------------------------------------------------------

-- name: UpsertFeedback :one
-- A learner's review of a course they are enrolled in; reviewing again replaces rating and
-- comment. No row when the user is not enrolled.
INSERT INTO course_feedback (course_id, user_clerk_id, rating, comment)
SELECT uc.course_id, uc.user_clerk_id, sqlc.arg(rating)::integer, sqlc.narg(comment)::text
FROM user_courses uc
WHERE uc.course_id = sqlc.arg(course_id)::uuid AND uc.user_clerk_id = sqlc.arg(user_clerk_id)::text
ON CONFLICT (course_id, user_clerk_id) DO UPDATE SET rating = excluded.rating, comment = excluded.comment
RETURNING *;

-- name: DeleteFeedback :execrows
DELETE FROM course_feedback WHERE course_id = sqlc.arg(course_id) AND user_clerk_id = sqlc.arg(user_clerk_id);

-- name: UpvoteFeedback :one
-- Upvotes a review (idempotent; not one's own). found: the review exists; own: it is the user's;
-- changed: this call added the upvote; upvote_count: the upvotes after it.
WITH target AS (
    SELECT f.id, f.user_clerk_id FROM course_feedback f WHERE f.id = sqlc.arg(feedback_id)::uuid
), added AS (
    INSERT INTO feedback_upvotes (feedback_id, user_clerk_id)
    SELECT t.id, sqlc.arg(user_clerk_id)::text FROM target t
    WHERE t.user_clerk_id IS DISTINCT FROM sqlc.arg(user_clerk_id)::text
    ON CONFLICT (feedback_id, user_clerk_id) DO NOTHING
    RETURNING feedback_id
)
SELECT EXISTS (SELECT FROM target) AS found,
       EXISTS (SELECT FROM target t WHERE t.user_clerk_id = sqlc.arg(user_clerk_id)::text) AS own,
       EXISTS (SELECT FROM added) AS changed,
       ((SELECT count(*) FROM feedback_upvotes v WHERE v.feedback_id = sqlc.arg(feedback_id)::uuid)
        + (SELECT count(*) FROM added))::bigint AS upvote_count;

-- name: RemoveFeedbackUpvote :one
-- Takes an upvote back; changed: there was one.
WITH target AS (
    SELECT f.id FROM course_feedback f WHERE f.id = sqlc.arg(feedback_id)::uuid
), removed AS (
    DELETE FROM feedback_upvotes v USING target t
    WHERE v.feedback_id = t.id AND v.user_clerk_id = sqlc.arg(user_clerk_id)::text
    RETURNING v.feedback_id
)
SELECT EXISTS (SELECT FROM target) AS found, EXISTS (SELECT FROM removed) AS changed,
       ((SELECT count(*) FROM feedback_upvotes v WHERE v.feedback_id = sqlc.arg(feedback_id)::uuid)
        - (SELECT count(*) FROM removed))::bigint AS upvote_count;

-- name: GetCourseRatingStats :one
-- A course's rating summary (hidden reviews left out: learnstore_visible): count, mean (2
-- decimals, NULL when unrated), stars 1-5, and the
-- Bayesian score discovery's "best rated" order uses (course_rating_score). No row for an unknown
-- course.
SELECT c.id AS course_id,
       count(f.rating) AS rating_count,
       round(avg(f.rating), 2) AS average_rating,
       count(*) FILTER (WHERE f.rating = 1) AS one_star,
       count(*) FILTER (WHERE f.rating = 2) AS two_stars,
       count(*) FILTER (WHERE f.rating = 3) AS three_stars,
       count(*) FILTER (WHERE f.rating = 4) AS four_stars,
       count(*) FILTER (WHERE f.rating = 5) AS five_stars,
       course_rating_score(sum(f.rating), count(f.rating))::numeric AS score
FROM courses c
LEFT JOIN course_feedback f ON f.course_id = c.id AND learnstore_visible(f.hidden_at, f.user_clerk_id)
WHERE c.id = sqlc.arg(course_id)::uuid
GROUP BY c.id;

-- name: ListCourseFeedback :many
-- A course's reviews, newest first, with the reviewer's name, upvotes and the author's answer
-- (answer_body NULL when there is none; review_replies_feedback_id_key: at most one); hidden ones
-- only for their authors and moderators (learnstore_visible), their answers with them; keyset on
-- (updated_at, id).
SELECT f.id, f.course_id, f.user_clerk_id,
       CASE WHEN f.user_clerk_id IS NULL THEN 'deleted user'
            ELSE coalesce(nullif(btrim(concat_ws(' ', u.first_name, u.last_name)), ''), f.user_clerk_id)
       END::text AS author_name,
       f.rating, f.comment, f.created_at, f.updated_at,
       coalesce((SELECT n.upvotes FROM feedback_upvote_counts n WHERE n.feedback_id = f.id), 0)::bigint
           AS upvote_count,
       a.body AS answer_body, a.created_at AS answered_at, a.edited_at AS answer_edited_at
FROM course_feedback f LEFT JOIN users u ON u.clerk_id = f.user_clerk_id
LEFT JOIN review_replies a ON a.feedback_id = f.id
WHERE f.course_id = sqlc.arg(course_id)::uuid AND learnstore_visible(f.hidden_at, f.user_clerk_id)
  AND (sqlc.narg(before_updated_at)::timestamptz IS NULL
       OR (f.updated_at, f.id) < (sqlc.narg(before_updated_at)::timestamptz, sqlc.narg(before_id)::uuid))
ORDER BY f.updated_at DESC, f.id DESC
LIMIT sqlc.arg(page_size);
