-- Users: identity sync, lookups, profiles, activity streaks, goals, notifications, GDPR.

-- name: GetUserByClerkId :one
-- The user with this Clerk id.
SELECT * FROM users WHERE clerk_id = sqlc.arg(clerk_id);

-- name: GetUserByEmail :one
-- The user with this email, whatever its case.
SELECT * FROM users WHERE lower(email) = lower(sqlc.arg(email));

-- name: UpsertUserFromClerk :one
-- Creates or updates a user from an identity-provider event. Returns no row when the stored
-- version is newer than the event (an older event never overwrites a newer one), or when the
-- identity was erased (a late event does not bring an erased user back).
SELECT * FROM apply_clerk_user(sqlc.arg(clerk_id), sqlc.narg(email), sqlc.narg(first_name),
                               sqlc.narg(last_name), sqlc.narg(avatar_url), sqlc.arg(clerk_updated_at));

-- name: GetIdentityErased :one
-- Whether this clerk_id was erased (only its sha256 is kept).
SELECT identity_erased(sqlc.arg(clerk_id)) AS erased;

-- name: UpdateUserProfile :one
-- Changes the profile fields whose *_set flag is true; the others keep their value.
UPDATE users
SET first_name = CASE WHEN sqlc.arg(first_name_set)::boolean THEN sqlc.narg(first_name) ELSE first_name END,
    last_name = CASE WHEN sqlc.arg(last_name_set)::boolean THEN sqlc.narg(last_name) ELSE last_name END,
    avatar_url = CASE WHEN sqlc.arg(avatar_url_set)::boolean THEN sqlc.narg(avatar_url) ELSE avatar_url END,
    bio = CASE WHEN sqlc.arg(bio_set)::boolean THEN sqlc.narg(bio) ELSE bio END,
    timezone = coalesce(sqlc.narg(timezone), timezone)
WHERE clerk_id = sqlc.arg(clerk_id)
RETURNING *;

-- name: EraseUser :one
-- Erases a user: private rows go with them (ON DELETE CASCADE), what they wrote for others
-- stays with its author set to NULL (ON DELETE SET NULL), and the identity is recorded as erased
-- (its sha256), also when no such user was ever seen here. True when a user row was deleted.
SELECT erase_user(sqlc.arg(clerk_id)) AS erased;

-- name: RecordActivity :one
-- Records activity at an instant on the user's local day, and returns the updated streak.
SELECT * FROM record_activity(sqlc.arg(user_clerk_id), sqlc.arg(at));

-- name: RecomputeStreak :one
-- Rebuilds the streak from login_days alone.
SELECT * FROM recompute_streak(sqlc.arg(user_clerk_id));

-- name: GetStreak :one
-- The streak as of an instant: the current run counts only if its last day is the user's local
-- today or yesterday.
SELECT s.user_clerk_id,
       CASE WHEN s.last_active_date >= (sqlc.arg(at)::timestamptz AT TIME ZONE u.timezone)::date - 1
            THEN s.current_streak ELSE 0 END::integer AS current_streak,
       s.longest_streak,
       s.last_active_date
FROM user_streaks s JOIN users u ON u.clerk_id = s.user_clerk_id
WHERE s.user_clerk_id = sqlc.arg(user_clerk_id);

-- name: ListLoginDays :many
-- The user's active local days, oldest first, within [since, until].
SELECT day FROM login_days
WHERE user_clerk_id = sqlc.arg(user_clerk_id) AND day BETWEEN sqlc.arg(since) AND sqlc.arg(until)
ORDER BY day;

-- name: CreateLearningGoal :one
INSERT INTO learning_goals (user_clerk_id, title, description, target_date)
VALUES (sqlc.arg(user_clerk_id), sqlc.arg(title), sqlc.narg(description), sqlc.narg(target_date))
RETURNING *;

-- name: SetLearningGoalProgress :one
-- Sets a goal's progress; reaching 100 completes it, going below 100 reopens it.
UPDATE learning_goals
SET progress = sqlc.arg(progress),
    completed_at = CASE WHEN sqlc.arg(progress)::integer = 100 THEN coalesce(completed_at, now()) END
WHERE id = sqlc.arg(id) AND user_clerk_id = sqlc.arg(user_clerk_id)
RETURNING *;

-- name: ListActiveLearningGoals :many
-- Goals not yet completed, soonest target first.
SELECT * FROM learning_goals
WHERE user_clerk_id = sqlc.arg(user_clerk_id) AND completed_at IS NULL
ORDER BY target_date NULLS LAST, created_at;

-- name: ListOverdueLearningGoals :many
-- Goals not completed whose target date is before the user's local day at an instant.
SELECT g.* FROM learning_goals g JOIN users u ON u.clerk_id = g.user_clerk_id
WHERE g.user_clerk_id = sqlc.arg(user_clerk_id) AND g.completed_at IS NULL
  AND g.target_date < (sqlc.arg(at)::timestamptz AT TIME ZONE u.timezone)::date
ORDER BY g.target_date, g.created_at;

-- name: DeleteLearningGoal :execrows
DELETE FROM learning_goals WHERE id = sqlc.arg(id) AND user_clerk_id = sqlc.arg(user_clerk_id);

-- name: CreateNotification :one
INSERT INTO notifications (user_clerk_id, type, message, source_id, source_type, metadata)
VALUES (sqlc.arg(user_clerk_id), sqlc.arg(type), sqlc.arg(message), sqlc.narg(source_id),
        sqlc.narg(source_type), sqlc.arg(metadata))
RETURNING *;

-- name: NotifyCourseLearners :execrows
-- Sends one notification to every learner enrolled in a course, in one statement.
INSERT INTO notifications (user_clerk_id, type, message, source_id, source_type, metadata)
SELECT uc.user_clerk_id, sqlc.arg(type), sqlc.arg(message), sqlc.narg(source_id), sqlc.narg(source_type),
       sqlc.arg(metadata)
FROM user_courses uc WHERE uc.course_id = sqlc.arg(course_id);

-- name: CountUnreadNotifications :one
SELECT count(*) AS unread FROM notifications
WHERE user_clerk_id = sqlc.arg(user_clerk_id) AND read_at IS NULL;

-- name: MarkNotificationRead :execrows
UPDATE notifications SET read_at = now()
WHERE id = sqlc.arg(id) AND user_clerk_id = sqlc.arg(user_clerk_id) AND read_at IS NULL;

-- name: MarkAllNotificationsRead :execrows
UPDATE notifications SET read_at = now()
WHERE user_clerk_id = sqlc.arg(user_clerk_id) AND read_at IS NULL;

-- name: DeleteNotification :execrows
DELETE FROM notifications WHERE id = sqlc.arg(id) AND user_clerk_id = sqlc.arg(user_clerk_id);

-- name: DeleteNotifications :execrows
-- Deletes a user's notifications: every one, or (read_only) those already read.
DELETE FROM notifications
WHERE user_clerk_id = sqlc.arg(user_clerk_id) AND (NOT sqlc.arg(read_only)::boolean OR read_at IS NOT NULL);

-- name: ListNotifications :many
-- Newest first; pass the last row's (created_at, id) to get the next page.
SELECT * FROM notifications
WHERE user_clerk_id = sqlc.arg(user_clerk_id)
  AND (created_at, id) < (coalesce(sqlc.narg(before_created_at)::timestamptz, 'infinity'),
                          coalesce(sqlc.narg(before_id)::uuid, 'ffffffff-ffff-ffff-ffff-ffffffffffff'))
ORDER BY created_at DESC, id DESC
LIMIT sqlc.arg(page_size);

-- name: ExportUser :one
-- Everything stored about a user, as one JSON document keyed by table; NULL for an unknown user.
-- A post's or reply's search_document is left out: it is derived from the text, which is there.
SELECT jsonb_build_object(
    'users', jsonb_build_array(to_jsonb(u)),
    'user_streaks', (SELECT coalesce(jsonb_agg(to_jsonb(t)), '[]') FROM user_streaks t WHERE t.user_clerk_id = u.clerk_id),
    'login_days', (SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY t.day), '[]') FROM login_days t WHERE t.user_clerk_id = u.clerk_id),
    'learning_goals', (SELECT coalesce(jsonb_agg(to_jsonb(t)), '[]') FROM learning_goals t WHERE t.user_clerk_id = u.clerk_id),
    'notifications', (SELECT coalesce(jsonb_agg(to_jsonb(t)), '[]') FROM notifications t WHERE t.user_clerk_id = u.clerk_id),
    'courses', (SELECT coalesce(jsonb_agg(to_jsonb(t)), '[]') FROM courses t WHERE t.author_clerk_id = u.clerk_id),
    'user_courses', (SELECT coalesce(jsonb_agg(to_jsonb(t)), '[]') FROM user_courses t WHERE t.user_clerk_id = u.clerk_id),
    'user_progress', (SELECT coalesce(jsonb_agg(to_jsonb(t)), '[]') FROM user_progress t WHERE t.user_clerk_id = u.clerk_id),
    'forum_posts', (SELECT coalesce(jsonb_agg(to_jsonb(t) - 'search_document'), '[]') FROM forum_posts t WHERE t.author_clerk_id = u.clerk_id),
    'forum_replies', (SELECT coalesce(jsonb_agg(to_jsonb(t) - 'search_document'), '[]') FROM forum_replies t WHERE t.author_clerk_id = u.clerk_id),
    'forum_post_likes', (SELECT coalesce(jsonb_agg(to_jsonb(t)), '[]') FROM forum_post_likes t WHERE t.user_clerk_id = u.clerk_id),
    'forum_thread_follows', (SELECT coalesce(jsonb_agg(to_jsonb(t)), '[]') FROM forum_thread_follows t WHERE t.user_clerk_id = u.clerk_id),
    'notification_mutes', (SELECT coalesce(jsonb_agg(to_jsonb(t)), '[]') FROM notification_mutes t WHERE t.user_clerk_id = u.clerk_id),
    'forum_reply_likes', (SELECT coalesce(jsonb_agg(to_jsonb(t)), '[]') FROM forum_reply_likes t WHERE t.user_clerk_id = u.clerk_id),
    'collaborators', (SELECT coalesce(jsonb_agg(to_jsonb(t)), '[]') FROM collaborators t WHERE t.user_clerk_id = u.clerk_id),
    'suggested_edits', (SELECT coalesce(jsonb_agg(to_jsonb(t)), '[]') FROM suggested_edits t
                        WHERE t.author_clerk_id = u.clerk_id OR t.reviewer_clerk_id = u.clerk_id),
    'course_feedback', (SELECT coalesce(jsonb_agg(to_jsonb(t)), '[]') FROM course_feedback t WHERE t.user_clerk_id = u.clerk_id),
    'feedback_upvotes', (SELECT coalesce(jsonb_agg(to_jsonb(t)), '[]') FROM feedback_upvotes t WHERE t.user_clerk_id = u.clerk_id),
    'user_achievements', (SELECT coalesce(jsonb_agg(to_jsonb(t)), '[]') FROM user_achievements t WHERE t.user_clerk_id = u.clerk_id),
    'user_points', (SELECT coalesce(jsonb_agg(to_jsonb(t)), '[]') FROM user_points t WHERE t.user_clerk_id = u.clerk_id),
    'forum_user_activity', (SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY t.shard), '[]') FROM forum_user_activity t WHERE t.clerk_id = u.clerk_id),
    'flashcard_sets', (SELECT coalesce(jsonb_agg(to_jsonb(t)), '[]') FROM flashcard_sets t WHERE t.owner_clerk_id = u.clerk_id),
    'flashcards', (SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY t.set_id, t.position), '[]') FROM flashcards t
                   JOIN flashcard_sets s ON s.id = t.set_id WHERE s.owner_clerk_id = u.clerk_id),
    'user_flashcard_progress', (SELECT coalesce(jsonb_agg(to_jsonb(t)), '[]') FROM user_flashcard_progress t WHERE t.user_clerk_id = u.clerk_id),
    'flashcard_set_learners', (SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY t.created_at, t.id), '[]') FROM flashcard_set_learners t WHERE t.user_clerk_id = u.clerk_id),
    'flashcard_reviews', (SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY t.reviewed_at, t.review_number), '[]') FROM flashcard_reviews t WHERE t.user_clerk_id = u.clerk_id),
    'favorites', (SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY t.created_at), '[]') FROM favorites t WHERE t.user_clerk_id = u.clerk_id),
    'quiz_attempts', (SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY t.created_at), '[]') FROM quiz_attempts t WHERE t.user_clerk_id = u.clerk_id),
    'site_roles', (SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY t.role), '[]') FROM site_roles t
                   WHERE t.user_clerk_id = u.clerk_id OR t.granted_by = u.clerk_id),
    'moderation_reports', (SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY t.created_at, t.id), '[]') FROM moderation_reports t
                           WHERE t.reporter_clerk_id = u.clerk_id OR t.resolved_by = u.clerk_id),
    'moderation_actions', (SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY t.created_at, t.id), '[]') FROM moderation_actions t
                           WHERE t.moderator_clerk_id = u.clerk_id OR t.subject_clerk_id = u.clerk_id),
    'user_suspensions', (SELECT coalesce(jsonb_agg(to_jsonb(t)), '[]') FROM user_suspensions t
                         WHERE t.user_clerk_id = u.clerk_id OR t.suspended_by = u.clerk_id),
    'audit_log', (SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY t.change_number), '[]') FROM audit_log t WHERE t.actor_clerk_id = u.clerk_id),
    'collaboration_requests', (SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY t.created_at), '[]') FROM collaboration_requests t WHERE t.requester_clerk_id = u.clerk_id),
    'review_replies', (SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY t.created_at), '[]') FROM review_replies t WHERE t.author_clerk_id = u.clerk_id)
) AS document
FROM users u WHERE u.clerk_id = sqlc.arg(clerk_id);

-- name: GrantSiteRole :one
-- Grants a site-wide role; idempotent: a role already held is returned as it was granted.
-- returns: SiteRole
WITH granted AS (
    INSERT INTO site_roles (user_clerk_id, role, granted_by)
    VALUES (sqlc.arg(user_clerk_id), sqlc.arg(role), sqlc.narg(granted_by))
    ON CONFLICT ON CONSTRAINT site_roles_user_role_key DO NOTHING
    RETURNING *
)
SELECT * FROM granted
UNION ALL
SELECT * FROM site_roles
WHERE user_clerk_id = sqlc.arg(user_clerk_id) AND role = sqlc.arg(role) AND NOT EXISTS (SELECT FROM granted);

-- name: RevokeSiteRole :execrows
DELETE FROM site_roles WHERE user_clerk_id = sqlc.arg(user_clerk_id) AND role = sqlc.arg(role);

-- name: ListSiteRoles :many
-- A user's site-wide roles, or everyone's when user_clerk_id is NULL, by user then role.
SELECT * FROM site_roles
WHERE sqlc.narg(user_clerk_id)::text IS NULL OR user_clerk_id = sqlc.narg(user_clerk_id)
ORDER BY user_clerk_id, role;
