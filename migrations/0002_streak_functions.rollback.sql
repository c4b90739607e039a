-- Undo 0002_streak_functions.
DROP FUNCTION record_activity(text, timestamptz);
DROP FUNCTION recompute_streak(text);
