"""The issue's targets (issue 8, "Benchmark"), each judged from the figures of this run."""

from dataclasses import dataclass
from typing import Any

MET, NOT_MET, NA = "met", "NOT met", "n/a"
SINGLE_TOLERANCE = 0.005
MULTI_TOLERANCE = 0.05
MIP_GAP_EDGES = 1
MIP_SECONDS = 10.0
MEDIUM_UNITS = (300, 700)
MEDIUM_SECONDS = 60.0
LARGE = {"units": 3000, "territories": 30, "seconds": 10.0}
HUGE = {"units": 30000, "territories": 300, "seconds": 120.0, "mib": 2048.0}
REALIGN_SHARE = 0.25


@dataclass(frozen=True)
class Target:
    target: str
    instance: str
    figure: str
    baseline: str
    verdict: str

    def as_dict(self) -> dict[str, str]:
        return dict(self.__dict__)


def _verdict(ok: bool) -> str:
    return MET if ok else NOT_MET


def _by_method(case: dict[str, Any]) -> dict[str, Any]:
    return {run.method: run for run in case["runs"]}


def assess(cases: list[dict[str, Any]], *, ours_missing: str | None) -> list[Target]:
    found: list[Target] = []
    for case in cases:
        info = case["instance"]
        name, units, k = info["name"], info["units"], info["territories"]
        runs = _by_method(case)
        ours = runs.get("ours")
        if ours_missing or ours is None:
            found.append(Target("our engine ran", name, ours_missing or "not run", "", NA))
            continue
        evaluation = ours.evaluation
        if evaluation is None:
            found.append(Target("a plan", name, ours.error or ours.note or "none", "", NOT_MET))
            continue
        found.extend(_feasibility(case, runs))
        found.extend(_against_gerrychain(name, runs))
        mip = runs.get("mip")
        if mip is not None and units <= 100 and k <= 7:
            found.append(_against_mip(name, ours, mip))
        if MEDIUM_UNITS[0] <= units <= MEDIUM_UNITS[1]:
            found.append(_medium(name, ours, runs))
        if k == LARGE["territories"] and units >= 2000:
            # A time target counts only with a plan that meets the constraints.
            found.append(
                Target(
                    f"{units:,} units into {k} territories, feasible, in <= {LARGE['seconds']:g} s",
                    name,
                    f"{ours.wall_seconds:.1f} s, "
                    f"{'feasible' if evaluation.feasible else 'NOT feasible'}",
                    "",
                    _verdict(evaluation.feasible and ours.wall_seconds <= LARGE["seconds"]),
                )
            )
        if k == HUGE["territories"] and units >= 25000:
            ok = (
                evaluation.feasible
                and ours.wall_seconds <= HUGE["seconds"]
                and ours.peak_rss_mib <= HUGE["mib"]
            )
            found.append(
                Target(
                    f"{units:,} units into {k} territories, feasible, in <= {HUGE['seconds']:g} s, "
                    f"<= {HUGE['mib'] / 1024:g} GB",
                    name,
                    f"{ours.wall_seconds:.1f} s, peak RSS {ours.peak_rss_mib:.0f} MiB, "
                    f"{'feasible' if evaluation.feasible else 'NOT feasible'}",
                    "",
                    _verdict(ok),
                )
            )
        if case["realignment"]:
            found.append(_realignment(name, case["realignment"]))
    return found


def _feasibility(case: dict[str, Any], runs: dict[str, Any]) -> list[Target]:
    info = case["instance"]
    ours = runs["ours"].evaluation
    others = [
        method
        for method, run in runs.items()
        if method != "ours" and run.evaluation is not None and run.evaluation.feasible
    ]
    mip = runs.get("mip")
    proven_infeasible = mip is not None and mip.note == "infeasible"
    tolerances = info["tolerances"]
    if len(tolerances) == 1:
        what = f"±{tolerances[0]:.1%} single-measure balance, contiguous"
    else:
        what = f"±{max(tolerances):.0%} {len(tolerances)}-measure balance, contiguous"
    if ours.feasible:
        verdict = MET
    elif proven_infeasible:
        verdict = f"{NA} (MIP: infeasible)"
    elif others:
        verdict = NOT_MET
    else:
        verdict = f"{NOT_MET} (no method found one)"
    figure = "feasible" if ours.feasible else "; ".join(ours.problems)
    baseline = f"feasible: {', '.join(others)}" if others else "no baseline feasible"
    return [Target(what, info["name"], figure, baseline, verdict)]


def _against_gerrychain(name: str, runs: dict[str, Any]) -> list[Target]:
    """Fewer cut edges and a smaller largest diameter than GerryChain's best plan at equal
    wall time (the ReCom chain given our wall time; its start plan is a tree partition)."""
    ours = runs["ours"]
    recom = runs.get("gerrychain-recom")
    if recom is None or recom.evaluation is None:
        figure = recom.error or recom.note if recom is not None else "not run"
        return [Target("fewer cut edges than GerryChain at equal time", name, "", figure, NA)]
    theirs = recom.evaluation
    mine = ours.evaluation
    steps = recom.details.get("steps", "?")
    baseline = (
        f"ReCom {theirs.cut_edges} cut, {theirs.max_diameter_km:.0f} km "
        f"({steps} steps, {'feasible' if theirs.feasible else 'NOT feasible'})"
    )
    ratio = mine.cut_edges / theirs.cut_edges if theirs.cut_edges else float("nan")
    return [
        Target(
            "fewer cut edges, smaller diameter than GerryChain ReCom at equal time",
            name,
            f"{mine.cut_edges} cut ({ratio:.2f}x), {mine.max_diameter_km:.0f} km "
            f"({mine.max_diameter_km / max(theirs.max_diameter_km, 1e-9):.2f}x)",
            baseline,
            _verdict(
                mine.cut_edges < theirs.cut_edges and mine.max_diameter_km < theirs.max_diameter_km
            ),
        )
    ]


def _against_mip(name: str, ours: Any, mip: Any) -> Target:
    target = f"within {MIP_GAP_EDGES} cut edge of the proven optimum in <= {MIP_SECONDS:g} s"
    mine = ours.evaluation
    status = mip.details.get("status", mip.error or "no result")
    bound = mip.details.get("lower_bound")
    best = mip.details.get("objective")
    baseline = f"MIP {status}: " + (
        f"optimum {best:.0f}" if status == "optimal" else f"best {best}, lower bound {bound}"
    )
    figure = f"{mine.cut_edges} cut in {ours.wall_seconds:.1f} s"
    if status != "optimal":
        if bound is not None:
            figure += f" (gap to bound <= {mine.cut_edges - bound:.0f})"
        return Target(target, name, figure, baseline, f"{NA} (optimum not proven)")
    ok = (
        mine.feasible
        and mine.cut_edges <= best + MIP_GAP_EDGES
        and ours.wall_seconds <= MIP_SECONDS
    )
    return Target(target, name, figure, baseline, _verdict(ok))


def _medium(name: str, ours: Any, runs: dict[str, Any]) -> Target:
    ten_k = runs.get("gerrychain-recom-10k")
    reference = ten_k if ten_k is not None and ten_k.evaluation is not None else None
    label = "10,000-step ReCom"
    if reference is None:
        reference = runs.get("gerrychain-recom")
        label = "equal-time ReCom (--full runs 10,000 steps)"
    mine = ours.evaluation
    target = f"better than GerryChain's 10,000-step ReCom in <= {MEDIUM_SECONDS:g} s"
    if reference is None or reference.evaluation is None:
        return Target(target, name, f"{mine.cut_edges} cut", f"{label}: no plan", NA)
    theirs = reference.evaluation
    steps = reference.details.get("steps", "?")
    ok = (
        mine.feasible
        and (mine.cut_edges < theirs.cut_edges or not theirs.feasible)
        and ours.wall_seconds <= MEDIUM_SECONDS
    )
    return Target(
        target,
        name,
        f"{mine.cut_edges} cut in {ours.wall_seconds:.1f} s",
        f"{label}: {theirs.cut_edges} cut, {steps} steps, "
        f"{'feasible' if theirs.feasible else 'NOT feasible'}",
        _verdict(ok),
    )


def _realignment(name: str, realignment: dict[str, Any]) -> Target:
    target = f"realignment after a 10% shift moves < {REALIGN_SHARE:.0%} of a fresh design's"
    realigned, _ = realignment["runs"]
    if "moved_by_realignment" not in realignment:
        return Target(target, name, "no plan", "", NOT_MET)
    moved = realignment["moved_by_realignment"]
    fresh = realignment["moved_by_fresh_design"]
    share = moved / fresh if fresh else float("inf") if moved else 0.0
    feasible = realigned.evaluation is not None and realigned.evaluation.feasible
    return Target(
        target,
        name,
        f"{moved} units ({share:.0%}), {'feasible' if feasible else 'NOT feasible'}",
        f"fresh design moves {fresh}",
        _verdict(feasible and share < REALIGN_SHARE),
    )
