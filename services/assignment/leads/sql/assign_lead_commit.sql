-- The write half of single-lead assignment, one statement: choose the rep, write the lead, the
-- assignment and the idempotency record. The row lock on the territory's turn counter (the narrow
-- territory_turn row, bumped first) serialises turns. When the matched territory has no rep to
-- give (nobody eligible, everyone at capacity) the lead escalates to the fallback territory: an
-- `escalation` step says so and the stored (and returned) matched_rule becomes 'fallback'.
-- Steps are typed data (services/assignment/leads/explanation.py is their schema and renders
-- their text); the bulk path writes the same steps (services/assignment/bulk/explanation.py).
-- Loaded by the migration 20b1bebcae2d; a change here needs a migration that reloads it (and a
-- snapshot of the replaced version under migrations/sql/ for its downgrade).
CREATE OR REPLACE FUNCTION assign_lead_commit(
    p_tenant uuid,
    p_alignment uuid,
    p_territory uuid,
    p_fallback uuid,
    p_fixed_rep uuid,
    p_ranked_reps uuid[],
    p_idempotency_key text,
    p_request_hash text,
    p_lead jsonb,
    p_account uuid,
    p_matched_rule text,
    p_explanation jsonb
) RETURNS TABLE (
    assignment_id uuid,
    lead_id uuid,
    territory_id uuid,
    rep_id uuid,
    rep_name text,
    distribution_rule text,
    explanation jsonb,
    created_at timestamptz,
    replayed boolean,
    stored_request_hash text,
    matched_rule text
)
LANGUAGE plpgsql AS $fn$
DECLARE
    v_record record;
    v_territory uuid := p_territory;
    v_rule text;
    v_required text[];
    v_turn bigint;
    v_rep uuid;
    v_candidates uuid[];
    v_n int;
    v_try uuid;
    v_steps jsonb := p_explanation;
    v_lead uuid := gen_random_uuid();
    v_assignment uuid := gen_random_uuid();
    v_pass int;
    v_note text;
    v_reason text;
    v_matched_rule text := p_matched_rule;
BEGIN
    IF p_idempotency_key IS NOT NULL THEN
        INSERT INTO idempotency_record AS r
            (tenant_id, key, method, path, request_hash, status_code, response_body)
        VALUES (p_tenant, p_idempotency_key, 'POST', '/assignment/leads', p_request_hash, 201,
                '{}'::jsonb)
        ON CONFLICT DO NOTHING;
        IF NOT FOUND THEN
            -- An earlier (or concurrent, now committed) request with this key: its answer.
            SELECT r.request_hash, (r.response_body ->> 'assignment_id')::uuid AS id
              INTO v_record
              FROM idempotency_record r
             WHERE r.tenant_id = p_tenant AND r.key = p_idempotency_key;
            RETURN QUERY
                SELECT a.id, a.lead_id, a.territory_id, a.rep_id, rp.name::text,
                       a.distribution_rule::text, a.explanation, a.created_at, true,
                       v_record.request_hash::text, a.matched_rule::text
                  FROM (SELECT 1) one
                  LEFT JOIN assignment a ON a.id = v_record.id AND a.tenant_id = p_tenant
                  LEFT JOIN rep rp ON rp.id = a.rep_id;
            RETURN;
        END IF;
    END IF;

    IF p_fixed_rep IS NOT NULL THEN
        v_rep := p_fixed_rep;
        UPDATE rep SET open_assignments = open_assignments + 1 WHERE id = v_rep;
    ELSE
        -- The matched territory first; when it has no rep to give, the fallback territory.
        FOR v_pass IN 1..2 LOOP
            EXIT WHEN v_rep IS NOT NULL;
            IF v_pass = 2 THEN
                EXIT WHEN p_fallback IS NULL OR p_fallback = v_territory;
                -- The lead goes elsewhere than its rule said: the explanation and the final
                -- rule say where and why.
                v_steps := v_steps || jsonb_build_array(jsonb_build_object(
                    'step', 'escalation', 'outcome', 'escalated',
                    'from_territory_id', v_territory, 'territory_id', p_fallback,
                    'reason', v_reason));
                v_territory := p_fallback;
                v_matched_rule := 'fallback';
            END IF;
            SELECT t.distribution_rule, t.required_skills INTO v_rule, v_required
              FROM territory t WHERE t.id = v_territory AND t.tenant_id = p_tenant;
            -- The row lock taken here serialises every turn in this territory.
            INSERT INTO territory_turn AS tt (territory_id, tenant_id, turn_counter)
            VALUES (v_territory, p_tenant, 1)
            ON CONFLICT ON CONSTRAINT pk_territory_turn
            DO UPDATE SET turn_counter = tt.turn_counter + 1
            RETURNING tt.turn_counter - 1 INTO v_turn;
            SELECT array_agg(m.rep_id ORDER BY m.rep_id) INTO v_candidates
              FROM territory_member m JOIN rep r ON r.id = m.rep_id
             WHERE m.territory_id = v_territory AND m.role = 'owner' AND r.active
               AND r.skills @> v_required;
            v_n := coalesce(array_length(v_candidates, 1), 0);
            IF v_n = 0 THEN
                v_reason := 'no_eligible_owner';
                v_steps := v_steps || jsonb_build_array(jsonb_build_object(
                    'step', 'distribution', 'territory_id', v_territory, 'rule', v_rule,
                    'outcome', 'no_rep', 'reason', v_reason));
                CONTINUE;
            END IF;
            -- The turn the pick used; NULL when it did not use one (weighted, a ranked rep).
            v_note := NULL;
            IF v_rule = 'proximity' AND p_ranked_reps IS NOT NULL THEN
                FOREACH v_try IN ARRAY p_ranked_reps LOOP
                    IF v_try = ANY (v_candidates) THEN
                        UPDATE rep SET open_assignments = open_assignments + 1
                         WHERE id = v_try AND (capacity IS NULL OR open_assignments < capacity)
                        RETURNING id INTO v_rep;
                        EXIT WHEN v_rep IS NOT NULL;
                    END IF;
                END LOOP;
            ELSIF v_rule = 'weighted' THEN
                -- Smooth weighted round robin: the rep furthest below their weighted share.
                SELECT m.rep_id INTO v_rep FROM territory_member m
                 WHERE m.territory_id = v_territory AND m.role = 'owner'
                   AND m.rep_id = ANY (v_candidates)
                 ORDER BY (m.assigned_count + 1) / m.weight, m.rep_id LIMIT 1;
                UPDATE rep SET open_assignments = open_assignments + 1 WHERE id = v_rep;
            ELSIF v_rule = 'capacity' THEN
                FOR i IN 0 .. v_n - 1 LOOP
                    v_try := v_candidates[((v_turn + i) % v_n) + 1];
                    -- Re-checked on the locked row: two requests can never both take the
                    -- last free slot.
                    UPDATE rep SET open_assignments = open_assignments + 1
                     WHERE id = v_try AND (capacity IS NULL OR open_assignments < capacity)
                    RETURNING id INTO v_rep;
                    EXIT WHEN v_rep IS NOT NULL;
                END LOOP;
                IF v_rep IS NULL THEN
                    v_reason := 'at_capacity';
                    v_steps := v_steps || jsonb_build_array(jsonb_build_object(
                        'step', 'distribution', 'territory_id', v_territory, 'rule', v_rule,
                        'outcome', 'no_rep', 'reason', v_reason));
                    CONTINUE;
                END IF;
                v_note := v_turn::text;
            END IF;
            IF v_rep IS NULL THEN
                v_rep := v_candidates[(v_turn % v_n) + 1];
                UPDATE rep SET open_assignments = open_assignments + 1 WHERE id = v_rep;
                v_note := v_turn::text;
            END IF;
            UPDATE territory_member m SET assigned_count = m.assigned_count + 1
             WHERE m.territory_id = v_territory AND m.rep_id = v_rep AND m.role = 'owner';
            v_steps := v_steps || jsonb_build_array(jsonb_strip_nulls(jsonb_build_object(
                'step', 'distribution', 'territory_id', v_territory, 'rule', v_rule,
                'outcome', 'assigned', 'rep_id', v_rep, 'eligible', v_n,
                'turn', v_note::bigint)));
        END LOOP;
        IF v_rep IS NULL THEN
            v_steps := v_steps || jsonb_build_array(jsonb_build_object(
                'step', 'queue', 'territory_id', v_territory, 'outcome', 'queued'));
        END IF;
    END IF;

    INSERT INTO lead (id, tenant_id, external_id, email, domain, location, postal_code, country,
                      industry, employee_count, annual_revenue, attributes)
    VALUES (v_lead, p_tenant, p_lead ->> 'external_id', p_lead ->> 'email', p_lead ->> 'domain',
            CASE WHEN p_lead ? 'longitude' THEN ST_SetSRID(ST_MakePoint(
                (p_lead ->> 'longitude')::float8, (p_lead ->> 'latitude')::float8), 4326) END,
            p_lead ->> 'postal_code', p_lead ->> 'country', p_lead ->> 'industry',
            (p_lead ->> 'employee_count')::int, (p_lead ->> 'annual_revenue')::numeric,
            coalesce(p_lead -> 'attributes', '{}'::jsonb));
    INSERT INTO assignment (id, tenant_id, lead_id, account_id, alignment_id, territory_id, rep_id,
                            matched_rule, distribution_rule, explanation)
    VALUES (v_assignment, p_tenant, v_lead, p_account, p_alignment, v_territory, v_rep,
            v_matched_rule, CASE WHEN p_fixed_rep IS NULL THEN v_rule END, v_steps);
    IF p_idempotency_key IS NOT NULL THEN
        UPDATE idempotency_record r
           SET response_body = jsonb_build_object('assignment_id', v_assignment)
         WHERE r.tenant_id = p_tenant AND r.key = p_idempotency_key;
    END IF;
    RETURN QUERY
        SELECT a.id, a.lead_id, a.territory_id, a.rep_id, rp.name::text,
               a.distribution_rule::text, a.explanation, a.created_at, false, p_request_hash,
               a.matched_rule::text
          FROM assignment a LEFT JOIN rep rp ON rp.id = a.rep_id
         WHERE a.id = v_assignment;
END;
$fn$;
