-- Whether a text is a date or timestamp the uploads accept (ISO 8601: 2026-03-01,
-- 2026-03-01T09:30, 2026-03-01 09:30:00.5+02:00, ...Z), so a cast after it cannot fail: COPY
-- stages text, and one bad date must be that row's error, not the whole statement's.
-- Plain SQL (inlined by the planner): no subtransaction per row as an EXCEPTION block would cost.
CREATE FUNCTION proximity_ingest.is_timestamp(p_value text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
SELECT coalesce((
    SELECT m[2]::int BETWEEN 1 AND 12
       AND m[3]::int BETWEEN 1 AND extract(
               day FROM make_date(m[1]::int, m[2]::int, 1) + interval '1 month - 1 day')
       AND coalesce(m[4]::int, 0) <= 23
       AND coalesce(m[5]::int, 0) <= 59
       AND coalesce(m[6]::numeric, 0) < 60
      FROM regexp_match(
               p_value,
               '^\s*([1-9][0-9]{3})-([0-9]{2})-([0-9]{2})'
               '(?:[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2}(?:\.[0-9]{1,6})?))?)?'
               '\s*(?:[Zz]|[+-](?:0[0-9]|1[0-5])(?::?[0-5][0-9])?)?\s*$'
           ) AS m
     WHERE m IS NOT NULL
), false)
$fn$;
