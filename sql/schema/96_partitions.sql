-- Append-only logs partitioned by month (docs/scaling.md says why native partitioning, which tables,
-- and which keys changed). A partitioned log is: `<table>_history` (everything before the first
-- monthly partition: the original table itself, attached in place, so converting a big table copies
-- nothing), one `<table>_pYYYYMM` per month after it, and `<table>_default` for rows past the last
-- month created (`learnstore maintain` moves them out; `learnstore doctor` warns about them).
-- learnstore.partitions.PARTITIONED names the tables; maintain() adds months ahead and drops the
-- months past a table's retention.

-- The first day of the month after `at`'s, in UTC: partition bounds do not depend on the session's
-- time zone.
CREATE FUNCTION learnstore_next_month(at timestamptz) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT (date_trunc('month', at AT TIME ZONE 'UTC') + interval '1 month')::date;
$$;

-- A partition bound as a literal of the partition column's type (date or timestamptz, in UTC).
CREATE FUNCTION learnstore_partition_bound(parent regclass, month date) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN format_type(a.atttypid, NULL) = 'date' THEN quote_literal(month::text)
                ELSE quote_literal(month::text || ' 00:00:00+00') END
    FROM pg_partitioned_table p
    JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]
    WHERE p.partrelid = parent;
$$;

-- Names a partition's indexes `<partition>_<what the parent's index is named for>`: PostgreSQL
-- reports a unique violation by the partition's index, and learnstore.errors maps such a name back
-- to the parent's constraint (login_days_p202701_user_day_key -> login_days_user_day_key).
CREATE FUNCTION learnstore_name_partition_indexes(parent regclass, part regclass) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = public, pg_temp AS $$
DECLARE
    base text := (SELECT relname FROM pg_class WHERE oid = parent);
    r record;
BEGIN
    FOR r IN SELECT ci.relname AS child, left((SELECT relname FROM pg_class WHERE oid = part)
                    || substr(pi.relname, length(base) + 1), 63) AS wanted
             FROM pg_index i JOIN pg_class ci ON ci.oid = i.indexrelid
             JOIN pg_inherits h ON h.inhrelid = i.indexrelid JOIN pg_class pi ON pi.oid = h.inhparent
             WHERE i.indrelid = part LOOP
        IF r.child <> r.wanted THEN
            EXECUTE format('ALTER INDEX %I RENAME TO %I', r.child, r.wanted);
        END IF;
    END LOOP;
END
$$;

-- Creates the monthly partitions of `parent` from the end of its last range partition up to (not
-- including) `until`, and its default partition if it has none; returns the partitions created.
-- Rows already in the default partition for a new month move into it: the default is detached for
-- the move (a brief ACCESS EXCLUSIVE lock on the parent), because PostgreSQL refuses a partition
-- whose range the default partition holds rows of.
CREATE FUNCTION learnstore_add_month_partitions(parent regclass, until date) RETURNS SETOF text
-- Bounds print in the session's time zone: UTC makes them read back as written.
LANGUAGE plpgsql VOLATILE SET search_path = public, pg_temp SET TimeZone = 'UTC' AS $$
DECLARE
    base text := (SELECT relname FROM pg_class WHERE oid = parent);
    col text := (SELECT quote_ident(a.attname) FROM pg_partitioned_table p
                 JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]
                 WHERE p.partrelid = parent);
    dflt text := base || '_default';
    month date;
    stop text;
    part text;
    moving boolean;
BEGIN
    IF col IS NULL THEN
        RAISE EXCEPTION '% is not partitioned', parent USING ERRCODE = 'wrong_object_type';
    END IF;
    -- The upper bound of the last range partition: the text after TO in its bound expression.
    SELECT max(substring(pg_get_expr(c.relpartbound, c.oid) FROM 'TO \(''([0-9-]{10})')::date)
    INTO month
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = parent AND pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT';
    IF month IS NULL THEN
        RAISE EXCEPTION '% has no range partition to continue from', parent
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    IF to_regclass(quote_ident(dflt)) IS NULL THEN
        EXECUTE format('CREATE TABLE %I PARTITION OF %s DEFAULT', dflt, parent);
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', dflt);
        PERFORM learnstore_name_partition_indexes(parent, dflt::regclass);
        RETURN NEXT dflt;
    END IF;
    WHILE month < until LOOP
        part := format('%s_p%s', base, to_char(month, 'YYYYMM'));
        stop := learnstore_partition_bound(parent, (month + interval '1 month')::date);
        EXECUTE format('SELECT EXISTS (SELECT FROM %I WHERE %s >= %s AND %s < %s)',
                       dflt, col, learnstore_partition_bound(parent, month), col, stop)
        INTO moving;
        IF moving THEN
            EXECUTE format('ALTER TABLE %s DETACH PARTITION %I', parent, dflt);
        END IF;
        EXECUTE format('CREATE TABLE %I PARTITION OF %s FOR VALUES FROM (%s) TO (%s)',
                       part, parent, learnstore_partition_bound(parent, month), stop);
        -- Reached only through the parent, whose grants and policies apply: a partition has no
        -- grant, and row-level security on with no policy refuses it to any role but its owner.
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', part);
        PERFORM learnstore_name_partition_indexes(parent, part::regclass);
        IF moving THEN
            EXECUTE format('WITH moved AS (DELETE FROM %I WHERE %s >= %s AND %s < %s RETURNING *)'
                           ' INSERT INTO %I SELECT * FROM moved',
                           dflt, col, learnstore_partition_bound(parent, month), col, stop, part);
            EXECUTE format('ALTER TABLE %s ATTACH PARTITION %I DEFAULT', parent, dflt);
        END IF;
        RETURN NEXT part;
        month := (month + interval '1 month')::date;
    END LOOP;
END
$$;

-- Turns the plain table `tbl` into a table partitioned by month on `col`, in place: `tbl` is renamed
-- `<tbl>_history` and attached as the partition of every value before `until` (default: the month
-- after next, or after the column's latest value, whichever is later); a parent takes the name, the
-- columns, the keys, checks, foreign keys, indexes, triggers, comment, grants and policies; monthly
-- partitions follow up to `ahead` months after `until`. Every unique key must contain `col`; a
-- primary key that does not becomes (key..., col), on a unique index `<tbl>_history_pkey` if one was
-- built beforehand (learnstore.partitions.convert_live builds it concurrently). A validated CHECK
-- `<tbl>_history_bound` (col < until) lets the attach skip its scan; without one it is added here,
-- which scans the table under this transaction's lock. Views on the table would follow the rename:
-- refused, as is a table another table's foreign key references. A table partitioned
-- on `col` already is left as it is.
CREATE FUNCTION learnstore_partition_by_month(tbl regclass, col name, until date DEFAULT NULL, ahead integer DEFAULT 3)
RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = public, pg_temp SET TimeZone = 'UTC' AS $$
DECLARE
    base text := (SELECT relname FROM pg_class WHERE oid = tbl AND relkind = 'r');
    hist text := (SELECT relname FROM pg_class WHERE oid = tbl) || '_history';
    comment text := obj_description(tbl, 'pg_class');
    pk_columns text;
    r record;
    keys text[] := '{}';
    indexes text[] := '{}';
    fkeys text[] := '{}';
    triggers text[] := '{}';
    statement text;
BEGIN
    -- Partitioned already on this column (by convert_live, before the migration): nothing to do.
    IF EXISTS (SELECT FROM pg_partitioned_table p JOIN pg_attribute a ON a.attrelid = p.partrelid
               WHERE p.partrelid = tbl AND a.attnum = p.partattrs[0] AND a.attname = col) THEN
        RETURN;
    END IF;
    IF base IS NULL THEN
        RAISE EXCEPTION '% is not a plain table', tbl USING ERRCODE = 'wrong_object_type';
    END IF;
    IF EXISTS (SELECT FROM pg_constraint WHERE confrelid = tbl AND contype = 'f') THEN
        RAISE EXCEPTION 'a foreign key references %', tbl USING ERRCODE = 'dependent_objects_still_exist';
    END IF;
    IF EXISTS (SELECT FROM pg_depend d JOIN pg_rewrite w ON w.oid = d.objid
               WHERE d.refobjid = tbl AND d.classid = 'pg_rewrite'::regclass AND w.ev_class <> tbl) THEN
        RAISE EXCEPTION 'a view reads %', tbl USING ERRCODE = 'dependent_objects_still_exist';
    END IF;
    IF until IS NULL THEN
        -- the bound of a validated check made beforehand (convert_live, 0019_logs_keys), else the
        -- month after next: a user's local day can be tomorrow's, in next month, already
        until := (SELECT substring(pg_get_constraintdef(oid) FROM '([0-9]{4}-[0-9]{2}-[0-9]{2})')::date
                  FROM pg_constraint WHERE conrelid = tbl AND conname = hist || '_bound' AND convalidated);
    END IF;
    IF until IS NULL THEN
        EXECUTE format('SELECT greatest(learnstore_next_month(now() + interval ''1 month''),'
                       ' learnstore_next_month(max(%I))) FROM %s', col, tbl)
        INTO until;
    END IF;

    -- What the parent takes over, read before the renames.
    FOR r IN SELECT k.conname, k.contype, pg_get_constraintdef(k.oid) AS def,
                    array(SELECT a.attname::text FROM unnest(k.conkey) AS u(n)
                          JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n) AS columns
             FROM pg_constraint k WHERE k.conrelid = tbl AND k.contype IN ('p', 'u') ORDER BY k.conname LOOP
        IF r.contype = 'u' AND NOT col::text = ANY (r.columns) THEN
            RAISE EXCEPTION 'unique key % of % does not contain %', r.conname, tbl, col
                USING ERRCODE = 'invalid_table_definition';
        ELSIF r.contype = 'p' THEN
            pk_columns := array_to_string(array(SELECT quote_ident(c) FROM unnest(r.columns
                || CASE WHEN col::text = ANY (r.columns) THEN '{}'::text[] ELSE ARRAY[col::text] END) AS c), ', ');
            keys := keys || format('ALTER TABLE %I ADD CONSTRAINT %I PRIMARY KEY (%s)', base, r.conname, pk_columns);
        ELSE
            keys := keys || format('ALTER TABLE %I ADD CONSTRAINT %I %s', base, r.conname, r.def);
        END IF;
    END LOOP;
    FOR r IN SELECT pg_get_indexdef(i.indexrelid) AS def, i.indisunique
             FROM pg_index i
             WHERE i.indrelid = tbl AND NOT EXISTS (SELECT FROM pg_constraint k WHERE k.conindid = i.indexrelid)
               AND (SELECT relname FROM pg_class WHERE oid = i.indexrelid) <> hist || '_pkey' LOOP
        IF r.indisunique THEN
            RAISE EXCEPTION 'a unique index of % is not a constraint: %', tbl, r.def
                USING ERRCODE = 'invalid_table_definition';
        END IF;
        indexes := indexes || r.def;
    END LOOP;
    fkeys := array(SELECT format('ALTER TABLE %I ADD CONSTRAINT %I %s', base, conname, pg_get_constraintdef(oid))
                   FROM pg_constraint WHERE conrelid = tbl AND contype = 'f' ORDER BY conname);
    triggers := array(SELECT pg_get_triggerdef(oid) FROM pg_trigger
                      WHERE tgrelid = tbl AND NOT tgisinternal ORDER BY tgname);

    -- The old table's primary key takes the partition column: on the index built beforehand, or
    -- built here (under this transaction's lock).
    IF to_regclass(quote_ident(hist || '_pkey')) IS NOT NULL
       AND NOT EXISTS (SELECT FROM pg_constraint WHERE conrelid = tbl AND contype = 'p'
                       AND conindid = to_regclass(quote_ident(hist || '_pkey'))) THEN
        FOR r IN SELECT conname FROM pg_constraint WHERE conrelid = tbl AND contype = 'p' LOOP
            EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', tbl, r.conname);
        END LOOP;
        EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I PRIMARY KEY USING INDEX %I', tbl, hist || '_pkey', hist || '_pkey');
    ELSIF NOT EXISTS (SELECT FROM pg_constraint k JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = ANY (k.conkey)
                      WHERE k.conrelid = tbl AND k.contype = 'p' AND a.attname = col) THEN
        FOR r IN SELECT conname FROM pg_constraint WHERE conrelid = tbl AND contype = 'p' LOOP
            EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', tbl, r.conname);
        END LOOP;
        EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I PRIMARY KEY (%s)', tbl, hist || '_pkey', pk_columns);
    END IF;

    -- The old table becomes the history partition: its index names (schema-wide) make room for the
    -- parent's; its check and foreign-key names stay, since attaching matches those by name and
    -- definition. Triggers move to the parent, which clones them onto every partition.
    EXECUTE format('ALTER TABLE %s RENAME TO %I', tbl, hist);
    FOR r IN SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
             WHERE i.indrelid = tbl AND left(c.relname, length(hist)) <> hist LOOP
        EXECUTE format('ALTER INDEX %I RENAME TO %I', r.relname,
                       left(hist || substr(r.relname, length(base) + 1), 63));
    END LOOP;
    FOR r IN SELECT tgname FROM pg_trigger WHERE tgrelid = tbl AND NOT tgisinternal LOOP
        EXECUTE format('DROP TRIGGER %I ON %I', r.tgname, hist);
    END LOOP;
    IF NOT EXISTS (SELECT FROM pg_constraint WHERE conrelid = tbl AND conname = hist || '_bound' AND convalidated) THEN
        EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (%I < %s)', hist, hist || '_bound', col,
                       CASE WHEN (SELECT format_type(atttypid, NULL) FROM pg_attribute WHERE attrelid = tbl AND attname = col) = 'date'
                            THEN quote_literal(until::text) ELSE quote_literal(until::text || ' 00:00:00+00') END);
    END IF;

    EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING GENERATED'
                   ' INCLUDING STORAGE INCLUDING COMMENTS) PARTITION BY RANGE (%I)', base, hist, col);
    -- LIKE copied the bound check too: the parent must not have it.
    EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', base, hist || '_bound');
    EXECUTE format('COMMENT ON TABLE %I IS %L', base, comment);
    FOREACH statement IN ARRAY keys || indexes || fkeys || triggers LOOP
        EXECUTE statement;
    END LOOP;
    EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (MINVALUE) TO (%s)',
                   base, hist, learnstore_partition_bound(base::regclass, until));
    EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', hist, hist || '_bound');

    -- Who may do what moves to the parent: its grants (table and column) and its row-level security.
    FOR r IN SELECT a.grantee::regrole::text AS grantee, a.privilege_type
             FROM pg_class c, aclexplode(c.relacl) a
             WHERE c.oid = tbl AND a.grantee <> c.relowner AND a.grantee <> 0 LOOP
        EXECUTE format('GRANT %s ON %I TO %s', r.privilege_type, base, r.grantee);
        EXECUTE format('REVOKE %s ON %I FROM %s', r.privilege_type, hist, r.grantee);
    END LOOP;
    FOR r IN SELECT a.grantee::regrole::text AS grantee, a.privilege_type, quote_ident(t.attname) AS attname
             FROM pg_attribute t, aclexplode(t.attacl) a
             WHERE t.attrelid = tbl AND t.attacl IS NOT NULL AND a.grantee <> 0 LOOP
        EXECUTE format('GRANT %s (%s) ON %I TO %s', r.privilege_type, r.attname, base, r.grantee);
        EXECUTE format('REVOKE %s (%s) ON %I FROM %s', r.privilege_type, r.attname, hist, r.grantee);
    END LOOP;
    IF (SELECT relrowsecurity FROM pg_class WHERE oid = tbl) THEN
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', base);
    END IF;
    IF (SELECT relforcerowsecurity FROM pg_class WHERE oid = tbl) THEN
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', base);
    END IF;
    FOR r IN SELECT p.polname,
                    CASE WHEN p.polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END AS kind,
                    CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                                  WHEN 'd' THEN 'DELETE' ELSE 'ALL' END AS command,
                    array_to_string(array(SELECT CASE WHEN g = 0 THEN 'PUBLIC' ELSE g::regrole::text END
                                          FROM unnest(p.polroles) AS g), ', ') AS roles,
                    pg_get_expr(p.polqual, p.polrelid) AS qual, pg_get_expr(p.polwithcheck, p.polrelid) AS checked
             FROM pg_policy p WHERE p.polrelid = tbl ORDER BY p.polname LOOP
        EXECUTE format('CREATE POLICY %I ON %I AS %s FOR %s TO %s%s%s', r.polname, base, r.kind, r.command, r.roles,
                       CASE WHEN r.qual IS NULL THEN '' ELSE ' USING (' || r.qual || ')' END,
                       CASE WHEN r.checked IS NULL THEN '' ELSE ' WITH CHECK (' || r.checked || ')' END);
        EXECUTE format('DROP POLICY %I ON %I', r.polname, hist);
    END LOOP;
    -- The history partition, like every partition, is reached only through the parent.
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', hist);
    PERFORM learnstore_add_month_partitions(base::regclass, (until + make_interval(months => ahead))::date);
END
$$;

-- The logs (learnstore.partitions.PARTITIONED). flashcard_reviews' unique key has held reviewed_at
-- since migration 0019 (75_flashcards_fsrs.sql says why).
SELECT learnstore_partition_by_month('login_days', 'day');
SELECT learnstore_partition_by_month('flashcard_reviews', 'reviewed_at');
