-- A subject's closed-won revenue, wins, losses and activities per bucket; buckets are local
-- periods given as arrays of instants, so empty ones still answer (zeros). {subject} and
-- {activity_subject} are fixed fragments chosen by the repository.
SELECT b.bucket_start, b.bucket_end,
       coalesce(sum(o.amount_reporting) FILTER (WHERE o.status = 'won'), 0) AS revenue,
       count(o.id) FILTER (WHERE o.status = 'won') AS won_count,
       count(o.id) FILTER (WHERE o.status = 'lost') AS lost_count,
       (SELECT count(*) FROM activity a
         WHERE a.tenant_id = :tenant_id AND {activity_subject}
           AND a.occurred_at >= b.start_at AND a.occurred_at < b.end_at) AS activities
  FROM unnest(CAST(:starts AS timestamptz[]), CAST(:ends AS timestamptz[]),
              CAST(:start_days AS date[]), CAST(:end_days AS date[]))
       WITH ORDINALITY AS b(start_at, end_at, bucket_start, bucket_end, ordinal)
  LEFT JOIN opportunity o
    ON o.tenant_id = :tenant_id AND {subject}
   AND o.closed_at >= b.start_at AND o.closed_at < b.end_at
 GROUP BY b.ordinal, b.start_at, b.end_at, b.bucket_start, b.bucket_end
 ORDER BY b.ordinal
