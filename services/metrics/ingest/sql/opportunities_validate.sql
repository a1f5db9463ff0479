-- An opportunities upload, checked and typed in one pass: {raw} (text, as staged) into {typed}.
-- Each row's problems go to ``problems`` as 'field:reason' (empty: the row is good); references
-- are resolved by hash joins on the tenant's accounts, reps, territories, rates and stages.
-- $1 tenant id, $2 reporting currency, $3 whether the tenant lists its stages.
CREATE UNLOGGED TABLE {typed} AS
WITH parsed AS (
    SELECT r.row_number, r.invalid,
           nullif(btrim(r.external_id), '') AS external_id,
           nullif(btrim(r.name), '') AS name,
           nullif(btrim(r.account_id), '') AS account_id_text,
           nullif(btrim(r.account_external_id), '') AS account_external_id,
           nullif(btrim(r.rep_id), '') AS rep_id_text,
           nullif(btrim(r.rep_external_id), '') AS rep_external_id,
           nullif(btrim(r.territory_id), '') AS territory_id_text,
           nullif(btrim(r.stage), '') AS stage,
           lower(nullif(btrim(r.status), '')) AS status_text,
           nullif(btrim(r.amount), '') AS amount_text,
           upper(nullif(btrim(r.currency), '')) AS currency_text,
           nullif(btrim(r.opened_at), '') AS opened_text,
           nullif(btrim(r.closed_at), '') AS closed_text
      FROM {raw} r
), typed AS (
    SELECT p.*,
           CASE WHEN metrics_import.is_uuid(p.account_id_text) THEN p.account_id_text::uuid END
               AS account_id_given,
           CASE WHEN metrics_import.is_uuid(p.rep_id_text) THEN p.rep_id_text::uuid END AS rep_id_given,
           CASE WHEN metrics_import.is_uuid(p.territory_id_text) THEN p.territory_id_text::uuid END
               AS territory_id_given,
           CASE WHEN p.amount_text ~ {amount_re} THEN p.amount_text::numeric END AS amount,
           CASE WHEN metrics_import.is_instant(p.opened_text) THEN p.opened_text::timestamptz END
               AS opened_at,
           CASE WHEN metrics_import.is_instant(p.closed_text) THEN p.closed_text::timestamptz END
               AS closed_at
      FROM parsed p
), resolved AS (
    SELECT t.*,
           coalesce(account_by_external.id, account_by_id.id) AS account_id,
           coalesce(rep_by_external.id, rep_by_id.id) AS rep_id,
           territory.id AS territory_id,
           stage.status::text AS stage_status,
           CASE WHEN coalesce(t.currency_text, $2) = $2 THEN 1 ELSE rate.rate END AS rate
      FROM typed t
      LEFT JOIN account account_by_external
             ON account_by_external.tenant_id = $1
            AND account_by_external.external_id = t.account_external_id
      LEFT JOIN account account_by_id
             ON account_by_id.tenant_id = $1 AND account_by_id.id = t.account_id_given
      LEFT JOIN rep rep_by_external
             ON rep_by_external.tenant_id = $1 AND rep_by_external.external_id = t.rep_external_id
      LEFT JOIN rep rep_by_id ON rep_by_id.tenant_id = $1 AND rep_by_id.id = t.rep_id_given
      LEFT JOIN territory ON territory.tenant_id = $1 AND territory.id = t.territory_id_given
      LEFT JOIN opportunity_stage stage ON stage.tenant_id = $1 AND stage.name = t.stage
      LEFT JOIN exchange_rate rate ON rate.tenant_id = $1 AND rate.currency = t.currency_text
)
SELECT r.row_number, r.external_id, left(coalesce(r.name, r.external_id), 300) AS name,
       r.account_id, r.rep_id, r.territory_id, r.stage,
       coalesce(r.status_text, r.stage_status, 'open') AS status,
       r.amount, coalesce(r.currency_text, $2) AS currency,
       round(r.amount * r.rate, 2) AS amount_reporting, r.opened_at, r.closed_at,
       array_remove(ARRAY[
           CASE WHEN r.invalid IS NOT NULL THEN 'line:' || r.invalid END,
           CASE WHEN r.invalid IS NULL AND r.external_id IS NULL
                THEN 'external_id:required: your CRM''s id of the opportunity, the upsert key' END,
           CASE WHEN length(r.external_id) > 255 THEN 'external_id:longer than 255 characters' END,
           CASE WHEN length(r.name) > 300 THEN 'name:longer than 300 characters' END,
           CASE WHEN r.account_id_text IS NOT NULL AND r.account_id_given IS NULL
                THEN 'account_id:not a UUID: ' || left(r.account_id_text, 60)
                WHEN r.account_id_given IS NOT NULL AND r.account_id IS NULL
                THEN 'account_id:no account ' || r.account_id_given || ' in this tenant' END,
           CASE WHEN r.account_external_id IS NOT NULL AND r.account_id IS NULL
                THEN 'account_external_id:no account with external id '
                     || left(r.account_external_id, 100) || ' in this tenant' END,
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
           CASE WHEN length(r.stage) > 100 THEN 'stage:longer than 100 characters'
                WHEN $3 AND r.stage IS NOT NULL AND r.stage_status IS NULL
                THEN 'stage:unknown stage ' || left(r.stage, 100)
                     || ': use one of GET /metrics/stages, or add it there first' END,
           CASE WHEN r.status_text IS NOT NULL AND r.status_text NOT IN ('open', 'won', 'lost')
                THEN 'status:' || left(r.status_text, 40) || ' is not open, won or lost'
                WHEN r.status_text IS NOT NULL AND r.stage_status IS NOT NULL
                     AND r.status_text <> r.stage_status
                THEN 'status:' || r.status_text || ' contradicts the stage ' || r.stage
                     || ', which means ' || r.stage_status END,
           CASE WHEN r.amount_text IS NULL THEN 'amount:required'
                WHEN r.amount IS NULL
                THEN 'amount:not a number with at most 16 digits before the point and 2 after: '
                     || left(r.amount_text, 40)
                WHEN r.amount < 0 THEN 'amount:negative amount ' || r.amount_text
                     || ': amounts are 0 or more (a lost deal is status lost)' END,
           CASE WHEN r.currency_text IS NOT NULL AND r.currency_text !~ '^[A-Z]{{3}}$'
                THEN 'currency:not an ISO 4217 code: ' || left(r.currency_text, 20)
                WHEN r.rate IS NULL
                THEN 'currency:unknown currency ' || r.currency_text
                     || ': no exchange rate to ' || $2
                     || '; set one with PUT /metrics/exchange-rates/' || r.currency_text END,
           CASE WHEN r.opened_text IS NOT NULL AND r.opened_at IS NULL
                THEN 'opened_at:not an ISO 8601 date or date-time: ' || left(r.opened_text, 40)
           END,
           CASE WHEN r.closed_text IS NOT NULL AND r.closed_at IS NULL
                THEN 'closed_at:not an ISO 8601 date or date-time: ' || left(r.closed_text, 40)
                WHEN r.closed_at IS NULL AND r.closed_text IS NULL
                     AND coalesce(r.status_text, r.stage_status) IN ('won', 'lost')
                THEN 'closed_at:required once the opportunity is won or lost'
                WHEN r.closed_at < r.opened_at THEN 'closed_at:before opened_at' END
       ], NULL) AS problems
  FROM resolved r
