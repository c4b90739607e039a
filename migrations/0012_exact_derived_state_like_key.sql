-- transactional: false
-- statement_timeout: off
-- "Notified once per liker" becomes a unique key (0012 made the like queries insert ON CONFLICT DO
-- NOTHING). Built concurrently so that notifications stays writable on a live database: first the
-- duplicates that the old NOT EXISTS test let through are removed (the earliest notification of each
-- liker and source is kept), then the key is built, then the index it replaces is dropped. A build
-- that fails (a duplicate written by an old release between the two statements) leaves an INVALID
-- index that the next `learnstore migrate` drops and builds again.
DELETE FROM notifications n
USING notifications keep
WHERE n.type = 'like' AND keep.type = 'like'
  AND keep.source_id = n.source_id AND keep.user_clerk_id = n.user_clerk_id
  AND keep.metadata ->> 'by' = n.metadata ->> 'by'
  AND (keep.created_at, keep.id) < (n.created_at, n.id);
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS notifications_like_once_key
    ON notifications (source_id, user_clerk_id, (metadata ->> 'by')) WHERE type = 'like';
DROP INDEX CONCURRENTLY IF EXISTS notifications_source_id_like_idx;
