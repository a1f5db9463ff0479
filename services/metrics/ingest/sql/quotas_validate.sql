-- A quotas upload, checked and typed in one pass ({raw} into {typed}; see
-- opportunities_validate.sql). $1 tenant id.
CREATE UNLOGGED TABLE {typed} AS
WITH parsed AS (
    SELECT r.row_number, r.invalid,
           nullif(btrim(r.external_id), '') AS external_id,
           nullif(btrim(r.rep_id), '') AS rep_id_text,
           nullif(btrim(r.rep_external_id), '') AS rep_external_id,
           nullif(btrim(r.territory_id), '') AS territory_id_text,
           nullif(btrim(r.period_start), '') AS start_text,
           nullif(btrim(r.period_end), '') AS end_text,
           nullif(btrim(r.amount), '') AS amount_text
      FROM {raw} r
), typed AS (
    SELECT p.*,
           CASE WHEN metrics_import.is_uuid(p.rep_id_text) THEN p.rep_id_text::uuid END AS rep_id_given,
           CASE WHEN metrics_import.is_uuid(p.territory_id_text) THEN p.territory_id_text::uuid END
               AS territory_id_given,
           CASE WHEN p.start_text ~ '^\d{{4}}-\d{{2}}-\d{{2}}$'
                     AND metrics_import.is_instant(p.start_text)
                THEN p.start_text::date END AS period_start,
           CASE WHEN p.end_text ~ '^\d{{4}}-\d{{2}}-\d{{2}}$'
                     AND metrics_import.is_instant(p.end_text)
                THEN p.end_text::date END AS period_end,
           CASE WHEN p.amount_text ~ {amount_re} THEN p.amount_text::numeric END AS amount
      FROM parsed p
), resolved AS (
    SELECT t.*, coalesce(rep_by_external.id, rep_by_id.id) AS rep_id,
           territory.id AS territory_id
      FROM typed t
      LEFT JOIN rep rep_by_external
             ON rep_by_external.tenant_id = $1 AND rep_by_external.external_id = t.rep_external_id
      LEFT JOIN rep rep_by_id ON rep_by_id.tenant_id = $1 AND rep_by_id.id = t.rep_id_given
      LEFT JOIN territory ON territory.tenant_id = $1 AND territory.id = t.territory_id_given
)
SELECT r.row_number, r.external_id, r.rep_id, r.territory_id, r.period_start, r.period_end,
       r.amount,
       array_remove(ARRAY[
           CASE WHEN r.invalid IS NOT NULL THEN 'line:' || r.invalid END,
           CASE WHEN r.invalid IS NULL AND r.external_id IS NULL
                THEN 'external_id:required: your id of the quota, the upsert key'
                WHEN length(r.external_id) > 255 THEN 'external_id:longer than 255 characters'
           END,
           CASE WHEN r.rep_id_text IS NOT NULL AND r.rep_id_given IS NULL
                THEN 'rep_id:not a UUID: ' || left(r.rep_id_text, 60)
                WHEN r.rep_id_given IS NOT NULL AND r.rep_id IS NULL
                THEN 'rep_id:no rep ' || r.rep_id_given || ' in this tenant' END,
           CASE WHEN r.rep_external_id IS NOT NULL AND r.rep_id IS NULL
                THEN 'rep_external_id:no rep with external id '
                     || left(r.rep_external_id, 100) || ' in this tenant' END,
           CASE WHEN r.territory_id_text IS NOT NULL AND r.territory_id_given IS NULL
                THEN 'territory_id:not a UUID: ' || left(r.territory_id_text, 60)
                WHEN r.territory_id_given IS NOT NULL AND r.territory_id IS NULL
                THEN 'territory_id:no territory ' || r.territory_id_given || ' in this tenant' END,
           CASE WHEN r.invalid IS NULL
                     AND (r.rep_id_text IS NULL AND r.rep_external_id IS NULL)
                         = (r.territory_id_text IS NULL)
                THEN 'rep_id:give exactly one subject: a rep (rep_id or rep_external_id) or '
                     || 'a territory_id' END,
           CASE WHEN r.invalid IS NULL AND r.start_text IS NULL THEN 'period_start:required'
                WHEN r.start_text IS NOT NULL AND r.period_start IS NULL
                THEN 'period_start:not an ISO 8601 date (YYYY-MM-DD): ' || left(r.start_text, 40)
           END,
           CASE WHEN r.invalid IS NULL AND r.end_text IS NULL THEN 'period_end:required'
                WHEN r.end_text IS NOT NULL AND r.period_end IS NULL
                THEN 'period_end:not an ISO 8601 date (YYYY-MM-DD): ' || left(r.end_text, 40)
                WHEN r.period_end <= r.period_start
                THEN 'period_end:must be after period_start (it is the day after the last)' END,
           CASE WHEN r.invalid IS NULL AND r.amount_text IS NULL THEN 'amount:required'
                WHEN r.amount_text IS NOT NULL AND r.amount IS NULL
                THEN 'amount:not a number with at most 16 digits before the point and 2 after: '
                     || left(r.amount_text, 40)
                WHEN r.amount < 0 THEN 'amount:negative amount ' || r.amount_text
                     || ': quotas are 0 or more' END
       ], NULL) AS problems
  FROM resolved r
