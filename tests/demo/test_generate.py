"""The demo generator: the same seed gives the same organisation, and it hangs together."""

import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime

import shapely

from demo.generate import DemoOrganisation, generate
from tests.demo.conftest import ANCHOR, SEED


def test_same_seed_same_organisation(organisation: DemoOrganisation) -> None:
    again = generate(SEED, anchor=ANCHOR)
    assert again.fingerprint() == organisation.fingerprint()
    assert again.accounts == organisation.accounts
    assert again.ties == organisation.ties
    other = generate(SEED + 1, anchor=ANCHOR)
    assert other.fingerprint() != organisation.fingerprint()
    # Another seed moves accounts and reps, not the geography.
    assert [u.code for u in other.units] == [u.code for u in organisation.units]
    assert [a.postal_code for a in other.accounts] != [a.postal_code for a in organisation.accounts]


def test_same_seed_same_organisation_in_another_process(organisation: DemoOrganisation) -> None:
    """Nothing hangs on the process: set order (hash seed), import order, time of day."""
    summary = subprocess.run(
        [sys.executable, "-m", "demo", "summary", "--seed", str(SEED), "--anchor", str(ANCHOR)],
        env={**os.environ, "PYTHONHASHSEED": "4242"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f"fingerprint    {organisation.fingerprint()}" in summary
    assert f"accounts         {len(organisation.accounts):,}" in summary


def test_the_organisation_hangs_together(organisation: DemoOrganisation) -> None:
    counts = organisation.counts
    assert counts["units"] == 395  # NC 100 + VA 136 + GA 159 counties
    assert counts["accounts"] == 3000
    assert 20 <= counts["reps"] <= 24
    territories = {t.name: t for t in organisation.territories}
    # Every field territory is the union of its units; every unit lies in exactly one.
    field = [t for t in organisation.territories if t.level == 1]
    codes = Counter(code for t in field for code in t.unit_codes)
    assert set(codes) == {u.code for u in organisation.units} and set(codes.values()) == {1}
    # Every rep owns a territory, and every account lies inside its territory's polygon and is
    # owned by that territory's rep.
    assert {t.owner_external_id for t in organisation.territories} == {
        r.external_id for r in organisation.reps
    }
    for account in organisation.accounts[:500]:
        territory = territories[account.territory]
        assert account.unit_code in territory.unit_codes
        assert account.owner_external_id == territory.owner_external_id
        geometry = organisation.territory_geometries[account.territory]
        assert geometry.covers(shapely.Point(account.lon, account.lat))
    # Uneven on purpose: the heaviest territory has several times the accounts of the lightest.
    per_territory = Counter(a.territory for a in organisation.accounts)
    assert max(per_territory.values()) > 3 * min(per_territory.values())


def test_a_year_of_history_with_seasonality(organisation: DemoOrganisation) -> None:
    start = datetime(2025, 11, 1, tzinfo=UTC)
    end = datetime(2026, 11, 1, tzinfo=UTC)
    statuses = Counter(o.status for o in organisation.opportunities)
    assert statuses["won"] > 300 and statuses["lost"] > 300 and statuses["open"] > 100
    for opportunity in organisation.opportunities:
        assert opportunity.opened_at < end
        assert (opportunity.closed_at is None) == (opportunity.status == "open")
        if opportunity.closed_at is not None:
            assert max(start, opportunity.opened_at) <= opportunity.closed_at < end
    # The year starts with a pipeline: some were opened in the quarter before it.
    assert any(o.opened_at < start for o in organisation.opportunities)
    assert all(start <= a.occurred_at < end for a in organisation.activities)
    # Closes bunch up in the last month of a quarter.
    closes = Counter(o.closed_at.month for o in organisation.opportunities if o.closed_at)
    quarter_ends = sum(closes[m] for m in (3, 6, 9, 12)) / 4
    others = sum(closes[m] for m in (1, 2, 4, 5, 7, 8)) / 6
    assert quarter_ends > 1.3 * others
    # Quotas cover every quarter of the year and the next, for every field rep.
    rep_quarters = Counter(q.rep_external_id for q in organisation.quotas if q.rep_external_id)
    assert len(rep_quarters) == len([t for t in organisation.territories if t.level == 1])
    assert set(rep_quarters.values()) == {6}
