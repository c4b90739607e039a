DROP INDEX CONCURRENTLY IF EXISTS forum_posts_course_pinned_idx;
