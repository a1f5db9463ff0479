-- Text to jsonb, NULL when it is not JSON: tells the bad lines of a JSON-lines upload apart in
-- one set-based statement. Catching the error
-- opens a subtransaction, which a parallel worker may not: PARALLEL UNSAFE.
-- Loaded by the migration 20b1bebcae2d; a change here needs a migration that reloads it.
CREATE OR REPLACE FUNCTION bulk_try_jsonb(p_text text) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL UNSAFE AS $fn$
BEGIN
    RETURN p_text::jsonb;
EXCEPTION WHEN others THEN
    RETURN NULL;
END;
$fn$;
