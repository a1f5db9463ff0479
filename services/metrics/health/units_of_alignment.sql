-- Every basic unit of the tenant with the leaf territory of the alignment holding its interior
-- point (ST_PointOnSurface: inside even for a concave unit), and the alignment's accounts
-- located in the unit, per the territory each account is placed in (spatial joins on the GiST
-- indexes of territory, basic_unit and account).
WITH leaf AS (
    SELECT t.id, t.geom
      FROM territory t
     WHERE t.tenant_id = :tenant_id AND t.alignment_id = :alignment_id
       AND NOT EXISTS (SELECT FROM territory c
                        WHERE c.tenant_id = :tenant_id AND c.parent_id = t.id)
), unit AS (
    SELECT u.code, u.geom,
           (SELECT l.id FROM leaf l
             WHERE l.geom IS NOT NULL AND ST_Intersects(l.geom, ST_PointOnSurface(u.geom))
             ORDER BY l.id LIMIT 1) AS territory_id
      FROM basic_unit u
     WHERE u.tenant_id = :tenant_id
)
SELECT unit.code, unit.territory_id, a.territory_id AS account_territory_id,
       count(a.id) AS accounts, coalesce(sum(a.potential), 0)::float8 AS potential
  FROM unit
  LEFT JOIN account a
         ON a.tenant_id = :tenant_id AND a.territory_id IN (SELECT id FROM leaf)
        AND ST_Intersects(unit.geom, a.location)
 GROUP BY unit.code, unit.territory_id, a.territory_id
 ORDER BY unit.code
