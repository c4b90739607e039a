-- Pages: what the reads a client draws a page from need beyond the domain tables.
--
-- course_card_facts, the one definition of a course card, reads the per-course summary
-- (course_stats): it is defined with it, in 99_course_stats.sql.
-- A course's ratings read from this index alone (the visibility predicate's columns ride along):
-- what course_stats' recount and drift check count. Built concurrently: 0016_pages_indexes.sql.
CREATE INDEX course_feedback_course_rating_idx ON course_feedback (course_id, rating) INCLUDE (hidden_at, user_clerk_id);
-- A learner's lesson statuses across every course, latest change first (keyset pages).
CREATE INDEX user_progress_user_updated_idx ON user_progress (user_clerk_id, updated_at DESC, id DESC);

-- User search by prefix (invites, @mentions): the full name, the last name and the email, each
-- lowercased, in byte order (COLLATE "C"), so that a prefix is a range that a generic plan can
-- seek (a LIKE pattern is only indexable when the planner sees it as a constant); clerk_id breaks
-- ties in index order, so that a page of namesakes stops after the page.
CREATE INDEX users_full_name_prefix_idx ON users
    ((lower(coalesce(first_name, '') || ' ' || coalesce(last_name, '')) COLLATE "C"), clerk_id);
CREATE INDEX users_last_name_prefix_idx ON users ((lower(last_name) COLLATE "C"), clerk_id);
CREATE INDEX users_email_prefix_idx ON users ((lower(email) COLLATE "C"), clerk_id);

-- An instructor's roster: a course's enrolments, read by the course's author and accepted
-- collaborators. Enrolments are private rows under as_user() (RLS: the learner's own), so the
-- roster reads them through this view, which runs with its owner's rights and lets the app role
-- (as_user) see only the enrolments of courses the identity authors or co-edits; outside as_user
-- (the owner, the service path) every row shows and the roster query itself checks its viewer.
-- Not a security_barrier view: a barrier would keep the roster's keyset pages from reading the
-- indexes below in order (280 ms instead of 2 at the large scale). What a barrier guards against,
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
-- The roster's keyset pages by progress and by last activity, each read in index order.
CREATE INDEX user_courses_course_progress_idx ON user_courses (course_id, progress DESC, user_clerk_id DESC);
CREATE INDEX user_courses_course_activity_idx ON user_courses (course_id, updated_at DESC, user_clerk_id DESC);
