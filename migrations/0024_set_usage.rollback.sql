DROP TRIGGER user_flashcard_progress_record_set_learners ON user_flashcard_progress;
DROP FUNCTION flashcard_set_learners_record();
DROP TABLE flashcard_set_learners;
DROP FUNCTION flashcard_set_learners_added();
DROP FUNCTION flashcard_set_learners_removed();
DROP FUNCTION flashcard_set_learners_add(jsonb);
DROP TRIGGER flashcard_sets_set_updated_at ON flashcard_sets;
ALTER TABLE flashcard_sets DROP COLUMN learners;
CREATE TRIGGER flashcard_sets_set_updated_at BEFORE UPDATE ON flashcard_sets
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
