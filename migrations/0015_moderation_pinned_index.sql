-- transactional: false
-- statement_timeout: off
-- A course's threads, pinned first, newest first (ListCoursePostsNewest): a page reads 50 index
-- entries instead of sorting the course's every thread. Built concurrently: forum_posts stays
-- writable on a live database; IF NOT EXISTS lets a rerun after a cancelled build finish it.
CREATE INDEX CONCURRENTLY IF NOT EXISTS forum_posts_course_pinned_idx
    ON forum_posts (course_id, (pinned_at IS NOT NULL) DESC, created_at DESC, id DESC);
