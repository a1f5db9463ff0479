-- Good rows whose external id the tenant has, where anything differs: replaced. $1 tenant id.
UPDATE activity a
   SET kind = g.kind, occurred_at = g.occurred_at, rep_id = g.rep_id, account_id = g.account_id,
       territory_id = g.territory_id, opportunity_id = g.opportunity_id,
       duration_minutes = g.duration_minutes
  FROM {typed} g
 WHERE a.tenant_id = $1 AND a.external_id = g.external_id AND g.problems = '{{}}'
   AND (a.kind, a.occurred_at, a.rep_id, a.account_id, a.territory_id, a.opportunity_id,
        a.duration_minutes)
       IS DISTINCT FROM
       (g.kind, g.occurred_at, g.rep_id, g.account_id, g.territory_id, g.opportunity_id,
        g.duration_minutes)
