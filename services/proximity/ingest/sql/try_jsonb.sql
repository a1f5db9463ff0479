-- Text to jsonb, NULL when it is not JSON: a bad line of a JSON-lines upload becomes that row's
-- error in one set-based statement. Catching the error opens a subtransaction, which a
-- parallel worker may not: PARALLEL UNSAFE.
CREATE FUNCTION proximity_ingest.try_jsonb(p_text text) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL UNSAFE AS $fn$
BEGIN
    RETURN p_text::jsonb;
EXCEPTION WHEN others THEN
    RETURN NULL;
END;
$fn$;
