-- transactional: false
-- statement_timeout: off
-- What 0019_partitioned_logs needs of login_days and flashcard_reviews, made without blocking writes
-- (IF NOT EXISTS, and the DO blocks' checks, let a rerun after a cancelled build finish it): each
-- log's key with its time column, built concurrently, becomes its history partition's primary key;
-- the review log's unique key with reviewed_at; and a CHECK that every row is before the month after
-- next, added NOT VALID and validated without a write lock, which lets the attach skip its scan.
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS login_days_history_pkey ON login_days (id, day);
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS flashcard_reviews_history_pkey ON flashcard_reviews (id, reviewed_at);
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS flashcard_reviews_user_card_number_time_key
    ON flashcard_reviews (user_clerk_id, flashcard_id, review_number, reviewed_at);
DO $$
DECLARE
    bound date := (date_trunc('month', now() AT TIME ZONE 'UTC') + interval '2 months')::date;
BEGIN
    -- (a log partitioned already, by convert_live, needs no bound)
    IF NOT EXISTS (SELECT FROM pg_constraint WHERE conname = 'login_days_history_bound')
       AND (SELECT relkind FROM pg_class WHERE oid = 'login_days'::regclass) = 'r' THEN
        EXECUTE format('ALTER TABLE login_days ADD CONSTRAINT login_days_history_bound CHECK (day < %L) NOT VALID', bound);
    END IF;
    IF NOT EXISTS (SELECT FROM pg_constraint WHERE conname = 'flashcard_reviews_history_bound')
       AND (SELECT relkind FROM pg_class WHERE oid = 'flashcard_reviews'::regclass) = 'r' THEN
        EXECUTE format('ALTER TABLE flashcard_reviews ADD CONSTRAINT flashcard_reviews_history_bound'
                       ' CHECK (reviewed_at < %L) NOT VALID', bound::text || ' 00:00:00+00');
    END IF;
END
$$;
-- Validating takes a SHARE UPDATE EXCLUSIVE lock: writes go on. In a DO block, as one that is done
-- is skipped on a rerun.
DO $$
BEGIN
    IF (SELECT NOT convalidated FROM pg_constraint WHERE conname = 'login_days_history_bound') THEN
        ALTER TABLE login_days VALIDATE CONSTRAINT login_days_history_bound;
    END IF;
    IF (SELECT NOT convalidated FROM pg_constraint WHERE conname = 'flashcard_reviews_history_bound') THEN
        ALTER TABLE flashcard_reviews VALIDATE CONSTRAINT flashcard_reviews_history_bound;
    END IF;
END
$$;
