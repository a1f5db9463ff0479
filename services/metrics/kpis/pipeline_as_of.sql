-- Open pipeline of one subject as it stood at :as_of, per stage, from the stage history: each
-- opportunity's version valid at that instant (an index range scan of
-- ix_opportunity_history_rep / _territory), counted when it was open then (opened before, and
-- open or closed later). won_to_date: what those versions say was won from :start_at on,
-- for the quota still to cover at that instant (:won_until = the earlier of :as_of and the period's end). {subject} is a fixed fragment of the repository.
SELECT h.stage,
       count(*) FILTER (WHERE h.status = 'open' OR h.closed_at >= :as_of) AS open_count,
       coalesce(sum(h.amount_reporting) FILTER (WHERE h.status = 'open' OR h.closed_at >= :as_of),
                0) AS open_amount,
       coalesce(sum(h.amount_reporting) FILTER (
           WHERE h.status = 'won' AND h.closed_at >= :start_at AND h.closed_at < :won_until), 0)
           AS won_to_date,
       min(s.position) AS position
  FROM opportunity_history h
  LEFT JOIN opportunity_stage s ON s.tenant_id = h.tenant_id AND s.name = h.stage
 WHERE h.tenant_id = :tenant_id AND {subject}
   AND h.valid_from <= :as_of AND (h.valid_to IS NULL OR h.valid_to > :as_of)
   AND (h.opened_at IS NULL OR h.opened_at < :as_of)
 GROUP BY h.stage
 ORDER BY min(s.position) NULLS LAST, h.stage NULLS LAST
