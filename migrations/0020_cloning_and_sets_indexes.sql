-- transactional: false
-- statement_timeout: off
-- Migration 0020's indexes on existing tables, built concurrently so that quizzes, media and
-- flashcard_sets stay writable on a live database; IF NOT EXISTS lets a rerun after a cancelled build
-- finish it. 0020_cloning_and_sets_keys turns the two unique ones into deferrable constraints.
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS quizzes_lesson_position_key ON quizzes (lesson_id, position);
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS media_lesson_position_key ON media (lesson_id, position);
-- The foreign keys' indexes (a language or a source set deleted finds its referencing sets).
CREATE INDEX CONCURRENTLY IF NOT EXISTS flashcard_sets_language_id_idx ON flashcard_sets (language_id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS flashcard_sets_forked_from_idx ON flashcard_sets (forked_from);
-- Browsing public sets newest first, keyset on (created_at, id).
CREATE INDEX CONCURRENTLY IF NOT EXISTS flashcard_sets_public_created_idx
    ON flashcard_sets (created_at DESC, id DESC) WHERE is_public;
-- Searching sets by title and description: the expression is the one the queries write, as
-- courses_search_idx's is.
CREATE INDEX CONCURRENTLY IF NOT EXISTS flashcard_sets_search_idx ON flashcard_sets
    USING gin (to_tsvector('simple'::regconfig, title || ' ' || description));
