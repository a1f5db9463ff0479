-- The tenants the webhook delivery pump visits: those with an active subscription (counted
-- by webhook_count_active.sql). Loaded by the migration 51fa9c9a3c03.
CREATE OR REPLACE FUNCTION webhook_pump_tenants() RETURNS SETOF uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
    SELECT id FROM tenant WHERE active_webhooks > 0 ORDER BY id
$fn$;
