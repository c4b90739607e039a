-- The card as it was (counting at read time), then the summary and what keeps it.
DROP VIEW course_card_facts;
-- course_card_facts is the one definition of a course card (sql/queries/pages.sql joins it by id,
-- so only the cards of a page are computed). It is a plain view, not security_invoker: it runs
-- with its owner's rights, so under as_user() an enrolment count still counts every learner's
-- enrolment (private rows the caller cannot see) while exposing only the count. It exposes every
-- course whatever its status: each query says which courses the caller may see (published, or
-- their own). A review hidden by a moderator counts toward the rating only for its author and for
-- moderators (learnstore_visible, the one predicate every read of reviews applies).
CREATE VIEW course_card_facts AS
SELECT c.id AS course_id,
       c.title,
       c.description,
       c.difficulty,
       c.status,
       c.published_at,
       c.created_at,
       c.cover_image_url,
       c.estimated_duration_minutes,
       l.code AS language_code,
       c.author_clerk_id,
       CASE WHEN c.author_clerk_id IS NULL THEN 'deleted user'
            ELSE coalesce(nullif(btrim(concat_ws(' ', a.first_name, a.last_name)), ''), c.author_clerk_id)
       END AS author_name,
       a.avatar_url AS author_avatar_url,
       o.lesson_count,
       o.lessons_duration_seconds,
       (SELECT count(*) FROM user_courses uc WHERE uc.course_id = c.id)::integer AS enrolment_count,
       r.rating_mean,
       r.rating_count,
       array(SELECT t.name FROM course_tags ct JOIN tags t ON t.id = ct.tag_id
             WHERE ct.course_id = c.id ORDER BY lower(t.name), t.id)::text[] AS tags
FROM courses c
LEFT JOIN users a ON a.clerk_id = c.author_clerk_id
LEFT JOIN languages l ON l.id = c.language_id
CROSS JOIN LATERAL (
    SELECT count(*)::integer AS lesson_count, coalesce(sum(ls.duration_seconds), 0)::integer AS lessons_duration_seconds
    FROM units u JOIN lessons ls ON ls.unit_id = u.id
    WHERE u.course_id = c.id
) o
-- course_feedback_course_rating_idx: from the index alone, without a visit to each rating's row
CROSS JOIN LATERAL (
    SELECT round(avg(f.rating), 2) AS rating_mean, count(*)::integer AS rating_count
    FROM course_feedback f WHERE f.course_id = c.id AND learnstore_visible(f.hidden_at, f.user_clerk_id)
) r;
COMMENT ON VIEW course_card_facts IS
    'One row per course: what a course card shows, computed at read time (counts over every learner).';
GRANT SELECT ON course_card_facts TO learnstore_app;
DROP TRIGGER course_feedback_count_stats_deleted ON course_feedback;
DROP TRIGGER course_feedback_count_stats_updated ON course_feedback;
DROP TRIGGER course_feedback_count_stats_inserted ON course_feedback;
DROP TRIGGER user_courses_count_stats_deleted ON user_courses;
DROP TRIGGER user_courses_count_stats_updated ON user_courses;
DROP TRIGGER user_courses_count_stats_inserted ON user_courses;
DROP FUNCTION course_feedback_count_stats();
DROP FUNCTION user_courses_count_stats();
DROP FUNCTION course_stats_recount(uuid[]);
DROP FUNCTION course_stats_add(jsonb, boolean);
DROP TABLE course_stats;
DROP FUNCTION course_stats_shard(text);
