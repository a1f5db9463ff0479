-- The upload's good rows whose external id the tenant has, where anything differs: replaced
-- (a re-upload of the same file changes nothing and records no history). $1 tenant id.
UPDATE opportunity o
   SET name = g.name, account_id = g.account_id, rep_id = g.rep_id,
       territory_id = g.territory_id, stage = g.stage, status = g.status, amount = g.amount,
       currency = g.currency, amount_reporting = g.amount_reporting, opened_at = g.opened_at,
       closed_at = g.closed_at, updated_at = now()
  FROM {typed} g
 WHERE o.tenant_id = $1 AND o.external_id = g.external_id AND g.problems = '{{}}'
   AND (o.name, o.account_id, o.rep_id, o.territory_id, o.stage, o.status, o.amount,
        o.currency, o.amount_reporting, o.opened_at, o.closed_at)
       IS DISTINCT FROM
       (g.name, g.account_id, g.rep_id, g.territory_id, g.stage, g.status,
        g.amount, g.currency, g.amount_reporting, g.opened_at, g.closed_at)
