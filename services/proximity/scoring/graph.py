"""The tenant's social graph as sparse matrices, and multi-hop scoring on them (model.py).

Built once per tenant and graph version (cache.py), then one account's ranking is a few sparse
slices and max-product joins over the account's contacts' neighbourhood: no walk over every
path, no Python loop over people or pairs (loops run only over the few paths shown).

Three hops meet in the middle: ``p3(r, c) = max_{m1, m2} RA[r, m1] · W[m1, m2] · B1[m2, c]``,
with ``RA`` (rep → the reps' neighbours, damped) built with the graph and ``B1`` (the contacts'
neighbours → contact) per request, so a request touches the ties of the contacts' neighbours
that lead to a rep's neighbour, never the whole graph.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import overload

import numpy as np
import numpy.typing as npt
from scipy import sparse

from services.proximity.scoring.model import ScoringModel

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class GraphRows:
    """What the database holds for one tenant, as arrays (repository.load_graph)."""

    person_ids: list[uuid.UUID]
    person_names: list[str]
    person_kinds: list[str]
    rep_ids: list[uuid.UUID | None]  # per person
    account_ids: list[uuid.UUID | None]  # per person (contacts at an account)
    edge_a: IntArray  # person index
    edge_b: IntArray
    edge_kind: list[str]
    edge_strength: FloatArray
    edge_age_days: FloatArray  # NaN: no known last interaction


@dataclass(frozen=True, slots=True)
class EdgeTerm:
    """One tie of a path and the factors of its weight."""

    from_index: int
    to_index: int
    kind: str
    strength: float
    kind_weight: float
    recency: float
    weight: float


@dataclass(frozen=True, slots=True)
class PathTerm:
    """The best path from a rep to one contact: people (rep first), ties, the middle's damping."""

    people: list[int]
    edges: list[EdgeTerm]
    damping: list[float]  # per middle person
    hop_decay: float
    score: float
    contribution: float  # how much the rep's score falls without this contact's path


@dataclass(frozen=True, slots=True)
class RepScore:
    rep_id: uuid.UUID
    score: float
    contacts_reached: int
    paths: list[PathTerm]


def _ranges(starts: IntArray, counts: IntArray) -> IntArray:
    """Concatenated ``arange(start, start + count)`` for every pair, vectorised."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(starts - np.concatenate(([0], np.cumsum(counts)[:-1])), counts)
    return offsets + np.arange(total, dtype=np.int64)


def max_product(left: sparse.csr_matrix, right: sparse.csr_matrix) -> FloatArray:
    """``out[i, j] = max_k left[i, k] · right[k, j]`` (the (max, ×) semiring), dense out."""
    out = np.zeros((left.shape[0], right.shape[1]))
    if left.nnz == 0 or right.nnz == 0:
        return out
    left_rows = np.repeat(np.arange(left.shape[0]), np.diff(left.indptr))
    counts = np.diff(right.indptr)[left.indices]
    positions = _ranges(right.indptr[left.indices].astype(np.int64), counts.astype(np.int64))
    rows = np.repeat(left_rows, counts)
    values = np.repeat(left.data, counts) * right.data[positions]
    np.maximum.at(out, (rows, right.indices[positions]), values)
    return out


class UuidArray(Sequence[uuid.UUID]):
    """16-byte ids as one numpy array, read back as ``uuid.UUID`` one at a time: a graph of a
    million people holds no million Python objects for its ids."""

    def __init__(self, raw: npt.NDArray[np.bytes_]) -> None:
        self.raw = raw

    def __len__(self) -> int:
        return len(self.raw)

    @overload
    def __getitem__(self, index: int) -> uuid.UUID: ...

    @overload
    def __getitem__(self, index: slice) -> list[uuid.UUID]: ...

    def __getitem__(self, index: int | slice) -> uuid.UUID | list[uuid.UUID]:
        if isinstance(index, slice):
            return [_uuid(value) for value in self.raw[index]]
        return _uuid(self.raw[int(index)])


def _uuid(value: bytes) -> uuid.UUID:
    # numpy's fixed-width bytes drop trailing NULs when read.
    return uuid.UUID(bytes=bytes(value).ljust(16, b"\0"))


class _PersonKinds(Sequence[str]):
    def __init__(self, is_rep: npt.NDArray[np.bool_]) -> None:
        self.is_rep = is_rep

    def __len__(self) -> int:
        return len(self.is_rep)

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return ["rep" if value else "contact" for value in self.is_rep[index]]
        return "rep" if self.is_rep[int(index)] else "contact"


@dataclass(frozen=True, slots=True)
class GraphArrays:
    """``GraphRows`` as the loader reads it (repository.load_graph): numpy arrays throughout.
    Ids are 16-byte strings (``S16``); an empty one (all zero) stands for none."""

    person_ids: npt.NDArray[np.bytes_]
    person_names: Sequence[str]
    is_rep: npt.NDArray[np.bool_]
    rep_of: npt.NDArray[np.bytes_]  # per person: the rep it is, or empty
    account_of: npt.NDArray[np.bytes_]  # per person: the account it works at, or empty
    edge_a: IntArray
    edge_b: IntArray
    kinds: list[str]
    edge_kind: IntArray  # position in ``kinds``
    edge_strength: FloatArray
    edge_age_days: FloatArray

    @classmethod
    def of(cls, rows: "GraphRows | GraphArrays") -> "GraphArrays":
        if isinstance(rows, GraphArrays):
            return rows
        kinds = sorted(set(rows.edge_kind))
        kind_index = {kind: index for index, kind in enumerate(kinds)}

        def raw(ids: Sequence[uuid.UUID | None]) -> npt.NDArray[np.bytes_]:
            return np.array([value.bytes if value else b"" for value in ids], dtype="S16")

        return cls(
            person_ids=raw(rows.person_ids),
            person_names=rows.person_names,
            is_rep=np.array([kind == "rep" for kind in rows.person_kinds], dtype=bool),
            rep_of=raw(rows.rep_ids),
            account_of=raw(rows.account_ids),
            edge_a=rows.edge_a,
            edge_b=rows.edge_b,
            kinds=kinds,
            edge_kind=np.array([kind_index[kind] for kind in rows.edge_kind], dtype=np.int64),
            edge_strength=rows.edge_strength,
            edge_age_days=rows.edge_age_days,
        )


def _strongest_per_pair(
    source: IntArray, target: IntArray, weight: FloatArray, n: int
) -> tuple[IntArray, IntArray, IntArray]:
    """Sorted unique (source, target) and, for each, the entry with the largest weight (the
    first on a tie): one argsort of a single int64 key, not a three-key lexsort (~10× faster)."""
    key = source * max(n, 1) + target
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    starts = np.flatnonzero(np.r_[True, sorted_key[1:] != sorted_key[:-1]]) if len(key) else key
    if len(starts) == len(key):
        return source[order], target[order], order
    group = np.cumsum(np.r_[True, sorted_key[1:] != sorted_key[:-1]]) - 1
    sorted_weight = weight[order]
    best = np.maximum.reduceat(sorted_weight, starts)
    candidates = np.flatnonzero(sorted_weight == best[group])
    first = candidates[np.r_[True, group[candidates][1:] != group[candidates][:-1]]]
    chosen = order[first]
    return source[chosen], target[chosen], chosen


class TenantGraph:
    """One tenant's graph, its rep side precomputed; immutable once built."""

    def __init__(
        self, rows: "GraphRows | GraphArrays", model: ScoringModel, *, version: int
    ) -> None:
        arrays = GraphArrays.of(rows)
        self.version = version
        self.model = model
        self.person_ids: Sequence[uuid.UUID] = UuidArray(arrays.person_ids)
        self.person_names = arrays.person_names
        self.person_kinds: Sequence[str] = _PersonKinds(arrays.is_rep)
        n = len(arrays.person_ids)

        kinds = arrays.kinds
        kind_weight = np.array([model.kind_weight(kind) for kind in kinds] or [0.0])
        edge_kind = arrays.edge_kind
        recency = np.where(
            np.isnan(arrays.edge_age_days),
            1.0,
            0.5 ** (np.maximum(np.nan_to_num(arrays.edge_age_days), 0.0) / model.half_life_days),
        )
        weight = np.minimum(1.0, arrays.edge_strength * kind_weight[edge_kind]) * recency
        # Both directions, then per ordered pair the strongest kind.
        ties = len(weight)
        source, target, entry = _strongest_per_pair(
            np.concatenate((arrays.edge_a, arrays.edge_b)),
            np.concatenate((arrays.edge_b, arrays.edge_a)),
            np.concatenate((weight, weight)),
            n,
        )
        edge = entry % max(ties, 1)
        # (source, target) is sorted and unique, so CSR data is in this order: edge-aligned.
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(source, minlength=n), out=indptr[1:])
        self.weights = sparse.csr_matrix(
            (weight[edge], target.astype(np.int32), indptr.astype(np.int32)), shape=(n, n)
        )
        self._edge_of_entry = edge
        self._kinds = kinds
        self._edge_kind = edge_kind
        self._edge_strength = arrays.edge_strength
        self._edge_kind_weight = kind_weight[edge_kind]
        self._edge_recency = recency

        degree = np.diff(self.weights.indptr).astype(np.float64)
        self.damping = np.minimum(1.0, np.sqrt(model.hub_degree / np.maximum(degree, 1.0)))

        self.rep_person = np.flatnonzero(arrays.rep_of != b"").astype(np.int64)
        self.rep_ids: list[uuid.UUID] = [_uuid(value) for value in arrays.rep_of[self.rep_person]]
        self.rep_position = {rep_id: i for i, rep_id in enumerate(self.rep_ids)}
        self.rep_rows = self.weights[self.rep_person]  # |R| × n
        # By column, so a request's slice to the account's few people is cheap.
        self.rep_columns = self.rep_rows.tocsc()
        self.rep_neighbours = np.unique(self.rep_rows.indices).astype(np.int64)  # R1
        # Every person's ties to the reps' neighbours: a request takes its contacts' neighbours'.
        self.to_rep_neighbours = self.weights[:, self.rep_neighbours].tocsr()  # n × |R1|
        # rep → a neighbour m1 that is then the middle of a path: damped, one introduction.
        self.rep_to_neighbour = (
            self.rep_rows[:, self.rep_neighbours]
            @ sparse.diags(self.damping[self.rep_neighbours] * model.hop_decay)
        ).tocsr()

        # Contacts grouped by account (accounts in id order, contacts in person order).
        is_contact = ~arrays.is_rep & (arrays.account_of != b"")
        contact_people = np.flatnonzero(is_contact).astype(np.int64)
        accounts, contact_account = np.unique(
            arrays.account_of[contact_people], return_inverse=True
        )
        order = np.argsort(contact_account, kind="stable")
        self.contact_person = contact_people[order]
        self.contact_account = contact_account[order].astype(np.int64)
        self.account_ids: list[uuid.UUID] = [_uuid(value) for value in accounts]
        bounds = np.searchsorted(self.contact_account, np.arange(len(accounts) + 1))
        self.contacts_of: dict[uuid.UUID, IntArray] = {
            account_id: self.contact_person[bounds[i] : bounds[i + 1]]
            for i, account_id in enumerate(self.account_ids)
        }
        self.person_account = np.full(n, -1, dtype=np.int64)
        self.person_account[self.contact_person] = self.contact_account

    @property
    def tie_count(self) -> int:
        return int(self.weights.nnz // 2)

    def edge_term(self, source: int, target: int) -> EdgeTerm:
        start, end = self.weights.indptr[source], self.weights.indptr[source + 1]
        entry = start + int(np.searchsorted(self.weights.indices[start:end], target))
        edge = int(self._edge_of_entry[entry])
        return EdgeTerm(
            from_index=source,
            to_index=target,
            kind=self._kinds[int(self._edge_kind[edge])],
            strength=float(self._edge_strength[edge]),
            kind_weight=float(self._edge_kind_weight[edge]),
            recency=float(self._edge_recency[edge]),
            weight=float(self.weights.data[entry]),
        )

    def matrix(self, *, max_hops: int, block_contacts: int = 512) -> FloatArray:
        """Scores of every account (rows, ``account_ids`` order) × every rep (``rep_ids``
        order), computed a block of accounts at a time with the same joins as one ranking."""
        scores = np.zeros((len(self.account_ids), len(self.rep_ids)))
        sizes = np.array([len(self.contacts_of[a]) for a in self.account_ids], dtype=np.int64)
        ends = np.cumsum(sizes)
        first = 0
        while first < len(self.account_ids):
            # Accounts first..last-1: about block_contacts contact columns, at least one account.
            last = max(
                first + 1,
                int(
                    np.searchsorted(ends, ends[first] - sizes[first] + block_contacts, side="right")
                ),
            )
            columns = slice(int(ends[first] - sizes[first]), int(ends[last - 1]))
            scoring = _AccountScoring(
                self,
                self.contact_person[columns],
                max_hops,
                column_account=self.contact_account[columns],
            )
            with np.errstate(divide="ignore"):
                log_miss = np.log1p(-scoring.best)  # reps × columns
            starts = (ends[first:last] - sizes[first:last]) - columns.start
            scores[first:last] = (1.0 - np.exp(np.add.reduceat(log_miss, starts, axis=1))).T
            first = last
        return scores

    def closest_accounts(
        self, rep_id: uuid.UUID, *, max_hops: int, limit: int, paths_shown: int
    ) -> list[tuple[uuid.UUID, RepScore]]:
        """The accounts this rep is closest to, best first (score, contacts reached, id).

        Branch and bound: one walk from the rep bounds every account's score from above
        (``_reach`` allows paths through the account's other contacts), then accounts are
        scored exactly in the order of their bound until no bound can beat the last kept."""
        row = self.rep_position.get(rep_id)
        if row is None or len(self.account_ids) == 0:
            return []
        reach = _reach(self, row, max_hops)[self.contact_person]
        with np.errstate(divide="ignore"):
            log_miss = np.bincount(
                self.contact_account, weights=np.log1p(-reach), minlength=len(self.account_ids)
            )
        bound = 1.0 - np.exp(log_miss)
        order = np.argsort(-bound, kind="stable")
        found: list[tuple[uuid.UUID, RepScore]] = []
        for position in order.tolist():
            if bound[position] <= 0:
                break
            if len(found) >= limit and bound[position] < found[limit - 1][1].score - 1e-6:
                break
            account_id = self.account_ids[position]
            ranked, _ = self.rank(
                account_id,
                rep_ids=[rep_id],
                max_hops=max_hops,
                limit=1,
                paths_shown=paths_shown,
            )
            if ranked:
                found.append((account_id, ranked[0]))
                found.sort(key=lambda item: (-item[1].score, -item[1].contacts_reached, item[0]))
        return found[:limit]

    def rank(
        self,
        account_id: uuid.UUID,
        *,
        rep_ids: list[uuid.UUID] | None,
        max_hops: int,
        limit: int,
        paths_shown: int,
    ) -> tuple[list[RepScore], list[uuid.UUID]]:
        """Reps with a path, best first (score, contacts reached, rep_id), and the candidates
        without one (requested order, or rep_id order when every rep was a candidate)."""
        if rep_ids is None:
            candidate_rows = np.arange(len(self.rep_ids))
        else:
            candidate_rows = np.array(
                [self.rep_position[r] for r in rep_ids if r in self.rep_position], dtype=np.int64
            )
        scoring = _AccountScoring(self, self.contacts_of.get(account_id), max_hops)
        best = scoring.best[candidate_rows]  # candidates × contacts
        scores = 1.0 - np.prod(1.0 - best, axis=1)
        reached = (best > 0).sum(axis=1)
        candidate_ids = [self.rep_ids[i] for i in candidate_rows]
        with_path = np.flatnonzero(reached > 0)
        rounded = np.round(scores, 6)
        order = sorted(
            with_path.tolist(), key=lambda i: (-rounded[i], -reached[i], candidate_ids[i])
        )
        ranked = [
            RepScore(
                rep_id=candidate_ids[i],
                score=float(rounded[i]),
                contacts_reached=int(reached[i]),
                paths=scoring.paths(int(candidate_rows[i]), paths_shown, float(scores[i])),
            )
            for i in order[:limit]
        ]
        found = {candidate_ids[i] for i in with_path}
        if rep_ids is None:
            without = sorted(set(candidate_ids) - found)
        else:
            without = [r for r in rep_ids if r not in found]
        return ranked, without


def _reach(graph: "TenantGraph", row: int, max_hops: int) -> FloatArray:
    """Best path value from one rep's person to every person (without the rule that a path
    never passes through another contact of the same account: an upper bound of p(r, c))."""
    weights, model = graph.weights, graph.model
    frontier = sparse.csr_matrix(graph.rep_rows[row])
    best = frontier.toarray().ravel()
    for _ in range(max_hops - 1):
        # One more introduction: damping of the person stepped through, one hop decay.
        frontier = frontier.multiply(graph.damping * model.hop_decay).tocsr()
        reached = max_product(frontier, weights).ravel()
        best = np.maximum(best, reached)
        frontier = sparse.csr_matrix(reached)
    best[graph.rep_person[row]] = 0.0
    return best


class _AccountScoring:
    """Best path values from every rep to one account's contacts (levels: 1, 2, 3 ties), kept
    to explain the shown paths. Rows are reps in ``graph.rep_ids`` order, columns contacts."""

    def __init__(
        self,
        graph: TenantGraph,
        contacts: IntArray | None,
        max_hops: int,
        column_account: IntArray | None = None,
    ) -> None:
        """``contacts``: one column each; ``column_account``: each column's account position
        (several accounts at once: the matrix), else they are all one account's."""
        self.graph = graph
        self.contacts = contacts if contacts is not None else np.zeros(0, dtype=np.int64)
        weights = graph.weights
        k = len(self.contacts)
        self.levels = np.zeros((3, len(graph.rep_ids), k))
        self.best = self.levels[0]
        if k == 0 or len(graph.rep_ids) == 0:
            return
        self.levels[0] = graph.rep_columns[:, self.contacts].toarray()
        if column_account is None:
            column_account = graph.person_account[self.contacts]
        if max_hops >= 2:
            # The contacts' ties as (contact column, neighbour m, weight), m not a contact.
            counts = np.diff(weights.indptr)[self.contacts]
            entries = _ranges(weights.indptr[self.contacts].astype(np.int64), counts)
            column = np.repeat(np.arange(k), counts)
            neighbour = weights.indices[entries].astype(np.int64)
            # Never through a contact of the column's own account (that account was reached).
            keep = graph.person_account[neighbour] != column_account[column]
            column, neighbour, entries = column[keep], neighbour[keep], entries[keep]
            self.middle = np.unique(neighbour)  # M1
            position = np.searchsorted(self.middle, neighbour)
            # B1[m, c] = decay · h(m) · w(m, c): one introduction by m into contact c.
            value = weights.data[entries] * graph.damping[neighbour] * graph.model.hop_decay
            self.into_contact = sparse.csr_matrix(
                (value, (position, column)), shape=(len(self.middle), k)
            )
            self.into_columns = self.into_contact.tocsc()
            self.rep_to_middle = graph.rep_columns[:, self.middle].tocsr()
            self.levels[1] = max_product(self.rep_to_middle, self.into_contact)
            if max_hops >= 3 and len(self.middle):
                # W[m1, m2] for m1 a reps' neighbour, m2 a contacts' neighbour (W symmetric).
                self.neighbour_to_middle = graph.to_rep_neighbours[self.middle].T.tocsr()
                via = max_product(self.neighbour_to_middle, self.into_contact)
                own = graph.person_account[graph.rep_neighbours]
                via[own[:, None] == column_account[None, :]] = 0.0
                self.via_neighbour = via
                self.levels[2] = max_product(graph.rep_to_neighbour, sparse.csr_matrix(via))
        self.best = self.levels.max(axis=0)

    def paths(self, row: int, shown: int, score: float) -> list[PathTerm]:
        values = self.best[row]
        columns = [int(c) for c in np.argsort(-values, kind="stable")[:shown] if values[c] > 0]
        return [self._path(row, column, score) for column in columns]

    def _path(self, row: int, column: int, score: float) -> PathTerm:
        graph = self.graph
        rep_person = int(graph.rep_person[row])
        contact = int(self.contacts[column])
        hops = int(np.argmax(self.levels[:, row, column])) + 1
        if hops == 1:
            people = [rep_person, contact]
        elif hops == 2:
            people = [rep_person, self._middle_into(self.rep_to_middle, row, column), contact]
        else:
            links = graph.rep_to_neighbour
            start, end = links.indptr[row], links.indptr[row + 1]
            through = links.data[start:end] * self.via_neighbour[links.indices[start:end], column]
            neighbour = int(links.indices[start + int(np.argmax(through))])
            middle = self._middle_into(self.neighbour_to_middle, neighbour, column)
            people = [rep_person, int(graph.rep_neighbours[neighbour]), middle, contact]
        edges = [graph.edge_term(a, b) for a, b in zip(people[:-1], people[1:], strict=True)]
        damping = [float(graph.damping[m]) for m in people[1:-1]]
        others = np.delete(self.best[row], column)
        without = 1.0 - float(np.prod(1.0 - others))
        return PathTerm(
            people=people,
            edges=edges,
            damping=damping,
            hop_decay=graph.model.hop_decay ** (hops - 1),
            score=float(self.levels[hops - 1, row, column]),
            contribution=score - without,
        )

    def _middle_into(self, links: sparse.csr_matrix, row: int, column: int) -> int:
        """The contact's neighbour m that carries the best ``links[row, m] · B1[m, column]``."""
        into = np.zeros(len(self.middle))
        start, end = self.into_columns.indptr[column], self.into_columns.indptr[column + 1]
        into[self.into_columns.indices[start:end]] = self.into_columns.data[start:end]
        start, end = links.indptr[row], links.indptr[row + 1]
        middles = links.indices[start:end]
        return int(self.middle[middles[int(np.argmax(links.data[start:end] * into[middles]))]])
