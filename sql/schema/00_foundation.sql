-- Foundation: the helpers every domain's tables use.

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
