-- Foundation: the helpers every domain's tables use.

-- Every table's id: a UUID version 7, whose first 48 bits are the time in milliseconds, so a new
-- row's key lands on the index's right edge instead of a random leaf (migration 0035; PostgreSQL 18
-- builds in uuidv7() under this name).
CREATE FUNCTION uuidv7() RETURNS uuid
LANGUAGE sql VOLATILE PARALLEL SAFE
RETURN encode(
    -- the version nibble (byte 6's high bits, numbered 52-55 from that byte's low bit): 0100 -> 0111
    set_bit(set_bit(
        -- bytes 0-5: milliseconds since 1970, big-endian; the rest random, as gen_random_uuid() made it
        overlay(uuid_send(gen_random_uuid())
                PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
                FROM 1 FOR 6),
        52, 1), 53, 1),
    'hex')::uuid;

-- Keeps updated_at honest: a caller cannot forget it, or set it to anything but the time of the change.
CREATE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

-- True when tz is an IANA time zone PostgreSQL knows. IMMUTABLE so a CHECK may call it: the zone
-- database changes only with a PostgreSQL upgrade, and a zone is never removed from it.
CREATE FUNCTION is_time_zone(tz text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
BEGIN
    PERFORM now() AT TIME ZONE tz;
    RETURN true;
EXCEPTION WHEN invalid_parameter_value THEN
    RETURN false;
END
$$;

-- True when s holds something other than whitespace.
CREATE FUNCTION is_not_blank(s text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN btrim(s, E' \t\r\n') <> '';

-- The lock that derived state kept by triggers takes before it reads (migration 0041): two writers of
-- one key (a learner, a learner's enrolment) in different transactions do not see each other's
-- uncommitted rows, so each locks the key for its transaction, then reads in a later statement, after
-- the other committed (READ COMMITTED). A writer that changes the key's state locks it exclusively,
-- one that only copies it shared (those need not queue on each other). More than 32 keys, or none
-- given (NULL), take the scope's one exclusive lock instead (the lock table is finite), which every
-- per-key locker shares. Keys are locked in hash order, so two lockers never wait for each other
-- in a circle.
CREATE FUNCTION learnstore_keys_lock(p_scope text, p_keys text[], p_exclusive boolean) RETURNS void
LANGUAGE plpgsql VOLATILE SET search_path = public, pg_temp AS $$
BEGIN
    IF p_keys IS NULL OR cardinality(p_keys) > 32 THEN
        PERFORM pg_advisory_xact_lock(hashtext(p_scope));
    ELSIF p_exclusive THEN
        PERFORM pg_advisory_xact_lock_shared(hashtext(p_scope));
        PERFORM pg_advisory_xact_lock(hashtext(p_scope), k.key)
        FROM (SELECT DISTINCT hashtext(r.key) AS key FROM unnest(p_keys) AS r (key) ORDER BY 1) AS k;
    ELSE
        PERFORM pg_advisory_xact_lock_shared(hashtext(p_scope));
        PERFORM pg_advisory_xact_lock_shared(hashtext(p_scope), k.key)
        FROM (SELECT DISTINCT hashtext(r.key) AS key FROM unnest(p_keys) AS r (key) ORDER BY 1) AS k;
    END IF;
END
$$;
REVOKE EXECUTE ON FUNCTION learnstore_keys_lock(text, text[], boolean) FROM PUBLIC;
