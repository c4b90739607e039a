-- Quizzes and media in dense positions under their lesson, unique: the indexes
-- 0020_cloning_and_sets_indexes built concurrently become deferrable constraints (a brief lock, no
-- scan), so that one UPDATE can shift a run of positions, as lessons' and units' keys allow. And
-- 0020's NOT VALID constraints are validated here, in a transaction of their own (a validation
-- takes a lock that lets reads and writes go on).
ALTER TABLE quizzes ADD CONSTRAINT quizzes_lesson_position_key
    UNIQUE USING INDEX quizzes_lesson_position_key DEFERRABLE INITIALLY IMMEDIATE;
ALTER TABLE media ADD CONSTRAINT media_lesson_position_key
    UNIQUE USING INDEX media_lesson_position_key DEFERRABLE INITIALLY IMMEDIATE;
ALTER TABLE quizzes VALIDATE CONSTRAINT quizzes_position_valid;
ALTER TABLE media VALIDATE CONSTRAINT media_position_valid;
ALTER TABLE flashcard_sets VALIDATE CONSTRAINT flashcard_sets_language_id_fkey;
ALTER TABLE flashcard_sets VALIDATE CONSTRAINT flashcard_sets_forked_from_fkey;
-- With quizzes_position_valid validated, SET NOT NULL takes the CHECK's word for it and scans nothing.
ALTER TABLE quizzes ALTER COLUMN position SET NOT NULL;
ALTER TABLE media ALTER COLUMN position SET NOT NULL;
