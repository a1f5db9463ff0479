-- Good rows whose external id the tenant has, where anything differs: replaced. $1 tenant id.
UPDATE quota q
   SET rep_id = g.rep_id, territory_id = g.territory_id, period_start = g.period_start,
       period_end = g.period_end, amount = g.amount
  FROM {typed} g
 WHERE q.tenant_id = $1 AND q.external_id = g.external_id AND g.problems = '{{}}'
   AND (q.rep_id, q.territory_id, q.period_start, q.period_end, q.amount)
       IS DISTINCT FROM (g.rep_id, g.territory_id, g.period_start, g.period_end, g.amount)
