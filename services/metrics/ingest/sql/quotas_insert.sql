-- Good rows the tenant does not have yet (ids in upload order). $1 tenant id.
INSERT INTO quota (id, tenant_id, external_id, rep_id, territory_id, period_start, period_end,
                   amount)
SELECT {ordered_id}, $1, g.external_id, g.rep_id, g.territory_id, g.period_start, g.period_end,
       g.amount
  FROM {typed} g
 WHERE g.problems = '{{}}'
   AND NOT EXISTS (SELECT FROM quota q WHERE q.tenant_id = $1 AND q.external_id = g.external_id)
ON CONFLICT (tenant_id, external_id) WHERE external_id IS NOT NULL DO NOTHING
