-- Every tenant's proximity graph version and tie count, for the proximity service to build the largest-used
-- graphs before it reports ready (a restart must not make the first rankings wait). The
-- services' role sees one tenant's rows at a time (row-level security, FORCEd even on the
-- owner), so this owner's function binds each tenant in turn; it returns ids and counters only.
CREATE FUNCTION proximity_ingest.graph_versions()
RETURNS TABLE (tenant_id uuid, version bigint, ties bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
DECLARE
    previous text := current_setting('app.tenant_id', true);
    t record;
BEGIN
    FOR t IN SELECT id FROM tenant LOOP
        PERFORM set_config('app.tenant_id', t.id::text, true);
        RETURN QUERY SELECT v.tenant_id, v.version, (SELECT count(*) FROM connection)
                       FROM proximity_graph_version v;
    END LOOP;
    PERFORM set_config('app.tenant_id', coalesce(previous, ''), true);
END
$fn$;
