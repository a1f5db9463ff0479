-- An activities upload, checked and typed in one pass ({raw} into {typed}; see
-- opportunities_validate.sql). $1 tenant id.
CREATE UNLOGGED TABLE {typed} AS
WITH parsed AS (
    SELECT r.row_number, r.invalid,
           nullif(btrim(r.external_id), '') AS external_id,
           lower(nullif(btrim(r.kind), '')) AS kind,
           nullif(btrim(r.occurred_at), '') AS occurred_text,
           nullif(btrim(r.rep_id), '') AS rep_id_text,
           nullif(btrim(r.rep_external_id), '') AS rep_external_id,
           nullif(btrim(r.account_id), '') AS account_id_text,
           nullif(btrim(r.account_external_id), '') AS account_external_id,
           nullif(btrim(r.territory_id), '') AS territory_id_text,
           nullif(btrim(r.opportunity_external_id), '') AS opportunity_external_id,
           nullif(btrim(r.duration_minutes), '') AS duration_text
      FROM {raw} r
), typed AS (
    SELECT p.*,
           CASE WHEN metrics_import.is_uuid(p.account_id_text) THEN p.account_id_text::uuid END
               AS account_id_given,
           CASE WHEN metrics_import.is_uuid(p.rep_id_text) THEN p.rep_id_text::uuid END AS rep_id_given,
           CASE WHEN metrics_import.is_uuid(p.territory_id_text) THEN p.territory_id_text::uuid END
               AS territory_id_given,
           CASE WHEN metrics_import.is_instant(p.occurred_text)
                THEN p.occurred_text::timestamptz END AS occurred_at,
           CASE WHEN p.duration_text ~ '^\d{{1,9}}$' THEN p.duration_text::int END
               AS duration_minutes
      FROM parsed p
), resolved AS (
    SELECT t.*,
           coalesce(account_by_external.id, account_by_id.id) AS account_id,
           coalesce(rep_by_external.id, rep_by_id.id) AS rep_id,
           territory.id AS territory_id,
           opportunity.id AS opportunity_id
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
      LEFT JOIN opportunity
             ON opportunity.tenant_id = $1 AND opportunity.external_id = t.opportunity_external_id
)
SELECT r.row_number, r.external_id, r.kind, r.occurred_at, r.rep_id, r.account_id,
       r.territory_id, r.opportunity_id, r.duration_minutes,
       array_remove(ARRAY[
           CASE WHEN r.invalid IS NOT NULL THEN 'line:' || r.invalid END,
           CASE WHEN r.invalid IS NULL AND r.external_id IS NULL
                THEN 'external_id:required: your CRM''s id of the activity, the upsert key'
                WHEN length(r.external_id) > 255 THEN 'external_id:longer than 255 characters'
           END,
           CASE WHEN r.invalid IS NULL AND r.kind IS NULL
                THEN 'kind:required: call, meeting, email, demo…'
                WHEN length(r.kind) > 50 THEN 'kind:longer than 50 characters' END,
           CASE WHEN r.invalid IS NULL AND r.occurred_text IS NULL THEN 'occurred_at:required'
                WHEN r.occurred_text IS NOT NULL AND r.occurred_at IS NULL
                THEN 'occurred_at:not an ISO 8601 date or date-time: '
                     || left(r.occurred_text, 40) END,
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
           CASE WHEN r.opportunity_external_id IS NOT NULL AND r.opportunity_id IS NULL
                THEN 'opportunity_external_id:no opportunity with external id '
                     || left(r.opportunity_external_id, 100) || ' in this tenant' END,
           CASE WHEN r.duration_text IS NOT NULL AND r.duration_minutes IS NULL
                THEN 'duration_minutes:not a whole number of minutes (0 or more): '
                     || left(r.duration_text, 20) END
       ], NULL) AS problems
  FROM resolved r
