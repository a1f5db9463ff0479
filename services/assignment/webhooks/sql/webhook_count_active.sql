-- Which tenants the webhook delivery pump visits. Row-level security is forced on the webhook
-- tables (their owner sees only the tenant of app.tenant_id too), so the pump, bound to no
-- tenant, cannot list subscriptions itself; a trigger counts each tenant's active ones on the
-- (unforced) tenant row instead, and ``webhook_pump_tenants`` reads those counts.
-- Loaded by the migration 51fa9c9a3c03.
CREATE OR REPLACE FUNCTION webhook_count_active() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
DECLARE
    v_old int := CASE WHEN TG_OP IN ('UPDATE', 'DELETE') AND OLD.active THEN 1 ELSE 0 END;
    v_new int := CASE WHEN TG_OP IN ('UPDATE', 'INSERT') AND NEW.active THEN 1 ELSE 0 END;
BEGIN
    IF v_new <> v_old THEN
        -- An increment under the tenant row's lock: concurrent changes add up.
        UPDATE tenant SET active_webhooks = active_webhooks + v_new - v_old
         WHERE id = CASE WHEN TG_OP = 'DELETE' THEN OLD.tenant_id ELSE NEW.tenant_id END;
    END IF;
    RETURN NULL;
END;
$fn$;
