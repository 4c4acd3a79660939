-- Timestamps as PostgreSQL keeps them: microseconds, with the UTC offset written out
-- (`2024-01-08T10:35:00.815000+00:00`). The legacy documents carry milliseconds and `Z`;
-- `fixtures/conversations.rules.toml` declares that difference for the harness.
CREATE FUNCTION iso_us(t timestamptz) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')
$$;
