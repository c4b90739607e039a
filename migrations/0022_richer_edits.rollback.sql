-- Undoes 0022_richer_edits: edits of the new kinds (and withdrawn ones) are deleted, as the columns
-- and statuses that describe them go.
DROP POLICY suggested_edits_own_withdraw_update ON suggested_edits;
REVOKE INSERT (kind, unit_id, quiz_id, base_lesson_ids) ON suggested_edits FROM learnstore_app;
DROP TRIGGER suggested_edits_notify_proposer ON suggested_edits;
DROP FUNCTION suggested_edits_notify_proposer();
DROP FUNCTION approve_suggested_edit(uuid, text, text);
DELETE FROM suggested_edits WHERE kind <> 'fields' OR status = 'withdrawn';
ALTER TABLE suggested_edits DROP CONSTRAINT suggested_edits_status_valid;
-- The rule as 0001 made it (the rows left meet it: the others were just deleted).
-- squawk-ignore constraint-missing-not-valid
ALTER TABLE suggested_edits ADD CONSTRAINT suggested_edits_status_valid
    CHECK (status IN ('pending', 'approved', 'rejected'));
ALTER TABLE suggested_edits DROP CONSTRAINT suggested_edits_withdrawn_unreviewed;
ALTER TABLE suggested_edits DROP CONSTRAINT suggested_edits_kind_payload;
ALTER TABLE suggested_edits DROP CONSTRAINT suggested_edits_kind_target;
ALTER TABLE suggested_edits DROP CONSTRAINT suggested_edits_kind_valid;
ALTER TABLE suggested_edits DROP CONSTRAINT suggested_edits_quiz_id_fkey;
ALTER TABLE suggested_edits DROP CONSTRAINT suggested_edits_unit_id_fkey;
COMMENT ON COLUMN suggested_edits.reviewed_at IS NULL;
ALTER TABLE suggested_edits DROP COLUMN base_lesson_ids, DROP COLUMN quiz_id, DROP COLUMN unit_id, DROP COLUMN kind;
