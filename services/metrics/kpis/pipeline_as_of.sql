-- Open pipeline of one subject as it stood at :as_of, per stage: each opportunity's version
-- valid at that instant (stage, amount, holder: an index range scan of
-- ix_opportunity_history_rep / _territory), counted when the opportunity was open then: opened
-- before it, and still open or closed after it (the opportunity's own dates, which a CRM may
-- report late: a win entered today but dated last month closes it last month).
-- won_to_date: what those opportunities won from :start_at to :won_until (the earlier of
-- :as_of and the period's end), for the quota still to cover at that instant.
-- {subject} is a fixed fragment of the repository.
SELECT h.stage,
       count(*) FILTER (WHERE o.status = 'open' OR o.closed_at >= :as_of) AS open_count,
       coalesce(sum(h.amount_reporting) FILTER (WHERE o.status = 'open' OR o.closed_at >= :as_of),
                0) AS open_amount,
       coalesce(sum(o.amount_reporting) FILTER (
           WHERE o.status = 'won' AND o.closed_at >= :start_at AND o.closed_at < :won_until), 0)
           AS won_to_date,
       min(s.position) AS position
  FROM opportunity_history h
  JOIN opportunity o ON o.id = h.opportunity_id AND o.tenant_id = h.tenant_id
  LEFT JOIN opportunity_stage s ON s.tenant_id = h.tenant_id AND s.name = h.stage
 WHERE h.tenant_id = :tenant_id AND {subject}
   AND h.valid_from <= :as_of AND (h.valid_to IS NULL OR h.valid_to > :as_of)
   AND coalesce(o.opened_at, o.created_at) < :as_of
 GROUP BY h.stage
 ORDER BY min(s.position) NULLS LAST, h.stage NULLS LAST
