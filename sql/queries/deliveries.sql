-- Deliveries: the ledger of signed webhook deliveries already applied (learnstore.webhooks).

-- name: RecordWebhookDelivery :one
-- Records a verified delivery and returns it; returns nothing when this svix-id was recorded
-- before (a replay). A concurrent delivery of the same id waits for the first to commit or roll back.
INSERT INTO webhook_deliveries (svix_id, event_type)
VALUES (sqlc.arg(svix_id), sqlc.arg(event_type))
ON CONFLICT (svix_id) DO NOTHING
RETURNING *;

-- name: GetWebhookDelivery :one
-- The recorded delivery with this svix-id.
SELECT * FROM webhook_deliveries WHERE svix_id = sqlc.arg(svix_id);
