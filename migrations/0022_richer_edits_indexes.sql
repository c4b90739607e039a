-- transactional: false
-- statement_timeout: off
-- 0022_richer_edits' constraints validated (a scan that takes only SHARE UPDATE EXCLUSIVE: the table
-- stays writable) and its indexes built concurrently: the new foreign keys' columns, and a course's
-- edit history in every status, newest first (edits.list_edits' keyset). IF NOT EXISTS and the
-- validation's idempotence (VALIDATE of a valid constraint does nothing: squawk's prefer-robust-stmts
-- cannot know it) let a rerun after a cancelled build finish it.
-- squawk-ignore prefer-robust-stmts
ALTER TABLE suggested_edits VALIDATE CONSTRAINT suggested_edits_unit_id_fkey;
-- squawk-ignore prefer-robust-stmts
ALTER TABLE suggested_edits VALIDATE CONSTRAINT suggested_edits_quiz_id_fkey;
-- squawk-ignore prefer-robust-stmts
ALTER TABLE suggested_edits VALIDATE CONSTRAINT suggested_edits_kind_valid;
-- squawk-ignore prefer-robust-stmts
ALTER TABLE suggested_edits VALIDATE CONSTRAINT suggested_edits_kind_target;
-- squawk-ignore prefer-robust-stmts
ALTER TABLE suggested_edits VALIDATE CONSTRAINT suggested_edits_kind_payload;
-- squawk-ignore prefer-robust-stmts
ALTER TABLE suggested_edits VALIDATE CONSTRAINT suggested_edits_withdrawn_unreviewed;
-- squawk-ignore prefer-robust-stmts
ALTER TABLE suggested_edits VALIDATE CONSTRAINT suggested_edits_status_valid;
CREATE INDEX CONCURRENTLY IF NOT EXISTS suggested_edits_unit_id_idx ON suggested_edits (unit_id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS suggested_edits_quiz_id_idx ON suggested_edits (quiz_id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS suggested_edits_course_history_idx
    ON suggested_edits (course_id, created_at DESC, id DESC);
