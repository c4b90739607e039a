-- An enrolment's statement trigger (user_courses_count_lessons, 0029) joins the new enrolments to
-- their learners' statuses. Planned for a bulk import's batch of 30,000 enrolments it hashed every
-- status on the platform, batch after batch: 11-13 s a batch of the million-scale load with 6.3
-- million statuses loaded, growing with them (quadratic over a load), against 0.8-0.9 s probing
-- user_progress_user_lesson_key learner by learner (docs/scaling.md, "Loading it"). The function
-- plans without hash and merge joins, for every writer (a plain enrolment plans so anyway), the way
-- the forum rollup's functions pin their plans; PostgreSQL gives the caller's settings back on return.
ALTER FUNCTION user_courses_count_lessons() SET enable_hashjoin = off SET enable_mergejoin = off;
