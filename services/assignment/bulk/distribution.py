"""The territories' distribution rules over a whole match table at once, in SQL, in three steps
so that the territory and rep rows stay locked only while the job's turns are reserved.

1. ``prepare`` (no locks): each row that needs a rep gets its ordinal ``i`` among its
   territory's rows in file order; the demand ``k`` per territory; the named-account rows per
   owner.
2. ``reserve`` (one short transaction): lock the territories (the fallback last), then the
   reps, each set in id order (the order ``assign_lead_commit`` takes them in, so concurrent
   single-lead assignments never share a turn with the job nor overfill a rep); snapshot
   what the rules read; work out per territory how many rows it places and per rep how many it
   gets; add that to ``territory_turn.turn_counter``, ``assigned_count`` and
   ``open_assignments``; record it in ``assignment_bulk.reservation``; commit. Its work is per
   territory and per slot of the weighted and capacity rules, not per row.
3. ``pick_sql`` (no locks): which rep each row gets, and the steps of its explanation, from
   the snapshot: a pure function of it, so it can run after the commit.

The rules, per territory, with rows numbered in file order (i = 0, 1, …) continuing its turn
counter t0:
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
Passes: 1, every territory but the fallback and the capacity ones; 2, the capacity ones (so the
remaining capacity they see counts what round robin and named accounts gave the same reps);
3, the alignment's fallback territory, with its own rows and those the others could not place
(no eligible owner, everyone full), in file order. What the fallback cannot place waits in a
queue (rep NULL).
"""

import time
import uuid
from dataclasses import dataclass

import asyncpg

from services.assignment.bulk import explanation
from services.assignment.bulk.work import Workspace
from services.assignment.leads.compiled_alignment import CompiledAlignment

_PREPARE = """
CREATE UNLOGGED TABLE {rows} AS
SELECT m.row_number, m.territory_id,
       row_number() OVER (PARTITION BY m.territory_id ORDER BY m.row_number) - 1 AS i
  FROM {match} m
 WHERE m.rep_id IS NULL;

CREATE UNLOGGED TABLE {demand} AS
SELECT territory_id, count(*) AS k FROM {rows} WHERE territory_id IS NOT NULL
 GROUP BY territory_id;

CREATE UNLOGGED TABLE {fixed} AS
SELECT rep_id, count(*) AS k FROM {match} WHERE rep_id IS NOT NULL GROUP BY rep_id;

ANALYZE {rows};

ANALYZE {demand};

ANALYZE {fixed};

CREATE UNLOGGED TABLE {slot} (
    pass int NOT NULL, territory_id uuid NOT NULL, q bigint NOT NULL, rep_id uuid NOT NULL
);

CREATE UNLOGGED TABLE {given} (
    pass int NOT NULL, territory_id uuid NOT NULL, rep_id uuid NOT NULL, count bigint NOT NULL
);

CREATE UNLOGGED TABLE {placed} (
    pass int NOT NULL, territory_id uuid NOT NULL, k bigint NOT NULL, placed bigint NOT NULL
);
"""

# {tenant}, {fallback}: SQL values. Territories, then reps, locked in the documented order.
_LOCK_AND_SNAPSHOT = """
INSERT INTO territory_turn (territory_id, tenant_id)
SELECT t.id, t.tenant_id FROM territory t
 WHERE t.tenant_id = {tenant}
   AND (t.id IN (SELECT territory_id FROM {demand}) OR t.id = {fallback})
ON CONFLICT (territory_id) DO NOTHING;

CREATE UNLOGGED TABLE {territory} AS
SELECT t.id, t.distribution_rule AS rule, tt.turn_counter AS t0, t.required_skills,
       coalesce(t.id = {fallback}, false) AS is_fallback, NULL::bigint AS n
  FROM territory t JOIN territory_turn tt ON tt.territory_id = t.id
 WHERE t.tenant_id = {tenant}
   AND (t.id IN (SELECT territory_id FROM {demand}) OR t.id = {fallback})
 ORDER BY t.id = {fallback}, t.id
   FOR NO KEY UPDATE OF tt;

CREATE UNLOGGED TABLE {candidate} AS
SELECT m.territory_id, m.rep_id, m.weight, m.assigned_count,
       row_number() OVER (PARTITION BY m.territory_id ORDER BY m.rep_id) - 1 AS pos,
       count(*) OVER (PARTITION BY m.territory_id) AS n
  FROM territory_member m
  JOIN {territory} t ON t.id = m.territory_id
  JOIN rep r ON r.id = m.rep_id
 WHERE m.role = 'owner' AND r.active AND r.skills @> t.required_skills;

CREATE UNLOGGED TABLE {rep} AS
SELECT r.id AS rep_id, r.capacity, r.open_assignments, coalesce(f.k, 0)::bigint AS used
  FROM rep r LEFT JOIN {fixed} f ON f.rep_id = r.id
 WHERE r.tenant_id = {tenant}
   AND (r.id IN (SELECT rep_id FROM {candidate}) OR r.id IN (SELECT rep_id FROM {fixed}))
 ORDER BY r.id
   FOR NO KEY UPDATE OF r;

UPDATE {territory} t SET n = c.n
  FROM (SELECT territory_id, count(*) AS n FROM {candidate} GROUP BY territory_id) c
 WHERE c.territory_id = t.id;

ANALYZE {territory};

ANALYZE {candidate};

ANALYZE {rep};
"""

# The demand of each pass: (territory_id, k).
_TODO = {
    1: """SELECT d.territory_id, d.k FROM {demand} d JOIN {territory} t ON t.id = d.territory_id
           WHERE NOT t.is_fallback AND t.rule <> 'capacity'""",
    2: """SELECT d.territory_id, d.k FROM {demand} d JOIN {territory} t ON t.id = d.territory_id
           WHERE NOT t.is_fallback AND t.rule = 'capacity'""",
    3: """SELECT t.id AS territory_id, x.k FROM {territory} t CROSS JOIN LATERAL (
            SELECT coalesce((SELECT d.k FROM {demand} d WHERE d.territory_id = t.id), 0)
                   + coalesce((SELECT sum(p.k - p.placed) FROM {placed} p
                                WHERE p.pass IN (1, 2)), 0) AS k) x
           WHERE t.is_fallback AND x.k > 0""",
}

# The slots of one pass's weighted and capacity territories: (q, rep) for q < k, q = the
# ordinal of the row in the territory that takes it.
_SLOTS = """
INSERT INTO {slot} (pass, territory_id, q, rep_id)
WITH demand AS ({todo}),
territory AS (
    SELECT t.id, t.rule, t.t0, t.n, d.k FROM {territory} t JOIN demand d ON d.territory_id = t.id
), weighted_totals AS (
    SELECT c.territory_id, sum(c.assigned_count) AS assigned, sum(c.weight) AS weight,
           count(*) AS n
      FROM {candidate} c JOIN territory t ON t.id = c.territory_id AND t.rule = 'weighted'
     GROUP BY c.territory_id
), weighted_key AS (
    -- Rep r never gets more than floor((assigned + k + n) * w_r / W - assigned_r) of the k.
    SELECT c.territory_id, c.rep_id, (c.assigned_count + j) / c.weight AS key
      FROM {candidate} c
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
    SELECT c.territory_id, c.rep_id, c.pos, c.n, t.k, t.t0,
           CASE WHEN r.capacity IS NULL THEN NULL
                ELSE greatest(0, r.capacity - r.open_assignments - r.used) END AS remaining
      FROM {candidate} c
      JOIN territory t ON t.id = c.territory_id AND t.rule = 'capacity'
      JOIN {rep} r ON r.rep_id = c.rep_id
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
                              ORDER BY s, (a.pos - a.t0 % a.n + a.n) % a.n) - 1 AS q
      FROM capacity_allowance a
      JOIN capacity_rounds r ON r.territory_id = a.territory_id
     CROSS JOIN LATERAL generate_series(0::bigint, least(a.allowance, r.rounds) - 1) s
)
SELECT {pass}, w.territory_id, w.q, w.rep_id
  FROM weighted_slot w JOIN territory t ON t.id = w.territory_id
 WHERE w.q < t.k
UNION ALL
SELECT {pass}, s.territory_id, s.q, s.rep_id
  FROM capacity_slot s JOIN territory t ON t.id = s.territory_id
 WHERE s.q < t.k
"""

# What one pass places: per territory, how many of its k rows get a rep; per (territory, rep),
# how many. Round robin in closed form: the owner at position p gets the turns t0 .. t0+k-1
# with t mod n = p, that is k div n, plus one when (p - t0) mod n < k mod n.
_PLACE = """
INSERT INTO {placed} (pass, territory_id, k, placed)
SELECT {pass}, d.territory_id, d.k,
       CASE WHEN t.n IS NULL THEN 0
            WHEN t.rule = 'capacity' THEN coalesce(s.slots, 0)
            ELSE d.k END
  FROM ({todo}) d
  JOIN {territory} t ON t.id = d.territory_id
  LEFT JOIN (SELECT territory_id, count(*) AS slots FROM {slot} WHERE pass = {pass}
              GROUP BY territory_id) s ON s.territory_id = d.territory_id;

INSERT INTO {given} (pass, territory_id, rep_id, count)
SELECT {pass}, s.territory_id, s.rep_id, count(*) FROM {slot} s WHERE s.pass = {pass}
 GROUP BY s.territory_id, s.rep_id
UNION ALL
SELECT {pass}, c.territory_id, c.rep_id, x.count
  FROM ({todo}) d
  JOIN {territory} t ON t.id = d.territory_id AND t.rule IN ('round_robin', 'proximity')
  JOIN {candidate} c ON c.territory_id = d.territory_id
 CROSS JOIN LATERAL (
    SELECT d.k / c.n + CASE WHEN ((c.pos - t.t0 % c.n) + c.n) % c.n < d.k % c.n
                            THEN 1 ELSE 0 END AS count
 ) x
 WHERE x.count > 0;

UPDATE {rep} r SET used = r.used + g.count
  FROM (SELECT rep_id, sum(count) AS count FROM {given} WHERE pass = {pass} GROUP BY rep_id) g
 WHERE g.rep_id = r.rep_id;
"""

# The reservation: turns per territory (every row it saw, placed or not), leads per owner
# member, open assignments per rep (named-account rows included). {job}: SQL value.
_RESERVE = """
UPDATE territory_turn t SET turn_counter = t.turn_counter + p.k
  FROM (SELECT territory_id, sum(k) AS k FROM {placed} GROUP BY territory_id) p
 WHERE t.territory_id = p.territory_id;

UPDATE territory_member tm SET assigned_count = tm.assigned_count + g.count
  FROM (SELECT territory_id, rep_id, sum(count) AS count FROM {given}
         GROUP BY territory_id, rep_id) g
 WHERE tm.territory_id = g.territory_id AND tm.rep_id = g.rep_id AND tm.role = 'owner';

UPDATE rep r SET open_assignments = r.open_assignments + d.used
  FROM {rep} d WHERE d.rep_id = r.id AND d.used > 0;

INSERT INTO assignment_bulk.reservation (job_id, territory_id, rep_id, turns, assigned, opened)
SELECT {job}, territory_id, NULL, sum(k), 0, 0 FROM {placed} GROUP BY territory_id
UNION ALL
SELECT {job}, territory_id, rep_id, 0, sum(count), 0 FROM {given} GROUP BY territory_id, rep_id
UNION ALL
SELECT {job}, NULL, rep_id, 0, 0, used FROM {rep} WHERE used > 0;
"""

# The rows the fallback takes: its own and what the others could not place, in file order.
_FALLBACK_ROWS = """
CREATE UNLOGGED TABLE {fallback_rows} AS
SELECT x.row_number, row_number() OVER (ORDER BY x.row_number) - 1 AS i
  FROM (SELECT r.row_number FROM {rows} r
          JOIN {placed} p ON p.pass IN (1, 2) AND p.territory_id = r.territory_id
         WHERE r.i >= p.placed AND {fallback} IS NOT NULL
        UNION ALL
        SELECT r.row_number FROM {rows} r WHERE r.territory_id = {fallback}) x;

ANALYZE {fallback_rows};
"""

_NULL_TERRITORY_STEPS = (
    ',{"step":"distribution","territory_id":null,"rule":null,"outcome":"no_rep",'
    '"reason":"no_eligible_owner"},{"step":"queue","territory_id":null,"outcome":"queued"}'
)


def _steps() -> str:
    """The distribution steps of a row of ``_PICK`` as JSON text, each after a comma."""
    first = explanation.distribution_step(
        territory="t1.id", rule="t1.rule", eligible="t1.n", rep="x.t1_rep", turn="x.t1_turn"
    )
    fallback = explanation.distribution_step(
        territory="t2.id", rule="t2.rule", eligible="t2.n", rep="x.t2_rep", turn="x.t2_turn"
    )
    escalation = explanation.concat(
        explanation.escalation_step(from_territory="t1.id", territory="t2.id", eligible="t1.n")
    )
    proximity = explanation.concat(explanation.proximity_step())
    queue = explanation.concat(explanation.queue_step("coalesce(t2.id, r.territory_id)"))
    # concat() reads a NULL (a step not taken) as ''.
    return f"""
    CASE WHEN r.territory_id IS NULL THEN {explanation.concat([_NULL_TERRITORY_STEPS])}
    ELSE concat(
        CASE WHEN coalesce(t1.rule, t2.rule) = 'proximity' THEN concat(',', {proximity}) END,
        CASE WHEN t1.id IS NOT NULL THEN concat(',', {first.expression}) END,
        CASE WHEN t1.id IS NOT NULL AND t2.id IS NOT NULL THEN concat(',', {escalation}) END,
        CASE WHEN t2.id IS NOT NULL THEN concat(',', {fallback.expression}) END,
        CASE WHEN coalesce(x.t1_rep, x.t2_rep) IS NULL THEN concat(',', {queue}) END)
    END"""


# Per row of ``rows``: the final territory, the rep, the rule that picked, whether the row
# escalated from its territory to the fallback, and the steps it took (JSON text: each element
# after a comma). t1: its territory when that is not the fallback (passes 1, 2); t2: the
# fallback (pass 3).
_PICK = """
SELECT r.row_number,
       coalesce(t2.id, r.territory_id) AS territory_id,
       t1.id IS NOT NULL AND t2.id IS NOT NULL AS escalated,
       coalesce(x.t1_rep, x.t2_rep) AS rep_id,
       coalesce(t2.rule, t1.rule) AS distribution_rule,
       {steps} AS steps
  FROM {rows} r
  LEFT JOIN {territory} t1 ON t1.id = r.territory_id AND NOT t1.is_fallback
  LEFT JOIN {placed} l1 ON l1.pass IN (1, 2) AND l1.territory_id = r.territory_id
  LEFT JOIN {candidate} c1
         ON t1.rule IN ('round_robin', 'proximity') AND c1.territory_id = r.territory_id
        AND c1.pos = (t1.t0 + r.i) % t1.n AND r.i < l1.placed
  LEFT JOIN {slot} s1 ON s1.pass IN (1, 2) AND s1.territory_id = r.territory_id AND s1.q = r.i
  LEFT JOIN {fallback_rows} f ON f.row_number = r.row_number
  LEFT JOIN {territory} t2 ON f.row_number IS NOT NULL AND t2.is_fallback
  LEFT JOIN {placed} l2 ON l2.pass = 3 AND t2.id IS NOT NULL
  LEFT JOIN {candidate} c2
         ON t2.rule IN ('round_robin', 'proximity') AND c2.territory_id = t2.id
        AND c2.pos = (t2.t0 + f.i) % t2.n AND f.i < l2.placed
  LEFT JOIN {slot} s2 ON s2.pass = 3 AND t2.id IS NOT NULL AND s2.q = f.i
 CROSS JOIN LATERAL (
    SELECT coalesce(c1.rep_id, s1.rep_id) AS t1_rep, t1.t0 + r.i AS t1_turn,
           coalesce(c2.rep_id, s2.rep_id) AS t2_rep, t2.t0 + f.i AS t2_turn
 ) x
"""

TABLES = (
    "rows", "demand", "fixed", "slot", "given", "placed", "territory", "candidate", "rep",
    "fallback_rows",
)  # fmt: skip


def _names(workspace: Workspace, **extra: str) -> dict[str, str]:
    return {name: workspace.table(f"dist_{name}") for name in TABLES} | extra


def _sql_uuid(value: uuid.UUID | None) -> str:
    # DDL takes no parameters: ids go in as literals (a uuid.UUID renders safely).
    return f"'{uuid.UUID(str(value))}'::uuid" if value is not None else "NULL::uuid"


async def prepare(connection: asyncpg.Connection, *, workspace: Workspace, match: str) -> None:
    await connection.execute(_PREPARE.format(**_names(workspace, match=match)))


@dataclass(frozen=True)
class Reservation:
    turns: int
    locked_seconds: float


async def reserve(
    connection: asyncpg.Connection,
    *,
    workspace: Workspace,
    compiled: CompiledAlignment,
    tenant_id: uuid.UUID,
    job_id: uuid.UUID,
) -> Reservation:
    """Take the job's turns and capacity in one short transaction (see the module docstring);
    committed when this returns. ``assignment_bulk.reservation`` then says what to give back
    if the job's write fails."""
    names = _names(
        workspace,
        tenant=_sql_uuid(tenant_id),
        fallback=_sql_uuid(compiled.fallback_id),
        job=_sql_uuid(job_id),
    )
    async with connection.transaction():
        started = time.perf_counter()
        await connection.execute(_LOCK_AND_SNAPSHOT.format(**names))
        for pass_number in (1, 2, 3):
            todo = _TODO[pass_number].format(**names)
            await connection.execute(
                _SLOTS.format(**names, todo=todo, **{"pass": str(pass_number)})
            )
            await connection.execute(
                _PLACE.format(**names, todo=todo, **{"pass": str(pass_number)})
            )
        await connection.execute(_RESERVE.format(**names))
        turns: int = await connection.fetchval(f"SELECT coalesce(sum(k), 0) FROM {names['placed']}")
    return Reservation(turns=turns, locked_seconds=round(time.perf_counter() - started, 3))


async def resolve(
    connection: asyncpg.Connection, *, workspace: Workspace, compiled: CompiledAlignment
) -> None:
    """After the reservation: the rows the fallback takes, numbered."""
    names = _names(workspace, fallback=_sql_uuid(compiled.fallback_id))
    await connection.execute(f"ANALYZE {names['slot']}; ANALYZE {names['placed']}")
    await connection.execute(_FALLBACK_ROWS.format(**names))


def pick_sql(workspace: Workspace, *, low: int, high: int) -> str:
    """A SELECT of (row_number, territory_id, escalated, rep_id, distribution_rule, steps) for
    the rows
    ``low`` to ``high`` of the match table without a fixed rep, once ``reserve`` and
    ``resolve`` ran; ``steps`` is the distribution steps as JSON text, each after a comma."""
    sql = _PICK + f" WHERE r.row_number BETWEEN {int(low)} AND {int(high)}"
    for name, table in _names(workspace).items():
        sql = sql.replace("{" + name + "}", table)
    return sql.replace("{steps}", _steps())
