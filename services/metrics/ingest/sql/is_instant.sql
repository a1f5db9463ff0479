-- Whether an upload's text is an ISO 8601 date or date-time that ::timestamptz takes (a date
-- alone is local midnight, a time without offset local time: the job's session runs in the
-- tenant's time zone). A plain SQL expression the planner inlines: no exception block per row,
-- so ten million rows are checked at the cost of a regular expression each. PostgreSQL 15 has
-- no pg_input_is_valid; the day is checked against its month here.
-- Loaded by the migration 4b9e2c7a1d63; a change here needs a migration that reloads it.
CREATE OR REPLACE FUNCTION metrics_import.is_instant(v text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
SELECT CASE
    WHEN v ~ '^[12]\d{3}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])([T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?)?(Z|[+-](0\d|1[0-5])(:?[0-5]\d)?)?$'
    THEN substr(v, 9, 2) <= '28'
      OR substr(v, 9, 2) <= CASE substr(v, 6, 2)
             WHEN '02' THEN CASE WHEN (substr(v, 1, 4)::int % 4 = 0
                                       AND substr(v, 1, 4)::int % 100 <> 0)
                                      OR substr(v, 1, 4)::int % 400 = 0
                                 THEN '29' ELSE '28' END
             WHEN '04' THEN '30' WHEN '06' THEN '30' WHEN '09' THEN '30' WHEN '11' THEN '30'
             ELSE '31' END
    ELSE false
END
$fn$;
