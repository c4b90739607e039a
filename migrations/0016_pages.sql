-- Pages: what the reads a client draws a page from need beyond the domain tables (the views; the
-- indexes on existing tables are built concurrently by 0016_pages_indexes).
--
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

-- An instructor's roster: a course's enrolments, read by the course's author and accepted
-- collaborators. Enrolments are private rows under as_user() (RLS: the learner's own), so the
-- roster reads them through this view, which runs with its owner's rights and lets the app role
-- (as_user) see only the enrolments of courses the identity authors or co-edits; outside as_user
-- (the owner, the service path) every row shows and the roster query itself checks its viewer.
-- Not a security_barrier view: a barrier would keep the roster's keyset pages from reading the
-- indexes 0016_pages_indexes builds in order (280 ms instead of 2 at the large scale). What a barrier guards against,
-- a caller's own leaky function applied to the rows before the view's filter, needs a function
-- created by the caller: learnstore_app may create none (no CREATE on any schema).
CREATE VIEW course_roster_entries AS
SELECT uc.course_id,
       uc.user_clerk_id,
       uc.progress,
       uc.enrolled_at,
       uc.completed_at,
       -- the last change of the enrolment: progress, completion, or the enrolment itself
       uc.updated_at AS last_activity_at
FROM user_courses uc
-- The role check stays: the view runs with its owner's rights, so the app role is the one place a
-- caller's identity (learnstore_actor()) decides; any other role is the owner's service path.
WHERE current_user <> 'learnstore_app'
   -- the courses the acting user authors or is an accepted collaborator of (0013's course-team
   -- helper), an uncorrelated sub-select found once per statement
   OR uc.course_id IN (SELECT learnstore_team_courses('{author,editor,reviewer}'));
COMMENT ON VIEW course_roster_entries IS
    'A course''s enrolments as its author and collaborators may read them (the roster).';
GRANT SELECT ON course_roster_entries TO learnstore_app;
