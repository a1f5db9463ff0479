-- Whether an upload's text is a UUID in its canonical 8-4-4-4-12 form, which ::uuid takes.
-- Cheaper than the bounded-repetition regular expression '^[0-9a-f]{8}-…' (measured ~13 µs a
-- row, the most expensive check of an upload): one unbounded character class and lengths.
-- Loaded by the migration 4b9e2c7a1d63; a change here needs a migration that reloads it.
CREATE OR REPLACE FUNCTION metrics_import.is_uuid(v text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
SELECT length(v) = 36 AND v ~ '^[0-9a-fA-F-]+$' AND length(replace(v, '-', '')) = 32
   AND substr(v, 9, 1) = '-' AND substr(v, 14, 1) = '-' AND substr(v, 19, 1) = '-'
   AND substr(v, 24, 1) = '-'
$fn$;
