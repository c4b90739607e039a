-- The constraints go and take their indexes with them; the indexes come back as
-- 0020_cloning_and_sets_indexes left them, so that the keys migration can run again. Built in the
-- rollback's transaction (a rollback is an operator's deliberate step, not a live deploy).
ALTER TABLE media DROP CONSTRAINT media_lesson_position_key;
ALTER TABLE quizzes DROP CONSTRAINT quizzes_lesson_position_key;
-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX quizzes_lesson_position_key ON quizzes (lesson_id, position);
-- squawk-ignore require-concurrent-index-creation
CREATE UNIQUE INDEX media_lesson_position_key ON media (lesson_id, position);
-- Back to what 0020 left: nullable columns under a CHECK.
-- squawk-ignore ban-drop-not-null
ALTER TABLE media ALTER COLUMN position DROP NOT NULL;
-- squawk-ignore ban-drop-not-null
ALTER TABLE quizzes ALTER COLUMN position DROP NOT NULL;
