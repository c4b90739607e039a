-- transactional: false
-- statement_timeout: off
-- Browsing public sets most used first, keyset on (learners, id), built concurrently so that
-- flashcard_sets stays writable on a live database; IF NOT EXISTS lets a rerun after a cancelled
-- build finish it.
CREATE INDEX CONCURRENTLY IF NOT EXISTS flashcard_sets_public_learners_idx
    ON flashcard_sets (learners DESC, id DESC) WHERE is_public;
