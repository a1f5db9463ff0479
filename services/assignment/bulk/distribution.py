"""The territories' distribution rules over a whole match table at once, in SQL.

Per territory, rows are numbered in file order (i = 0, 1, …) and continue its turn counter t0:
- round robin (and proximity, which bulk does not consult): the owner at (t0 + i) mod n of the
  eligible owners ordered by rep id, exactly what ``assign_lead_commit`` gives one by one;
- weighted: rep r's j-th lead has the key (assigned_count_r + j) / weight_r; the k leads take
  the k smallest keys (ties by rep id), which is the single path's "furthest below their
  weighted share" repeated k times;
- capacity: each eligible owner has a remaining = capacity − open assignments (less what this
  job already gave them); slots (round s, owner in rotation from t0) are handed out in order, so
  while nobody is full it is round robin from t0, and a full owner drops out of the rotation.
  An owner eligible in several capacity territories of the job gets their remaining split
  across them by demand (largest remainder), so no capacity is ever exceeded.
Rows a territory cannot place (no eligible owner, everyone full) go to the alignment's fallback
territory (second pass, same rules); what the fallback cannot place waits in a queue (rep NULL).
The involved territory rows, then the reps, are locked first (``FOR NO KEY UPDATE``, the
fallback last, each set in id order: the order ``assign_lead_commit`` takes them in), so
concurrent single-lead assignments never share a turn with the job nor overfill a rep.
"""

import uuid

import asyncpg

from services.assignment.leads.compiled_alignment import CompiledAlignment

_LOCK_AND_SNAPSHOT = """
CREATE TEMP TABLE dist_territory AS
SELECT t.id, t.distribution_rule AS rule, t.turn_counter, t.required_skills
  FROM territory t
 WHERE t.tenant_id = $1
   AND (t.id IN (SELECT territory_id FROM {match} WHERE rep_id IS NULL) OR t.id = $2)
 ORDER BY t.id = $2, t.id
   FOR NO KEY UPDATE OF t;

CREATE TEMP TABLE dist_candidate AS
SELECT m.territory_id, m.rep_id, m.weight, m.assigned_count,
       row_number() OVER (PARTITION BY m.territory_id ORDER BY m.rep_id) - 1 AS pos,
       count(*) OVER (PARTITION BY m.territory_id) AS n
  FROM territory_member m
  JOIN dist_territory t ON t.id = m.territory_id
  JOIN rep r ON r.id = m.rep_id
 WHERE m.role = 'owner' AND r.active AND r.skills @> t.required_skills;

CREATE TEMP TABLE dist_rep AS
SELECT r.id AS rep_id, r.capacity, r.open_assignments, 0::bigint AS used
  FROM rep r
 WHERE r.tenant_id = $1
   AND (r.id IN (SELECT rep_id FROM dist_candidate)
        OR r.id IN (SELECT rep_id FROM {match} WHERE rep_id IS NOT NULL))
 ORDER BY r.id
   FOR NO KEY UPDATE OF r;

ALTER TABLE dist_territory ADD COLUMN n bigint;

UPDATE dist_territory t SET n = c.n
  FROM (SELECT territory_id, count(*) AS n FROM dist_candidate GROUP BY territory_id) c
 WHERE c.territory_id = t.id;

ANALYZE dist_territory;

ANALYZE dist_candidate;

ANALYZE dist_rep;

UPDATE dist_rep d SET used = f.count
  FROM (SELECT rep_id, count(*) AS count FROM {match} WHERE rep_id IS NOT NULL GROUP BY 1) f
 WHERE f.rep_id = d.rep_id;

-- pass 1: territories other than the fallback and capacity ones; 2: capacity ones; 3: fallback.
CREATE TEMP TABLE dist_pass (
    pass int NOT NULL,
    row_number bigint NOT NULL,
    territory_id uuid NOT NULL,
    rule text NOT NULL,
    turn bigint NOT NULL,
    eligible bigint,
    rep_id uuid
);
"""

# One pass over dist_todo (row_number, territory_id): writes one dist_pass row per todo row.
_PASS = """
INSERT INTO dist_pass
WITH demand AS (
    SELECT territory_id, count(*) AS k FROM dist_todo GROUP BY territory_id
), territory AS (
    SELECT t.*, d.k FROM dist_territory t JOIN demand d ON d.territory_id = t.id
), ordinal AS (
    SELECT row_number, territory_id,
           row_number() OVER (PARTITION BY territory_id ORDER BY row_number) - 1 AS i
      FROM dist_todo
), weighted_totals AS (
    SELECT c.territory_id, sum(c.assigned_count) AS assigned, sum(c.weight) AS weight,
           count(*) AS n
      FROM dist_candidate c JOIN territory t ON t.id = c.territory_id AND t.rule = 'weighted'
     GROUP BY c.territory_id
), weighted_key AS (
    -- Rep r never gets more than floor((assigned + k + n) * w_r / W - assigned_r) of the k.
    SELECT c.territory_id, c.rep_id, (c.assigned_count + j) / c.weight AS key
      FROM dist_candidate c
      JOIN territory t ON t.id = c.territory_id
      JOIN weighted_totals w ON w.territory_id = c.territory_id
     CROSS JOIN LATERAL generate_series(
            1::bigint,
            least(t.k, greatest(0, floor((w.assigned + t.k + w.n) * c.weight / w.weight
                                         - c.assigned_count)::bigint + 1))) j
), weighted_slot AS (
    SELECT territory_id, rep_id,
           row_number() OVER (PARTITION BY territory_id ORDER BY key, rep_id) - 1 AS q
      FROM weighted_key
), capacity_owner AS (
    SELECT c.territory_id, c.rep_id, c.pos, c.n, t.k, t.turn_counter,
           CASE WHEN r.capacity IS NULL THEN NULL
                ELSE greatest(0, r.capacity - r.open_assignments - r.used) END AS remaining
      FROM dist_candidate c
      JOIN territory t ON t.id = c.territory_id AND t.rule = 'capacity'
      JOIN dist_rep r ON r.rep_id = c.rep_id
), capacity_share AS (
    SELECT o.*,
           o.remaining * o.k / (sum(o.k) OVER (PARTITION BY o.rep_id))::bigint AS base,
           o.remaining * o.k % (sum(o.k) OVER (PARTITION BY o.rep_id))::bigint AS fraction
      FROM capacity_owner o
), capacity_allowance AS (
    SELECT s.*,
           CASE WHEN s.remaining IS NULL THEN s.k
                ELSE least(s.k, s.base + CASE
                    WHEN row_number() OVER (PARTITION BY s.rep_id
                                            ORDER BY s.fraction DESC, s.territory_id)
                         <= s.remaining - sum(s.base) OVER (PARTITION BY s.rep_id)
                    THEN 1 ELSE 0 END) END AS allowance
      FROM capacity_share s
), capacity_sorted AS (
    SELECT a.territory_id, a.k, a.allowance,
           row_number() OVER w AS idx,
           count(*) OVER (PARTITION BY a.territory_id) AS m,
           coalesce(sum(a.allowance) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING),
                    0) AS below
      FROM capacity_allowance a
    WINDOW w AS (PARTITION BY a.territory_id ORDER BY a.allowance, a.rep_id)
), capacity_rounds AS (
    -- Rounds needed to seat k rows: owners with a smaller allowance drop out as they fill.
    SELECT t.territory_id, coalesce(first_enough.rounds, t.most) AS rounds
      FROM (SELECT territory_id, max(allowance) AS most FROM capacity_allowance
             GROUP BY territory_id) t
      LEFT JOIN (
            SELECT DISTINCT ON (territory_id) territory_id,
                   ceil((k - below)::numeric / (m - idx + 1))::bigint AS rounds
              FROM capacity_sorted
             WHERE below + allowance * (m - idx + 1) >= k
             ORDER BY territory_id, idx
      ) first_enough ON first_enough.territory_id = t.territory_id
), capacity_slot AS (
    SELECT a.territory_id, a.rep_id,
           row_number() OVER (PARTITION BY a.territory_id
                              ORDER BY s, (a.pos - a.turn_counter % a.n + a.n) % a.n) - 1 AS q
      FROM capacity_allowance a
      JOIN capacity_rounds r ON r.territory_id = a.territory_id
     CROSS JOIN LATERAL generate_series(0::bigint, least(a.allowance, r.rounds) - 1) s
)
SELECT {pass}, o.row_number, o.territory_id, t.rule, t.turn_counter + o.i, t.n,
       CASE WHEN t.rule = 'weighted' THEN w.rep_id
            WHEN t.rule = 'capacity' THEN s.rep_id
            ELSE c.rep_id END
  FROM ordinal o
  JOIN territory t ON t.id = o.territory_id
  LEFT JOIN dist_candidate c
         ON t.rule IN ('round_robin', 'proximity') AND c.territory_id = o.territory_id
        AND c.pos = (t.turn_counter + o.i) % t.n
  LEFT JOIN weighted_slot w
         ON t.rule = 'weighted' AND w.territory_id = o.territory_id AND w.q = o.i
  LEFT JOIN capacity_slot s
         ON t.rule = 'capacity' AND s.territory_id = o.territory_id AND s.q = o.i
"""

_CHARGE_PASS = """
UPDATE dist_rep d SET used = d.used + p.count
  FROM (SELECT rep_id, count(*) AS count FROM dist_pass
         WHERE pass = $1 AND rep_id IS NOT NULL GROUP BY rep_id) p
 WHERE p.rep_id = d.rep_id
"""

_STEP = """
CASE WHEN {p}.rep_id IS NOT NULL THEN jsonb_build_object(
         'step', 'distribution', 'territory_id', {p}.territory_id, 'rule', {p}.rule,
         'outcome', 'assigned', 'rep_id', {p}.rep_id, 'eligible', {p}.eligible)
         || CASE WHEN {p}.rule <> 'weighted' THEN jsonb_build_object('turn', {p}.turn)
                 ELSE '{}'::jsonb END
     ELSE jsonb_build_object(
         'step', 'distribution', 'territory_id', {p}.territory_id, 'rule', {p}.rule,
         'outcome', 'no_rep',
         'reason', CASE WHEN {p}.eligible IS NULL THEN 'no_eligible_owner' ELSE 'at_capacity' END)
END"""

_QUEUE = """jsonb_build_array(jsonb_build_object(
    'step', 'queue', 'territory_id', {territory}, 'outcome', 'queued'))"""

_PROXIMITY = """jsonb_build_array(jsonb_build_object(
    'step', 'proximity', 'outcome', 'skipped',
    'detail', 'Bulk assignment does not consult the proximity service; round robin instead.'))"""

# Per match row: the final territory, the rep, the rule that picked, and the steps it took.
_PICK = f"""
CREATE TEMP TABLE dist_pick AS
SELECT m.row_number,
       CASE WHEN m.rep_id IS NOT NULL THEN m.territory_id
            ELSE coalesce(p2.territory_id, p1.territory_id, m.territory_id) END AS territory_id,
       coalesce(m.rep_id, p1.rep_id, p2.rep_id) AS rep_id,
       CASE WHEN m.rep_id IS NULL THEN coalesce(p2.rule, p1.rule) END AS distribution_rule,
       CASE
         WHEN m.rep_id IS NOT NULL THEN '[]'::jsonb
         WHEN m.territory_id IS NULL THEN jsonb_build_array(jsonb_build_object(
                'step', 'distribution', 'territory_id', NULL, 'rule', NULL, 'outcome', 'no_rep',
                'reason', 'no_eligible_owner'))
                || {_QUEUE.format(territory="NULL")}
         ELSE CASE WHEN coalesce(p1.rule, p2.rule) = 'proximity' THEN {_PROXIMITY}
                   ELSE '[]'::jsonb END
              || CASE WHEN p1.row_number IS NOT NULL
                      THEN jsonb_build_array({_STEP.replace("{p}", "p1")}) ELSE '[]'::jsonb END
              || CASE WHEN p2.row_number IS NOT NULL
                      THEN jsonb_build_array({_STEP.replace("{p}", "p2")}) ELSE '[]'::jsonb END
              || CASE WHEN coalesce(p1.rep_id, p2.rep_id) IS NULL
                      THEN {_QUEUE.format(territory="coalesce(p2.territory_id, p1.territory_id)")}
                      ELSE '[]'::jsonb END
       END AS steps
  FROM {{match}} m
  LEFT JOIN dist_pass p1 ON p1.pass IN (1, 2) AND p1.row_number = m.row_number
  LEFT JOIN dist_pass p2 ON p2.pass = 3 AND p2.row_number = m.row_number
"""

_COUNTERS = """
UPDATE territory t SET turn_counter = t.turn_counter + p.count
  FROM (SELECT territory_id, count(*) AS count FROM dist_pass GROUP BY territory_id) p
 WHERE t.id = p.territory_id;

UPDATE territory_member tm SET assigned_count = tm.assigned_count + p.count
  FROM (SELECT territory_id, rep_id, count(*) AS count FROM dist_pass
         WHERE rep_id IS NOT NULL GROUP BY territory_id, rep_id) p
 WHERE tm.territory_id = p.territory_id AND tm.rep_id = p.rep_id AND tm.role = 'owner';

UPDATE rep r SET open_assignments = r.open_assignments + d.used
  FROM dist_rep d WHERE d.rep_id = r.id AND d.used > 0;
"""


async def distribute(
    connection: asyncpg.Connection,
    *,
    compiled: CompiledAlignment,
    tenant_id: uuid.UUID,
    match_table: str,
) -> str:
    """Pick a rep for every row of ``match_table`` and bump the counters; returns the name of
    the temp table (row_number, territory_id, rep_id, distribution_rule, steps). Must run in
    the transaction that writes the assignments: the locks it takes hold until its commit."""
    fallback = compiled.fallback_id
    # CREATE TABLE AS takes no parameters: the ids go in as literals (uuid.UUID renders safely).
    tenant = f"'{tenant_id}'::uuid"
    fallback_sql = f"'{fallback}'::uuid" if fallback else "NULL::uuid"
    script = (
        _LOCK_AND_SNAPSHOT.replace("{match}", match_table)
        .replace("$1", tenant)
        .replace("$2", fallback_sql)
    )
    await connection.execute(script)
    # Pass 1: every territory but the fallback; capacity territories last, so the remaining
    # capacity they see counts what round robin and named accounts gave the same reps.
    for pass_number, capacity in ((1, False), (2, True)):
        await connection.execute(
            f"""
            CREATE TEMP TABLE dist_todo AS
            SELECT m.row_number, m.territory_id
              FROM {match_table} m JOIN dist_territory t ON t.id = m.territory_id
             WHERE m.rep_id IS NULL AND m.territory_id IS DISTINCT FROM {fallback_sql}
               AND (t.rule = 'capacity') = {capacity}
            """
        )
        await connection.execute("ANALYZE dist_todo")
        await connection.execute(_PASS.replace("{pass}", str(pass_number)))
        await connection.execute(_CHARGE_PASS, pass_number)
        await connection.execute("DROP TABLE dist_todo")
    if fallback is not None:
        # Pass 2: the fallback, with what pass 1 could not place, in file order.
        await connection.execute(
            f"""
            CREATE TEMP TABLE dist_todo AS
            SELECT row_number, territory_id FROM {match_table}
             WHERE rep_id IS NULL AND territory_id = {fallback_sql}
            UNION ALL
            SELECT row_number, {fallback_sql} FROM dist_pass
             WHERE pass IN (1, 2) AND rep_id IS NULL
            """
        )
        await connection.execute("ANALYZE dist_todo")
        await connection.execute(_PASS.replace("{pass}", "3"))
        await connection.execute(_CHARGE_PASS, 3)
        await connection.execute("DROP TABLE dist_todo")
    await connection.execute(_PICK.replace("{match}", match_table))
    await connection.execute(_COUNTERS)
    return "dist_pick"
