"""The explanation of each bulk assignment as SQL: the typed steps of
``services/assignment/leads/explanation.py`` (one schema for single and bulk; their text is
rendered there when an assignment is read), written as JSON by set-based SQL for a million rows.

Each row's steps are written as JSON text and cast to jsonb once: building them with
jsonb_build_object and ``||`` re-encodes the document at every step, several times slower. No
subquery either: one in the output of a plan keeps that output out of parallel workers.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass

from services.assignment.leads.explanation import (
    ALSO_MATCHED_TIE_BREAK,
    CONTAINING_TIE_BREAK,
    POSTAL_DISAGREEMENT_KM,
)


@dataclass(frozen=True)
class Sql:
    """A SQL expression whose text value is a JSON value (never NULL unless ``nullable``)."""

    expression: str
    nullable: bool = False


Part = str | Sql  # a str is JSON text, verbatim


def string(expression: str) -> Sql:
    """A text expression as a JSON string (escaped), or null."""
    return Sql(f"to_json(({expression})::text)::text", nullable=True)


def uuid_value(expression: str) -> Sql:
    """A uuid expression as a JSON string (a uuid needs no escaping), or null."""
    return Sql(f"'\"' || ({expression}) || '\"'", nullable=True)


def number(expression: str) -> Sql:
    return Sql(f"({expression})::text", nullable=True)


def uuid_array(expression: str) -> Sql:
    return Sql(f"to_json({expression})::text", nullable=True)


def point(expression: str) -> Sql:
    return Sql(f"'[' || ST_X({expression}) || ',' || ST_Y({expression}) || ']'", nullable=True)


def obj(*pairs: tuple[str, str | int | Sql | None]) -> list[Part]:
    """A JSON object: constant strings and numbers, or SQL; a None value leaves its key out."""
    parts: list[Part] = ["{"]
    first = True
    for key, value in pairs:
        if value is None:
            continue
        parts.append(("" if first else ",") + json.dumps(key) + ":")
        parts.append(value if isinstance(value, Sql) else json.dumps(value))
        first = False
    parts.append("}")
    return parts


def concat(parts: Sequence[Part]) -> str:
    """The SQL text expression of ``parts`` in a row (adjacent JSON text merged)."""
    pieces: list[str] = []
    literal = ""
    for part in parts:
        if isinstance(part, str):
            literal += part
            continue
        if literal:
            pieces.append(_text(literal))
            literal = ""
        expression = part.expression
        pieces.append(f"coalesce({expression}, 'null')" if part.nullable else expression)
    if literal:
        pieces.append(_text(literal))
    if not pieces:
        return "''"
    # concat() builds the text once (``||`` copies it at every step) and reads NULL as ''.
    return pieces[0] if len(pieces) == 1 else "concat(" + ", ".join(pieces) + ")"


def _text(literal: str) -> str:
    return "'" + literal.replace("'", "''") + "'"


def case(*branches: tuple[str, Sequence[Part]], default: Sequence[Part] | None) -> Sql:
    """CASE WHEN condition THEN parts …: JSON text, NULL when no branch and no default."""
    whens = " ".join(f"WHEN {condition} THEN {concat(parts)}" for condition, parts in branches)
    otherwise = f" ELSE {concat(default)}" if default is not None else ""
    return Sql(f"CASE {whens}{otherwise} END", nullable=default is None)


def decision_steps(*, m: str, rule_count: int) -> tuple[str, str]:
    """The precedence steps of a match row ``m`` (columns of the match table) as JSON text:
    the first element, and the rest (each with its leading comma)."""
    how = Sql(f"CASE WHEN {m}.by_external_id THEN '\"external_id\"' ELSE '\"domain\"' END")
    named = case(
        (f"{m}.account_id IS NULL", obj(("step", "named_account"), ("outcome", "no_match"))),
        (
            f"{m}.matched_rule = 'named_account'",
            obj(
                ("step", "named_account"),
                ("outcome", "matched"),
                ("account_id", uuid_value(f"{m}.account_id")),
                ("by", how),
                ("rep_id", uuid_value(f"{m}.owner_rep_id")),
            ),
        ),
        default=obj(
            ("step", "named_account"),
            ("outcome", "skipped"),
            ("account_id", uuid_value(f"{m}.account_id")),
            ("by", how),
            (
                "reason",
                Sql(
                    f"CASE WHEN {m}.owner_rep_id IS NULL THEN '\"no_owner\"' "
                    "ELSE '\"inactive_owner\"' END"
                ),
            ),
        ),
    )
    several_rules = f"cardinality({m}.rule_territory_ids) > 1"
    rule = case(
        (
            f"{m}.matched_rule = 'attribute_rule' AND {several_rules}",
            obj(
                ("step", "attribute_rule"),
                ("outcome", "matched"),
                ("territory_id", uuid_value(f"{m}.territory_id")),
                ("also_matched", uuid_array(f"{m}.rule_territory_ids[2:]")),
                ("tie_break", ALSO_MATCHED_TIE_BREAK),
            ),
        ),
        (
            f"{m}.matched_rule = 'attribute_rule'",
            obj(
                ("step", "attribute_rule"),
                ("outcome", "matched"),
                ("territory_id", uuid_value(f"{m}.territory_id")),
            ),
        ),
        default=obj(("step", "attribute_rule"), ("outcome", "no_match"), ("rules", rule_count)),
    )
    placed_by = Sql(
        f"CASE WHEN {m}.from_account THEN '\"account\"' "
        f"WHEN {m}.from_postal_code THEN '\"postal_code\"' ELSE '\"coordinates\"' END"
    )
    where = point(f"{m}.point")
    geography = case(
        (
            f"{m}.point IS NULL AND {m}.unknown_postal_code IS NOT NULL",
            obj(
                ("step", "geography"),
                ("outcome", "no_location"),
                ("unknown_postal_code", string(f"{m}.unknown_postal_code")),
            ),
        ),
        (f"{m}.point IS NULL", obj(("step", "geography"), ("outcome", "no_location"))),
        (
            f"{m}.matched_rule = 'geography' AND cardinality({m}.geo_territory_ids) > 1",
            obj(
                ("step", "geography"),
                ("outcome", "matched"),
                ("territory_id", uuid_value(f"{m}.territory_id")),
                ("point", where),
                ("placed_by", placed_by),
                ("also_containing", uuid_array(f"{m}.geo_territory_ids[2:]")),
                ("tie_break", CONTAINING_TIE_BREAK),
            ),
        ),
        (
            f"{m}.matched_rule = 'geography'",
            obj(
                ("step", "geography"),
                ("outcome", "matched"),
                ("territory_id", uuid_value(f"{m}.territory_id")),
                ("point", where),
                ("placed_by", placed_by),
            ),
        ),
        default=obj(
            ("step", "geography"),
            ("outcome", "no_match"),
            ("point", where),
            ("placed_by", placed_by),
        ),
    )
    fallback = obj(
        ("step", "fallback"),
        ("outcome", "matched"),
        ("territory_id", uuid_value(f"{m}.territory_id")),
    )
    rest = (
        f"CASE {m}.matched_rule WHEN 'named_account' THEN '' "
        f"WHEN 'attribute_rule' THEN concat(',', {rule.expression}) "
        f"WHEN 'geography' THEN concat(',', {rule.expression}, ',', {geography.expression}) "
        f"ELSE concat(',', {rule.expression}, ',', {geography.expression}, ',', "
        f"{concat(fallback)}) END"
    )
    far = case(
        (
            f"{m}.postal_distance_km > {POSTAL_DISAGREEMENT_KM}",
            [
                *obj(
                    ("step", "warning"),
                    ("outcome", "point_far_from_postal_code"),
                    ("postal_code", string(f"{m}.postal_code_label")),
                    ("distance_km", number(f"round({m}.postal_distance_km::numeric, 1)")),
                    ("threshold_km", Sql(repr(POSTAL_DISAGREEMENT_KM))),
                ),
                ",",
            ],
        ),
        default=None,
    )
    swapped = case(
        (
            f"{m}.swapped_territory_id IS NOT NULL",
            [
                *obj(
                    ("step", "warning"),
                    ("outcome", "swapped_coordinates"),
                    ("swapped_territory_id", uuid_value(f"{m}.swapped_territory_id")),
                ),
                ",",
            ],
        ),
        default=None,
    )
    # Warnings first, as the single path records them; concat() reads NULL (none) as ''.
    first = f"concat({far.expression}, {swapped.expression}, {named.expression})"
    return first, rest


def distribution_step(*, territory: str, rule: str, eligible: str, rep: str, turn: str) -> Sql:
    """One territory's distribution step (``rep`` NULL: it had no rep to give)."""
    return case(
        (
            f"{rep} IS NOT NULL AND {rule} = 'weighted'",
            obj(
                ("step", "distribution"),
                ("territory_id", uuid_value(territory)),
                ("rule", string(rule)),
                ("outcome", "assigned"),
                ("rep_id", uuid_value(rep)),
                ("eligible", number(eligible)),
            ),
        ),
        (
            f"{rep} IS NOT NULL",
            obj(
                ("step", "distribution"),
                ("territory_id", uuid_value(territory)),
                ("rule", string(rule)),
                ("outcome", "assigned"),
                ("rep_id", uuid_value(rep)),
                ("eligible", number(eligible)),
                ("turn", number(turn)),
            ),
        ),
        default=obj(
            ("step", "distribution"),
            ("territory_id", uuid_value(territory)),
            ("rule", string(rule)),
            ("outcome", "no_rep"),
            (
                "reason",
                Sql(
                    f"CASE WHEN {eligible} IS NULL THEN '\"no_eligible_owner\"' "
                    "ELSE '\"at_capacity\"' END"
                ),
            ),
        ),
    )


def escalation_step(*, from_territory: str, territory: str, eligible: str) -> list[Part]:
    """The matched territory ``from_territory`` had no rep to give (``eligible`` NULL: nobody
    eligible; else everyone at capacity), so the lead went on to the fallback ``territory``."""
    return obj(
        ("step", "escalation"),
        ("outcome", "escalated"),
        ("from_territory_id", uuid_value(from_territory)),
        ("territory_id", uuid_value(territory)),
        (
            "reason",
            Sql(
                f"CASE WHEN {eligible} IS NULL THEN '\"no_eligible_owner\"' "
                "ELSE '\"at_capacity\"' END"
            ),
        ),
    )


def queue_step(territory: str) -> list[Part]:
    return obj(("step", "queue"), ("territory_id", uuid_value(territory)), ("outcome", "queued"))


def proximity_step() -> list[Part]:
    return obj(("step", "proximity"), ("outcome", "skipped"), ("reason", "bulk"))
