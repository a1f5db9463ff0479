-- One subject's KPI set for a period, its previous period and the same period a year earlier,
-- in one pass over the subject's opportunities (an index-only range scan of
-- ix_opportunity_kpi_rep / ix_opportunity_kpi_territory). {subject} and {activity_subject} are
-- fixed fragments chosen by the repository, never caller text.
WITH subject AS MATERIALIZED (
    SELECT o.status, o.amount_reporting AS amount, o.opened_at, o.created_at, o.closed_at,
           o.account_id
      FROM opportunity o
     WHERE o.tenant_id = :tenant_id AND {subject}
       AND (o.closed_at >= :scan_from OR o.closed_at IS NULL)
), totals AS (
    SELECT
        sum(amount) FILTER (WHERE status = 'won' AND closed_at >= :start_at AND closed_at < :end_at)
            AS revenue,
        count(*) FILTER (WHERE status = 'won' AND closed_at >= :start_at AND closed_at < :end_at)
            AS won_count,
        count(*) FILTER (WHERE status = 'lost' AND closed_at >= :start_at AND closed_at < :end_at)
            AS lost_count,
        sum(amount) FILTER (
            WHERE status = 'won' AND closed_at >= :previous_start_at AND closed_at < :previous_end_at
        ) AS previous_revenue,
        sum(amount) FILTER (
            WHERE status = 'won' AND closed_at >= :year_ago_start_at AND closed_at < :year_ago_end_at
        ) AS year_ago_revenue,
        avg(extract(epoch FROM closed_at - opened_at) / 86400.0) FILTER (
            WHERE status = 'won' AND closed_at >= :start_at AND closed_at < :end_at
              AND opened_at IS NOT NULL
        ) AS sales_cycle_days,
        -- Open at the moment :as_of: opened before it, and still open or closed after it.
        sum(amount) FILTER (
            WHERE coalesce(opened_at, created_at) < :as_of
              AND (status = 'open' OR closed_at >= :as_of)
        ) AS open_pipeline,
        count(*) FILTER (
            WHERE coalesce(opened_at, created_at) < :as_of
              AND (status = 'open' OR closed_at >= :as_of)
        ) AS open_count
      FROM subject
), new_customers AS (
    -- Accounts whose first won opportunity (in any territory, with any rep) closed in the period.
    SELECT count(DISTINCT s.account_id) AS new_customers
      FROM subject s
     WHERE s.status = 'won' AND s.closed_at >= :start_at AND s.closed_at < :end_at
       AND s.account_id IS NOT NULL
       AND NOT EXISTS (
           SELECT FROM opportunity earlier
            WHERE earlier.tenant_id = :tenant_id AND earlier.account_id = s.account_id
              AND earlier.status = 'won' AND earlier.closed_at < :start_at
       )
)
SELECT totals.*, new_customers.new_customers,
       (SELECT count(*) FROM activity a
         WHERE a.tenant_id = :tenant_id AND {activity_subject}
           AND a.occurred_at >= :start_at AND a.occurred_at < :end_at) AS activities,
       (SELECT sum(q.amount) FROM quota q
         WHERE q.tenant_id = :tenant_id AND {quota_subject}
           AND q.period_start >= :start_day AND q.period_end <= :end_day) AS own_quota,
       (SELECT sum(q.amount) FROM quota q
         WHERE q.tenant_id = :tenant_id AND {quota_descendants}
           AND q.period_start >= :start_day AND q.period_end <= :end_day) AS descendant_quota
  FROM totals, new_customers
