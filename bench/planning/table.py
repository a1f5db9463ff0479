"""The printed tables: every run on every map, realignment, and the targets."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bench.planning.targets import Target


@dataclass(frozen=True)
class Tables:
    text: str
    rows: list[dict[str, str]]


def grid(headers: Sequence[str], cells: Sequence[Sequence[str]]) -> str:
    everything = [tuple(headers), *[tuple(row) for row in cells]]
    widths = [max(len(row[i]) for row in everything) for i in range(len(headers))]
    lines = []
    for index, row in enumerate(everything):
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


NOTE_WIDTH = 90
RUN_HEADERS = (
    "map",
    "units",
    "k",
    "method",
    "feasible",
    "max deviation",
    "cut edges",
    "diameter km",
    "wall s",
    "peak MiB",
    "note",
)


def _run_row(case: dict[str, Any], run: Any) -> dict[str, str]:
    info = case["instance"]
    row = {
        "map": info["name"],
        "units": str(info["units"]),
        "k": str(info["territories"]),
        "method": run.method,
        "feasible": "",
        "max deviation": "",
        "cut edges": "",
        "diameter km": "",
        "wall s": f"{run.wall_seconds:.1f}" if run.wall_seconds is not None else "",
        "peak MiB": f"{run.peak_rss_mib:.0f}" if run.peak_rss_mib else "",
        "note": run.error or run.note,
    }
    evaluation = run.evaluation
    if evaluation is not None:
        row["feasible"] = "yes" if evaluation.feasible else "NO"
        row["max deviation"] = "/".join(f"{v:.1%}" for v in evaluation.max_deviation)
        row["cut edges"] = str(evaluation.cut_edges)
        row["diameter km"] = f"{evaluation.max_diameter_km:.0f}"
        if not evaluation.feasible:
            row["note"] = "; ".join(filter(None, [*evaluation.problems, row["note"]]))
    elif not run.error:
        row["feasible"] = "no plan"
    if run.method.startswith("gerrychain-recom") and "steps" in run.details:
        row["note"] = f"{run.details['steps']} steps; " + row["note"]
    if run.method == "mip" and run.details.get("lower_bound") is not None:
        row["note"] = f"{row['note']}, lower bound {run.details['lower_bound']:.0f}"
    row["note"] = row["note"].strip("; ")
    if len(row["note"]) > NOTE_WIDTH:  # the JSON keeps the whole text
        row["note"] = row["note"][: NOTE_WIDTH - 3] + "..."
    return row


def render(cases: list[dict[str, Any]], targets: list[Target]) -> Tables:
    rows = [_run_row(case, run) for case in cases for run in case["runs"]]
    parts = [grid(RUN_HEADERS, [[row[h] for h in RUN_HEADERS] for row in rows])]
    realign_rows = []
    for case in cases:
        realignment = case["realignment"]
        if not realignment:
            continue
        for run in realignment["runs"]:
            realign_rows.append(_run_row(case, run))
        if "moved_by_realignment" in realignment:
            realign_rows[-2]["note"] = (
                f"moved {realignment['moved_by_realignment']} units; " + realign_rows[-2]["note"]
            )
            realign_rows[-1]["note"] = (
                f"moved {realignment['moved_by_fresh_design']} units (territories matched); "
                + realign_rows[-1]["note"]
            )
    if realign_rows:
        parts.append("Realignment after a 10% shift in the measures (from our plan above):")
        parts.append(grid(RUN_HEADERS, [[row[h] for h in RUN_HEADERS] for row in realign_rows]))
    target_headers = ("target", "map", "ours", "baseline (same run)", "verdict")
    parts.append("Targets (issue 8):")
    parts.append(
        grid(
            target_headers,
            [[t.target, t.instance, t.figure, t.baseline, t.verdict] for t in targets],
        )
    )
    return Tables("\n\n".join(parts), rows + realign_rows)
