-- Good rows the tenant does not have yet (ids in upload order). $1 tenant id.
INSERT INTO activity (id, tenant_id, external_id, kind, occurred_at, rep_id, account_id,
                      territory_id, opportunity_id, duration_minutes)
SELECT {ordered_id}, $1, g.external_id, g.kind, g.occurred_at, g.rep_id, g.account_id,
       g.territory_id, g.opportunity_id, g.duration_minutes
  FROM {typed} g
 WHERE g.problems = '{{}}'
   AND NOT EXISTS (SELECT FROM activity a
                    WHERE a.tenant_id = $1 AND a.external_id = g.external_id)
ON CONFLICT (tenant_id, external_id) WHERE external_id IS NOT NULL DO NOTHING
