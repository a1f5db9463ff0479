"""The demo organisation, generated in memory from a seed: same seed and anchor, same data.

"Peachtree & Pines Software" sells across the Southeast (North Carolina, Virginia, Georgia):
three regions (one per state, each led by a regional manager), eighteen field territories built
the way many real ones were (every county goes to the nearest rep's home, so urban territories
end up far heavier than rural ones: health and the rebalanced scenario have something to show),
an inside-sales fallback, a few thousand accounts at real ZIP centroids, their contacts and a
social graph, a year of opportunities and activities up to the anchor month, and quotas.

Everything random comes from one ``numpy.random.Generator`` seeded with ``seed``, drawn in a
fixed order over inputs sorted by code; dates are offsets from ``anchor`` (the first day of a
month), so a run in another month shifts the calendar but not the organisation.
"""

import hashlib
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import numpy as np
import shapely
from scipy.cluster.vq import kmeans2
from shapely.geometry.base import BaseGeometry

from demo.geography import STATE_NAMES, STATES, County, ZipCentroid, counties, zip_centroids
from demo.identity import DEFAULT_SEED

FIELD_REPS = 18
ACCOUNTS = 3000

FIRST_NAMES = (
    "Ava Ben Chloe Dev Elena Felix Grace Hugo Iris Jamal Kira Liam Maya Noah Olivia Priya Quinn "
    "Rosa Sam Tariq Uma Victor Wendy Xavier Yara Zane Amir Bianca Carlos Dana Ethan Fatima "
    "Gabriel Hana Isaac Julia Kenji Lena Marcus Nadia Owen Paula Rafael Sofia Theo Valerie Will"
).split()
LAST_NAMES = (
    "Abbott Baker Carter Diaz Ellis Foster Garcia Hughes Ingram Jensen Kim Lopez Morgan Nguyen "
    "Okafor Patel Quintero Reyes Shah Turner Underwood Vance Walsh Xu Young Zimmerman Brooks "
    "Coleman Dawson Fleming Grant Hayes Jordan Keller Lambert Monroe Nash Porter Russo Stone"
).split()
COMPANY_WORDS = (
    "Blue Ridge,Piedmont,Tidewater,Peachtree,Longleaf,Cardinal,Chesapeake,Magnolia,Summit,"
    "Harbor,Riverbend,Oakmont,Pinecrest,Redbud,Cypress,Shenandoah,Catawba,Savannah,Keystone,"
    "Granite,Ironwood,Lakeside,Northstar,Old Dominion,Palmetto,Sandhill,Tar Heel,Yellow Pine"
).split(",")
# industry → (share of accounts, revenue per employee in USD, proposal size vs potential)
INDUSTRIES = {
    "Manufacturing": (0.18, 310_000, 1.0),
    "Healthcare": (0.14, 180_000, 1.1),
    "Software": (0.10, 260_000, 1.3),
    "Financial Services": (0.10, 420_000, 1.2),
    "Retail": (0.12, 210_000, 0.8),
    "Logistics": (0.09, 240_000, 0.9),
    "Construction": (0.09, 280_000, 0.8),
    "Professional Services": (0.10, 190_000, 1.0),
    "Education": (0.04, 120_000, 0.7),
    "Energy": (0.04, 650_000, 1.2),
}
COMPANY_KINDS = {
    "Manufacturing": ("Manufacturing", "Industries", "Components", "Works"),
    "Healthcare": ("Health", "Medical Group", "Clinics", "Care Partners"),
    "Software": ("Software", "Analytics", "Labs", "Systems"),
    "Financial Services": ("Capital", "Bank", "Financial", "Insurance"),
    "Retail": ("Outfitters", "Market", "Stores", "Supply"),
    "Logistics": ("Logistics", "Freight", "Transport", "Distribution"),
    "Construction": ("Builders", "Construction", "Contracting", "Homes"),
    "Professional Services": ("Consulting", "Partners", "Advisors", "Legal"),
    "Education": ("Academy", "College", "Learning", "Schools"),
    "Energy": ("Energy", "Power", "Solar", "Utilities"),
}
CONTACT_TITLES = (
    "CEO",
    "CFO",
    "CIO",
    "VP Sales",
    "VP Operations",
    "Head of IT",
    "Procurement Manager",
    "Operations Director",
    "Finance Manager",
    "IT Manager",
)
TOUCH_KINDS = ("email", "call", "meeting", "demo")
TOUCH_SHARES = (0.4, 0.3, 0.2, 0.1)
UPKEEP_KINDS = ("task", "email", "call")
OPEN_STAGES = ("Prospecting", "Qualification", "Proposal", "Negotiation")
EARTH_RADIUS_KM = 6371.0


@dataclass(frozen=True)
class Unit:
    code: str  # county FIPS
    name: str
    state: str
    geometry: BaseGeometry
    measures: dict[str, float]


@dataclass(frozen=True)
class Rep:
    external_id: str
    name: str
    email: str
    role: str  # field, manager or inside
    state: str | None
    home_zip: str
    home: tuple[float, float]  # lon, lat
    capacity: int
    skills: tuple[str, ...]
    segments: tuple[str, ...]
    manager_external_id: str | None
    # How well this rep sells, relative to 1: win rate and deal size lean on it.
    skill_factor: float


@dataclass(frozen=True)
class TerritoryPlan:
    name: str
    level: int  # 0 region, 1 field territory
    parent: str | None
    owner_external_id: str
    unit_codes: tuple[str, ...]  # empty for the fallback
    is_fallback: bool = False


@dataclass(frozen=True)
class Account:
    external_id: str
    name: str
    domain: str
    postal_code: str
    city: str
    state: str
    lon: float
    lat: float
    unit_code: str
    territory: str  # the field territory it falls in (geography of the active alignment)
    owner_external_id: str
    industry: str
    employee_count: int
    annual_revenue: float
    potential: float
    segment: str


@dataclass(frozen=True)
class Contact:
    external_id: str
    account_external_id: str
    name: str
    email: str
    title: str


@dataclass(frozen=True)
class Tie:
    a: str  # person external ids (rep:<id> or a contact's id)
    b: str
    kind: str
    strength: float
    last_interaction_at: datetime | None


@dataclass(frozen=True)
class Opportunity:
    external_id: str
    account_external_id: str
    rep_external_id: str
    territory: str
    name: str
    stage: str
    status: str  # open, won, lost
    amount: float
    is_new_business: bool
    opened_at: datetime
    closed_at: datetime | None


@dataclass(frozen=True)
class Activity:
    external_id: str
    kind: str
    rep_external_id: str
    account_external_id: str
    territory: str
    opportunity_external_id: str | None
    occurred_at: datetime
    duration_minutes: int | None


@dataclass(frozen=True)
class Quota:
    rep_external_id: str | None
    territory: str | None
    period_start: date
    period_end: date  # exclusive
    amount: float


@dataclass
class DemoOrganisation:
    seed: int
    anchor: date  # first day of the month the data runs up to (exclusive)
    units: list[Unit]
    reps: list[Rep]
    territories: list[TerritoryPlan]
    # Territory geometries by name (the union of their units), lon/lat.
    territory_geometries: dict[str, BaseGeometry]
    accounts: list[Account]
    contacts: list[Contact]
    ties: list[Tie]
    opportunities: list[Opportunity]
    activities: list[Activity]
    quotas: list[Quota]
    counts: dict[str, int] = field(default_factory=dict)

    def fingerprint(self) -> str:
        """A digest of everything generated: equal for equal seeds (the determinism test)."""
        digest = hashlib.sha256()
        for part in (
            self.units,
            self.reps,
            self.territories,
            self.accounts,
            self.contacts,
            self.ties,
            self.opportunities,
            self.activities,
            self.quotas,
        ):
            for item in part:
                digest.update(repr(item).encode())
        return digest.hexdigest()


def month_start(day: date) -> date:
    return day.replace(day=1)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _km(lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray) -> np.ndarray:
    """Great-circle distance (haversine), broadcasting."""
    lon1, lat1, lon2, lat2 = (np.radians(x) for x in (lon1, lat1, lon2, lat2))
    a = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(a))


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-").replace("--", "-")


class _Names:
    """Person names drawn from the lists; an e-mail handle gets a number once its name repeats."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.seen: Counter[str] = Counter()

    def person(self) -> tuple[str, str, str]:
        first = FIRST_NAMES[int(self.rng.integers(len(FIRST_NAMES)))]
        last = LAST_NAMES[int(self.rng.integers(len(LAST_NAMES)))]
        self.seen[f"{first} {last}"] += 1
        n = self.seen[f"{first} {last}"]
        handle = f"{first}.{last}".lower() + (str(n) if n > 1 else "")
        return first, last, handle


def _zip_weights(zips: tuple[ZipCentroid, ...]) -> np.ndarray:
    """Where businesses are: a city's weight grows faster than its ZIP count (agglomeration),
    shared among its standard ZIPs."""
    per_city = Counter((z.state, z.city) for z in zips)
    weights = np.array(
        [z.city_zip_count**1.25 / per_city[(z.state, z.city)] for z in zips], dtype=float
    )
    return weights / weights.sum()


def _reps_per_state(weights: np.ndarray, zips: tuple[ZipCentroid, ...]) -> dict[str, int]:
    """FIELD_REPS shared by the states' business weight (largest remainder, at least 3 each)."""
    share = {s: float(weights[[z.state == s for z in zips]].sum()) for s in STATES}
    exact = {s: 3 + share[s] * (FIELD_REPS - 3 * len(STATES)) for s in STATES}
    counts = {s: int(math.floor(exact[s])) for s in STATES}
    for s in sorted(STATES, key=lambda s: counts[s] - exact[s])[
        : FIELD_REPS - sum(counts.values())
    ]:
        counts[s] += 1
    return counts


def generate(seed: int = DEFAULT_SEED, *, anchor: date | None = None) -> DemoOrganisation:
    """The whole organisation for ``seed``, with a year of history up to ``anchor``'s month."""
    anchor = month_start(anchor or datetime.now(UTC).date())
    rng = np.random.default_rng(seed)
    county_list = counties()
    county_by_code = {county.code: county for county in county_list}
    zips = zip_centroids()
    weights = _zip_weights(zips)
    names = _Names(rng)

    reps, territories, unit_territory = _reps_and_territories(
        rng, names, county_list=county_list, zips=zips, weights=weights
    )
    rep_by_id = {rep.external_id: rep for rep in reps}
    territory_owner = {t.name: t.owner_external_id for t in territories}

    accounts = _accounts(
        rng, zips=zips, weights=weights, unit_territory=unit_territory, owners=territory_owner
    )
    units = _units(county_list, accounts)
    geometries = {
        t.name: shapely.union_all([county_by_code[code].geometry for code in t.unit_codes])
        for t in territories
        if t.unit_codes
    }
    contacts = _contacts(rng, names, accounts)
    ties = _ties(rng, anchor=anchor, reps=reps, accounts=accounts, contacts=contacts)
    opportunities, activities = _pipeline(rng, anchor=anchor, accounts=accounts, reps=rep_by_id)
    quotas = _quotas(rng, anchor=anchor, reps=reps, territories=territories, accounts=accounts)
    organisation = DemoOrganisation(
        seed=seed,
        anchor=anchor,
        units=units,
        reps=reps,
        territories=territories,
        territory_geometries=geometries,
        accounts=accounts,
        contacts=contacts,
        ties=ties,
        opportunities=opportunities,
        activities=activities,
        quotas=quotas,
    )
    organisation.counts = {
        "units": len(units),
        "reps": len(reps),
        "territories": len(territories),
        "accounts": len(accounts),
        "contacts": len(contacts),
        "connections": len(ties),
        "opportunities": len(opportunities),
        "activities": len(activities),
        "quotas": len(quotas),
    }
    return organisation


def _reps_and_territories(
    rng: np.random.Generator,
    names: _Names,
    *,
    county_list: tuple[County, ...],
    zips: tuple[ZipCentroid, ...],
    weights: np.ndarray,
) -> tuple[list[Rep], list[TerritoryPlan], dict[str, str]]:
    """Reps live where the business is (weighted k-means of the ZIP centroids per state); every
    county goes to the nearest field rep's home in its state: the historical alignment."""
    per_state = _reps_per_state(weights, zips)
    reps: list[Rep] = []
    territories: list[TerritoryPlan] = []
    unit_territory: dict[str, str] = {}
    lon = np.array([z.lon for z in zips])
    lat = np.array([z.lat for z in zips])
    used_names: set[str] = set()
    for state in STATES:
        in_state = np.flatnonzero([z.state == state for z in zips])
        # The manager lives in the state's biggest business city.
        biggest = int(in_state[np.argmax(weights[in_state])])
        manager = _rep(
            rng,
            names,
            external_id=f"demo-mgr-{state.lower()}",
            role="manager",
            state=state,
            home=zips[biggest],
            capacity=20,
            segments=("enterprise",),
            manager=None,
        )
        reps.append(manager)
        region = STATE_NAMES[state]
        territories.append(
            TerritoryPlan(
                name=region,
                level=0,
                parent=None,
                owner_external_id=manager.external_id,
                unit_codes=tuple(c.code for c in county_list if c.state == state),
            )
        )
        k = per_state[state]
        # Weighted k-means by sampling: ZIPs drawn in proportion to their weight, then scipy's
        # k-means++ (sklearn's sample weights would do the same, at seconds of import).
        sample = rng.choice(in_state, size=4000, p=weights[in_state] / weights[in_state].sum())
        found, _labels = kmeans2(
            np.column_stack([lon[sample], lat[sample]]), k, minit="++", seed=rng
        )
        centres = found[np.lexsort(found.T[::-1])]
        taken_counties: set[str] = set()
        homes: list[ZipCentroid] = []
        for centre in centres:
            distance = _km(lon[in_state], lat[in_state], centre[0], centre[1])
            # The heaviest ZIP near the centre, in a county no other rep of the state lives in.
            score = distance / (weights[in_state] / weights[in_state].max()) ** 0.5
            for index in in_state[np.argsort(score, kind="stable")]:
                if zips[int(index)].county_code not in taken_counties:
                    homes.append(zips[int(index)])
                    taken_counties.add(zips[int(index)].county_code)
                    break
        state_counties = [c for c in county_list if c.state == state]
        points = [c.geometry.representative_point() for c in state_counties]
        c_lon = np.array([p.x for p in points])
        c_lat = np.array([p.y for p in points])
        h_lon = np.array([h.lon for h in homes])
        h_lat = np.array([h.lat for h in homes])
        nearest = np.argmin(_km(c_lon[:, None], c_lat[:, None], h_lon, h_lat), axis=1)
        for index, county in enumerate(state_counties):
            if county.code in taken_counties:  # a home county stays with its rep
                nearest[index] = next(
                    i for i, h in enumerate(homes) if h.county_code == county.code
                )
        for rep_index, home in enumerate(homes):
            rep = _rep(
                rng,
                names,
                external_id=f"demo-rep-{state.lower()}-{rep_index + 1:02d}",
                role="field",
                state=state,
                home=home,
                capacity=int(rng.choice([40, 60, 80])),
                segments=(str(rng.choice(["smb", "mid-market", "mid-market", "enterprise"])),),
                manager=manager.external_id,
            )
            reps.append(rep)
            codes = tuple(c.code for i, c in enumerate(state_counties) if nearest[i] == rep_index)
            # Named after its biggest business city, as sales teams name their patches.
            cities: defaultdict[str, float] = defaultdict(float)
            for index in in_state:
                if zips[int(index)].county_code in codes:
                    cities[zips[int(index)].city] += float(weights[int(index)])
            biggest_city = max(sorted(cities), key=cities.__getitem__) if cities else home.city
            name = f"{state} {biggest_city}"
            while name in used_names:
                name += " II"
            used_names.add(name)
            territories.append(
                TerritoryPlan(
                    name=name,
                    level=1,
                    parent=region,
                    owner_external_id=rep.external_id,
                    unit_codes=codes,
                )
            )
            for code in codes:
                unit_territory[code] = name
    inside = _rep(
        rng,
        names,
        external_id="demo-rep-inside-01",
        role="inside",
        state=None,
        home=zips[int(np.argmax(weights))],
        capacity=200,
        segments=("smb",),
        manager=None,
    )
    reps.append(inside)
    territories.append(
        TerritoryPlan(
            name="Inside Sales",
            level=0,
            parent=None,
            owner_external_id=inside.external_id,
            unit_codes=(),
            is_fallback=True,
        )
    )
    return reps, territories, unit_territory


def _rep(
    rng: np.random.Generator,
    names: _Names,
    *,
    external_id: str,
    role: str,
    state: str | None,
    home: ZipCentroid,
    capacity: int,
    segments: tuple[str, ...],
    manager: str | None,
) -> Rep:
    first, last, handle = names.person()
    languages = ("spanish",) if rng.random() < 0.25 else ()
    return Rep(
        external_id=external_id,
        name=f"{first} {last}",
        email=f"{handle}@peachtree-pines.example",
        role=role,
        state=state,
        home_zip=home.code,
        home=(home.lon, home.lat),
        capacity=capacity,
        skills=tuple(sorted({"field" if role != "inside" else "inside", *languages})),
        segments=segments,
        manager_external_id=manager,
        skill_factor=float(np.clip(rng.normal(1.0, 0.22), 0.55, 1.5)),
    )


def _accounts(
    rng: np.random.Generator,
    *,
    zips: tuple[ZipCentroid, ...],
    weights: np.ndarray,
    unit_territory: dict[str, str],
    owners: dict[str, str],
) -> list[Account]:
    industries = list(INDUSTRIES)
    shares = np.array([INDUSTRIES[i][0] for i in industries])
    zip_index = rng.choice(len(zips), size=ACCOUNTS, p=weights)
    industry_index = rng.choice(len(industries), size=ACCOUNTS, p=shares / shares.sum())
    # Employees: heavy-tailed like real firm sizes (median ~60, a few thousand-strong).
    employees = np.clip(np.round(rng.lognormal(4.1, 1.35, ACCOUNTS)), 5, 60_000).astype(int)
    revenue_noise = rng.lognormal(0.0, 0.35, ACCOUNTS)
    potential_share = rng.uniform(0.004, 0.02, ACCOUNTS)
    words = rng.integers(len(COMPANY_WORDS), size=ACCOUNTS)
    kinds = rng.integers(4, size=ACCOUNTS)
    use_city = rng.random(ACCOUNTS) < 0.3
    seen: Counter[str] = Counter()
    accounts = []
    for i in range(ACCOUNTS):
        z = zips[int(zip_index[i])]
        industry = industries[int(industry_index[i])]
        prefix = z.city if use_city[i] else COMPANY_WORDS[int(words[i])]
        name = f"{prefix} {COMPANY_KINDS[industry][int(kinds[i])]}"
        seen[name] += 1
        if seen[name] > 1:
            name = f"{name} {['of', 'in'][seen[name] % 2]} {z.city}" + (
                f" {seen[name]}" if seen[name] > 3 else ""
            )
        revenue = float(round(employees[i] * INDUSTRIES[industry][1] * revenue_noise[i], -3))
        size = int(employees[i])
        segment = "enterprise" if size >= 1000 else "mid-market" if size >= 100 else "smb"
        territory = unit_territory[z.county_code]
        accounts.append(
            Account(
                external_id=f"demo-acct-{i + 1:05d}",
                name=name,
                domain=f"{_slug(name)}.example",
                postal_code=z.code,
                city=z.city,
                state=z.state,
                lon=z.lon,
                lat=z.lat,
                unit_code=z.county_code,
                territory=territory,
                owner_external_id=owners[territory],
                industry=industry,
                employee_count=size,
                annual_revenue=revenue,
                potential=float(round(revenue * potential_share[i], -2)),
                segment=segment,
            )
        )
    return accounts


def _units(county_list: tuple[County, ...], accounts: list[Account]) -> list[Unit]:
    """Every county, with the measures planners balance: accounts, potential and workload (an
    hour per account plus one per 100 employees, a visit costs more where accounts are big)."""
    count: Counter[str] = Counter()
    potential: defaultdict[str, float] = defaultdict(float)
    workload: defaultdict[str, float] = defaultdict(float)
    for account in accounts:
        count[account.unit_code] += 1
        potential[account.unit_code] += account.potential
        workload[account.unit_code] += 1 + account.employee_count / 100
    return [
        Unit(
            code=c.code,
            name=f"{c.name}, {c.state}",
            state=c.state,
            geometry=c.geometry,
            measures={
                "accounts": float(count[c.code]),
                "potential": round(potential[c.code], 2),
                "workload": round(workload[c.code], 1),
            },
        )
        for c in county_list
    ]


def _contacts(rng: np.random.Generator, names: _Names, accounts: list[Account]) -> list[Contact]:
    contacts = []
    for account in accounts:
        n = int(min(5, 1 + rng.poisson(0.4 + math.log10(account.employee_count) / 2)))
        titles = rng.choice(len(CONTACT_TITLES), size=n, replace=False)
        for j in range(n):
            first, last, _handle = names.person()
            contacts.append(
                Contact(
                    external_id=f"{account.external_id}-c{j + 1}",
                    account_external_id=account.external_id,
                    name=f"{first} {last}",
                    email=f"{first}.{last}".lower() + f"@{account.domain}",
                    title=CONTACT_TITLES[int(titles[j])],
                )
            )
    return contacts


def _ties(
    rng: np.random.Generator,
    *,
    anchor: date,
    reps: list[Rep],
    accounts: list[Account],
    contacts: list[Contact],
) -> list[Tie]:
    """Reps know contacts of their own accounts (recent calls, meetings, e-mails), a few outside
    their patch (former colleagues, school, social); contacts know their colleagues and some
    people at other companies of their industry and city. Several kinds between one pair are
    kept apart, as a CRM sync would send them."""
    now = datetime(anchor.year, anchor.month, anchor.day, tzinfo=UTC)

    def ago(mean_days: float) -> datetime:
        return now - timedelta(days=float(min(rng.exponential(mean_days), 900)), hours=9)

    def rep_person(rep_id: str) -> str:
        return f"rep:{rep_id}"

    ties: dict[tuple[str, str, str], Tie] = {}

    def tie(a: str, b: str, kind: str, strength: float, when: datetime | None) -> None:
        a, b = sorted((a, b))
        if a != b and (a, b, kind) not in ties:
            ties[(a, b, kind)] = Tie(a, b, kind, round(float(strength), 3), when)

    by_account: defaultdict[str, list[Contact]] = defaultdict(list)
    for contact in contacts:
        by_account[contact.account_external_id].append(contact)
    rep_by_id = {rep.external_id: rep for rep in reps}
    for account in accounts:
        people = by_account[account.external_id]
        for i, first in enumerate(people):
            for second in people[i + 1 :]:
                tie(
                    first.external_id, second.external_id, "colleague", rng.uniform(0.5, 0.95), None
                )
        owner = rep_by_id[account.owner_external_id]
        # A better rep knows more of its accounts' people.
        known = rng.random(len(people)) < 0.35 * owner.skill_factor
        for contact, knows in zip(people, known, strict=True):
            if knows:
                kind = str(rng.choice(["meeting", "call", "email"], p=[0.35, 0.3, 0.35]))
                tie(
                    rep_person(owner.external_id),
                    contact.external_id,
                    kind,
                    rng.uniform(0.3, 0.95),
                    ago(75),
                )
    contact_ids = [c.external_id for c in contacts]
    for rep in reps:
        # Ties outside the rep's own accounts: what makes a warm path into someone else's patch.
        for _ in range(int(rng.integers(8, 20))):
            contact_id = contact_ids[int(rng.integers(len(contact_ids)))]
            kind = str(rng.choice(["former_colleague", "shared_school", "social", "referral"]))
            tie(rep_person(rep.external_id), contact_id, kind, rng.uniform(0.2, 0.8), ago(300))
        if rep.manager_external_id:
            tie(
                rep_person(rep.external_id),
                rep_person(rep.manager_external_id),
                "colleague",
                0.9,
                ago(10),
            )
    field_reps = [rep for rep in reps if rep.role == "field"]
    for i, rep in enumerate(field_reps):
        for other in field_reps[i + 1 :]:
            if other.state == rep.state:
                tie(
                    rep_person(rep.external_id),
                    rep_person(other.external_id),
                    "colleague",
                    rng.uniform(0.4, 0.8),
                    ago(30),
                )
    # Contacts who know people at other companies of the same industry in the same city.
    peers: defaultdict[tuple[str, str], list[Contact]] = defaultdict(list)
    account_of = {a.external_id: a for a in accounts}
    for contact in contacts:
        account = account_of[contact.account_external_id]
        peers[(account.industry, account.city)].append(contact)
    for group in (peers[key] for key in sorted(peers)):
        if len(group) < 2:
            continue
        for _ in range(len(group) // 2):
            a, b = rng.choice(len(group), size=2, replace=False)
            if group[int(a)].account_external_id != group[int(b)].account_external_id:
                kind = str(rng.choice(["former_colleague", "social", "email"]))
                tie(
                    group[int(a)].external_id,
                    group[int(b)].external_id,
                    kind,
                    rng.uniform(0.2, 0.7),
                    ago(200),
                )
    return [ties[key] for key in sorted(ties)]


def _pipeline(
    rng: np.random.Generator, *, anchor: date, accounts: list[Account], reps: dict[str, Rep]
) -> tuple[list[Opportunity], list[Activity]]:
    """A year of opportunities and activities. Seasonality: more deals are opened in the spring
    and autumn, and many closes slip to the last weeks of a quarter (Q4 the most), as sales
    teams push for their numbers."""
    start = _add_months(anchor, -12)
    end = datetime(anchor.year, anchor.month, 1, tzinfo=UTC)
    origin = datetime(start.year, start.month, 1, tzinfo=UTC)
    # Deals are opened from a quarter before the year on, so that the year starts with a
    # pipeline; those that closed before it are left out.
    lead_in = origin - timedelta(days=91)
    days = (end - lead_in).days
    # Opening intensity by calendar month (Jan..Dec).
    month_weight = np.array([0.8, 0.9, 1.1, 1.2, 1.1, 0.9, 0.7, 0.8, 1.2, 1.3, 1.1, 0.7])
    day_months = np.array([(lead_in + timedelta(days=d)).month - 1 for d in range(days)])
    day_p = month_weight[day_months]
    day_p = day_p / day_p.sum()
    year_days = (end - origin).days
    year_p = day_p[-year_days:] / day_p[-year_days:].sum()
    opportunities: list[Opportunity] = []
    activities: list[Activity] = []
    activity_number = 0
    won_before: set[str] = set()

    def activity(
        kind: str, account: Account, rep: str, when: datetime, opportunity: str | None
    ) -> None:
        nonlocal activity_number
        activity_number += 1
        minutes = {"call": 20, "meeting": 45, "demo": 60, "email": None, "task": None}[kind]
        activities.append(
            Activity(
                external_id=f"demo-act-{activity_number:06d}",
                kind=kind,
                rep_external_id=rep,
                account_external_id=account.external_id,
                territory=account.territory,
                opportunity_external_id=opportunity,
                occurred_at=when,
                duration_minutes=minutes if minutes is None else int(minutes * rng.uniform(0.5, 2)),
            )
        )

    for account in accounts:
        rep = reps[account.owner_external_id]
        size_factor = math.log10(account.employee_count + 10)
        count = int(rng.poisson(0.7 * size_factor * rep.skill_factor))
        opening_days = np.sort(rng.choice(days, size=count, p=day_p))
        for n in range(count):
            opened = lead_in + timedelta(days=int(opening_days[n]), hours=10)
            cycle = float(rng.lognormal(math.log(35 + 12 * size_factor), 0.5))
            closed = opened + timedelta(days=cycle)
            q_month = ((closed.month - 1) // 3 + 1) * 3  # last month of its quarter
            quarter_end = datetime(
                closed.year + q_month // 12, q_month % 12 + 1, 1, tzinfo=UTC
            ) - timedelta(hours=12)
            slip = 0.6 if q_month == 12 else 0.45
            if rng.random() < slip and (quarter_end - closed).days < 65:
                closed = quarter_end - timedelta(days=float(rng.uniform(0, 12)))
            amount = float(
                round(
                    account.potential
                    * INDUSTRIES[account.industry][2]
                    * rng.lognormal(-1.2, 0.6)
                    * rep.skill_factor,
                    -2,
                )
            )
            amount = max(amount, 1_000.0)
            external_id = f"{account.external_id}-o{n + 1}"
            win_p = float(np.clip(0.3 * rep.skill_factor * (1.15 if n else 1.0), 0.08, 0.6))
            won = rng.random() < win_p
            if closed < origin:  # closed before the year: only whether it made a customer
                if won:
                    won_before.add(account.external_id)
                continue
            if closed >= end:
                status = "open"
                stage = OPEN_STAGES[min(3, int((end - opened).days / max(cycle, 1) * 4))]
                closed_at = None
            else:
                status = "won" if won else "lost"
                stage = "Closed Won" if status == "won" else "Closed Lost"
                closed_at = closed
            opportunities.append(
                Opportunity(
                    external_id=external_id,
                    account_external_id=account.external_id,
                    rep_external_id=rep.external_id,
                    territory=account.territory,
                    name=f"{account.name} – {['New', 'Expansion', 'Renewal'][min(n, 2)]}",
                    stage=stage,
                    status=status,
                    amount=amount,
                    is_new_business=account.external_id not in won_before,
                    opened_at=opened,
                    closed_at=closed_at,
                )
            )
            if status == "won":
                won_before.add(account.external_id)
            last = min(closed, end - timedelta(hours=1))
            span = max((last - opened).total_seconds(), 3600.0)
            touches = 2 + int(rng.poisson(2 + 2 * rep.skill_factor))
            kinds = rng.choice(TOUCH_KINDS, size=touches, p=TOUCH_SHARES)
            for offset, kind in zip(np.sort(rng.uniform(0, span, touches)), kinds, strict=True):
                when = opened + timedelta(seconds=float(offset))
                if when >= origin:
                    activity(str(kind), account, rep.external_id, when, external_id)
        # Account upkeep without an opportunity: tasks and check-ins.
        upkeep = int(rng.poisson(1.2))
        upkeep_days = rng.choice(year_days, size=upkeep, p=year_p)
        for day, kind in zip(upkeep_days, rng.choice(UPKEEP_KINDS, size=upkeep), strict=True):
            when = origin + timedelta(days=int(day), hours=14)
            activity(str(kind), account, rep.external_id, when, None)
    return opportunities, activities


def _quotas(
    rng: np.random.Generator,
    *,
    anchor: date,
    reps: list[Rep],
    territories: list[TerritoryPlan],
    accounts: list[Account],
) -> list[Quota]:
    """A quarterly quota per field rep and for its territory, for every quarter of the year of
    history and the next one, from the territory's potential (not from what it won: the
    territories set up badly miss theirs, the light ones beat theirs)."""
    potential: defaultdict[str, float] = defaultdict(float)
    for account in accounts:
        potential[account.territory] += account.potential
    mean = sum(potential.values()) / max(1, len(potential))
    first = _add_months(anchor, -12)
    first = date(first.year, (first.month - 1) // 3 * 3 + 1, 1)
    quarters = []
    quarter = first
    while quarter <= _add_months(anchor, 3):
        quarters.append((quarter, _add_months(quarter, 3)))
        quarter = _add_months(quarter, 3)
    quotas = []
    for territory in territories:
        if territory.level != 1:
            continue
        # Ops sets quotas halfway between "even for everyone" and "by potential".
        base = (0.5 * mean + 0.5 * potential[territory.name]) * 0.22
        for index, (period_start, period_end) in enumerate(quarters):
            amount = float(round(base * (1.0 + 0.04 * index) * rng.uniform(0.95, 1.05), -3))
            quotas.append(
                Quota(territory.owner_external_id, None, period_start, period_end, amount)
            )
            quotas.append(Quota(None, territory.name, period_start, period_end, amount))
    return quotas
