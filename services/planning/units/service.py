"""Unit-set rules: codes unique per set, valid (or explicitly repaired) polygons, point units
with given edges, overrides on top of the adjacency, islands joined and reported, imports on
the worker, measures from the assignment service's accounts."""

import uuid

from procrastinate import App
from sqlalchemy.ext.asyncio import AsyncSession

from services.planning.units import client as assignment_client
from services.planning.units import islands, repository
from services.planning.units.errors import (
    BadUpload,
    DuplicateCode,
    DuplicateSetName,
    ImportNotFound,
    OverrideExists,
    OverrideNotFound,
    SameUnit,
    UnitNotFound,
    UnitSetNotFound,
    UnknownEdgeUnits,
    WrongKind,
)
from services.planning.units.schemas import (
    AccountAggregation,
    AccountsAggregated,
    AdjacencyBuilt,
    EdgeList,
    EdgesAdded,
    ImportRead,
    IslandRead,
    NeighbourRead,
    OverrideCreate,
    OverrideCreated,
    OverrideRead,
    UnitCreate,
    UnitCreated,
    UnitRead,
    UnitSetCreate,
    UnitSetRead,
    UnitSetSummary,
)
from services.planning.units.tasks import TASK_NAME
from shared.geo import geometry_to_geojson, multipolygon_from_geojson
from shared.http_client import ServiceClient
from shared.models import AdjacencyOverride, BasicUnit, UnitImport, UnitSet
from shared.models.planning import OverrideAction, UnitSetKind

MAX_EDGE_ERRORS_LISTED = 1_000


def to_read(unit: BasicUnit) -> UnitRead:
    return UnitRead(
        id=unit.id,
        unit_set_id=unit.unit_set_id,
        code=unit.code,
        name=unit.name,
        measures=unit.measures,
        geometry=geometry_to_geojson(unit.geom),
        point=geometry_to_geojson(unit.point),
        created_at=unit.created_at,
        updated_at=unit.updated_at,
    )


def set_to_read(unit_set: UnitSet) -> UnitSetRead:
    return UnitSetRead(
        id=unit_set.id,
        name=unit_set.name,
        kind=unit_set.kind.value,
        adjacency=unit_set.adjacency.value,
        min_shared_border_m=unit_set.min_shared_border_m,
        required_measures=list(unit_set.required_measures),
        is_default=unit_set.is_default,
        adjacency_built_at=unit_set.adjacency_built_at,
        created_at=unit_set.created_at,
        updated_at=unit_set.updated_at,
    )


async def resolve_set(
    session: AsyncSession, *, tenant_id: uuid.UUID, unit_set_id: uuid.UUID | None
) -> UnitSet:
    """The named set, or the tenant's default set when none is named."""
    if unit_set_id is None:
        return await repository.default_set(session, tenant_id=tenant_id)
    unit_set = await repository.get_set(session, tenant_id=tenant_id, unit_set_id=unit_set_id)
    if unit_set is None:
        raise UnitSetNotFound(unit_set_id)
    return unit_set


# --- units ----------------------------------------------------------------------------------


async def create_unit(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    unit_set_id: uuid.UUID | None,
    data: UnitCreate,
    repair: bool,
) -> UnitCreated:
    unit_set = await resolve_set(session, tenant_id=tenant_id, unit_set_id=unit_set_id)
    if unit_set.kind != UnitSetKind.polygon:
        raise WrongKind(
            f"unit set {unit_set.name!r} holds point units: import them (with their edges)"
            f" through POST /planning/unit-sets/{unit_set.id}/units:import",
            field="unit_set_id",
        )
    geom, repair_note = multipolygon_from_geojson(data.geometry, field="geometry", repair=repair)
    if await repository.get_by_code(
        session, tenant_id=tenant_id, unit_set_id=unit_set.id, code=data.code
    ):
        raise DuplicateCode(data.code)
    unit = await repository.add(
        session,
        tenant_id=tenant_id,
        values={
            "unit_set_id": unit_set.id,
            "code": data.code,
            "name": data.name,
            "measures": data.measures,
            "geom": geom,
        },
    )
    return UnitCreated(**to_read(unit).model_dump(), repair_note=repair_note)


async def get_unit(session: AsyncSession, *, tenant_id: uuid.UUID, unit_id: uuid.UUID) -> UnitRead:
    unit = await repository.get(session, tenant_id=tenant_id, unit_id=unit_id)
    if unit is None:
        raise UnitNotFound(unit_id)
    return to_read(unit)


async def list_units(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    unit_set_id: uuid.UUID | None,
    limit: int,
    offset: int,
) -> list[UnitRead]:
    unit_set = await resolve_set(session, tenant_id=tenant_id, unit_set_id=unit_set_id)
    units = await repository.list_page(
        session, tenant_id=tenant_id, unit_set_id=unit_set.id, limit=limit, offset=offset
    )
    return [to_read(unit) for unit in units]


async def delete_unit(session: AsyncSession, *, tenant_id: uuid.UUID, unit_id: uuid.UUID) -> None:
    if not await repository.delete_unit(session, tenant_id=tenant_id, unit_id=unit_id):
        raise UnitNotFound(unit_id)


async def list_neighbours(
    session: AsyncSession, *, tenant_id: uuid.UUID, unit_id: uuid.UUID, limit: int, offset: int
) -> list[NeighbourRead]:
    if await repository.get(session, tenant_id=tenant_id, unit_id=unit_id) is None:
        raise UnitNotFound(unit_id)
    rows = await repository.list_neighbours(
        session, tenant_id=tenant_id, unit_id=unit_id, limit=limit, offset=offset
    )
    return [
        NeighbourRead(unit_id=neighbour_id, code=code, shared_border_m=length, kind=kind.value)
        for neighbour_id, code, length, kind in rows
    ]


# --- adjacency --------------------------------------------------------------------------------


async def _island_reads(
    session: AsyncSession, *, tenant_id: uuid.UUID, unit_set: UnitSet
) -> list[IslandRead]:
    connection = await repository.driver_connection(session)
    rows = await repository.island_links(connection, tenant_id=tenant_id, unit_set_id=unit_set.id)
    return [
        IslandRead(unit=row["a_code"], attached_to=row["b_code"], distance_m=row["distance_m"])
        for row in rows
    ]


async def _refresh_islands(
    session: AsyncSession, *, tenant_id: uuid.UUID, unit_set: UnitSet
) -> list[IslandRead]:
    connection = await repository.driver_connection(session)
    await islands.refresh_islands(
        connection,
        tenant_id=tenant_id,
        unit_set_id=unit_set.id,
        point_units=unit_set.kind == UnitSetKind.point,
    )
    return await _island_reads(session, tenant_id=tenant_id, unit_set=unit_set)


async def rebuild_adjacency(
    session: AsyncSession, *, tenant_id: uuid.UUID, unit_set_id: uuid.UUID | None
) -> AdjacencyBuilt:
    unit_set = await resolve_set(session, tenant_id=tenant_id, unit_set_id=unit_set_id)
    connection = await repository.driver_connection(session)
    await repository.lock_set(connection, tenant_id=tenant_id, unit_set_id=unit_set.id)
    await repository.analyze_units(connection)
    if unit_set.kind == UnitSetKind.polygon:
        pairs = await repository.rebuild_border_adjacency(
            connection,
            tenant_id=tenant_id,
            unit_set_id=unit_set.id,
            rule=unit_set.adjacency.value,
            min_shared_border_m=unit_set.min_shared_border_m,
        )
    else:
        await repository.compute_point_cells(
            connection, tenant_id=tenant_id, unit_set_id=unit_set.id
        )
        pairs = (
            await repository.set_counts(connection, tenant_id=tenant_id, unit_set_id=unit_set.id)
        )["explicit_edges"]
    found = await _refresh_islands(session, tenant_id=tenant_id, unit_set=unit_set)
    await repository.mark_adjacency_built(connection, tenant_id=tenant_id, unit_set_id=unit_set.id)
    return AdjacencyBuilt(pairs=pairs, islands=found)


async def add_edges(
    session: AsyncSession, *, tenant_id: uuid.UUID, unit_set_id: uuid.UUID, data: EdgeList
) -> EdgesAdded:
    """Given edges between units of the set; any unknown id refuses the whole list."""
    unit_set = await resolve_set(session, tenant_id=tenant_id, unit_set_id=unit_set_id)
    connection = await repository.driver_connection(session)
    a_codes = [edge.a for edge in data.edges]
    b_codes = [edge.b for edge in data.edges]
    known = await repository.known_codes(
        connection, tenant_id=tenant_id, unit_set_id=unit_set.id, codes=a_codes + b_codes
    )
    errors: list[dict[str, object]] = []
    total = 0
    for row, edge in enumerate(data.edges):
        for field, code in (("a", edge.a), ("b", edge.b)):
            if code not in known:
                total += 1
                if len(errors) < MAX_EDGE_ERRORS_LISTED:
                    errors.append(
                        {
                            "row": row,
                            "field": f"edges[{row}].{field}",
                            "message": f"unknown unit id {code!r} in this set",
                        }
                    )
                break
    if errors:
        raise UnknownEdgeUnits(errors, total=total, field="edges")
    await repository.lock_set(connection, tenant_id=tenant_id, unit_set_id=unit_set.id)
    if data.replace:
        await repository.delete_explicit_edges(
            connection, tenant_id=tenant_id, unit_set_id=unit_set.id
        )
    added = await repository.insert_explicit_edges(
        connection, tenant_id=tenant_id, unit_set_id=unit_set.id, a_codes=a_codes, b_codes=b_codes
    )
    found = await _refresh_islands(session, tenant_id=tenant_id, unit_set=unit_set)
    return EdgesAdded(added=added, islands=found)


# --- overrides ----------------------------------------------------------------------------


def _override_read(override: AdjacencyOverride, a: str, b: str) -> OverrideRead:
    return OverrideRead(
        id=override.id,
        a=a,
        b=b,
        action=override.action.value,
        reason=override.reason,
        created_at=override.created_at,
    )


async def add_override(
    session: AsyncSession, *, tenant_id: uuid.UUID, unit_set_id: uuid.UUID, data: OverrideCreate
) -> OverrideCreated:
    unit_set = await resolve_set(session, tenant_id=tenant_id, unit_set_id=unit_set_id)
    if data.a == data.b:
        raise SameUnit()
    ids = await repository.ids_by_code(
        session, tenant_id=tenant_id, unit_set_id=unit_set.id, codes=[data.a, data.b]
    )
    for field, code in (("a", data.a), ("b", data.b)):
        if code not in ids:
            raise UnknownEdgeUnits(
                [{"row": 0, "field": field, "message": f"unknown unit id {code!r} in this set"}],
                total=1,
                field=field,
            )
    (a, a_id), (b, b_id) = sorted(((data.a, ids[data.a]), (data.b, ids[data.b])), key=_by_id)
    connection = await repository.driver_connection(session)
    await repository.lock_set(connection, tenant_id=tenant_id, unit_set_id=unit_set.id)
    existing = await repository.find_override(
        session, tenant_id=tenant_id, unit_set_id=unit_set.id, unit_a_id=a_id, unit_b_id=b_id
    )
    if existing is not None:
        raise OverrideExists(data.a, data.b, existing.action.value)
    override = await repository.add_override(
        session,
        tenant_id=tenant_id,
        values={
            "unit_set_id": unit_set.id,
            "unit_a_id": a_id,
            "unit_b_id": b_id,
            "action": OverrideAction(data.action),
            "reason": data.reason,
        },
    )
    found = await _refresh_islands(session, tenant_id=tenant_id, unit_set=unit_set)
    return OverrideCreated(**_override_read(override, a, b).model_dump(), islands=found)


def _by_id(pair: tuple[str, uuid.UUID]) -> uuid.UUID:
    return pair[1]


async def list_overrides(
    session: AsyncSession, *, tenant_id: uuid.UUID, unit_set_id: uuid.UUID, limit: int, offset: int
) -> list[OverrideRead]:
    unit_set = await resolve_set(session, tenant_id=tenant_id, unit_set_id=unit_set_id)
    rows = await repository.list_overrides(
        session, tenant_id=tenant_id, unit_set_id=unit_set.id, limit=limit, offset=offset
    )
    return [_override_read(override, a, b) for override, a, b in rows]


async def delete_override(
    session: AsyncSession, *, tenant_id: uuid.UUID, unit_set_id: uuid.UUID, override_id: uuid.UUID
) -> None:
    unit_set = await resolve_set(session, tenant_id=tenant_id, unit_set_id=unit_set_id)
    connection = await repository.driver_connection(session)
    await repository.lock_set(connection, tenant_id=tenant_id, unit_set_id=unit_set.id)
    if not await repository.delete_override(
        session, tenant_id=tenant_id, unit_set_id=unit_set.id, override_id=override_id
    ):
        raise OverrideNotFound(override_id)
    await _refresh_islands(session, tenant_id=tenant_id, unit_set=unit_set)


# --- sets -----------------------------------------------------------------------------------


async def create_set(
    session: AsyncSession, *, tenant_id: uuid.UUID, data: UnitSetCreate
) -> UnitSetRead:
    if await repository.get_set_by_name(session, tenant_id=tenant_id, name=data.name):
        raise DuplicateSetName(data.name)
    unit_set = await repository.add_set(
        session,
        tenant_id=tenant_id,
        values={
            "name": data.name,
            "kind": UnitSetKind(data.kind),
            "adjacency": data.adjacency,
            "min_shared_border_m": data.min_shared_border_m,
            "required_measures": list(dict.fromkeys(data.required_measures)),
        },
    )
    return set_to_read(unit_set)


async def list_sets(
    session: AsyncSession, *, tenant_id: uuid.UUID, limit: int, offset: int
) -> list[UnitSetRead]:
    sets = await repository.list_sets(session, tenant_id=tenant_id, limit=limit, offset=offset)
    return [set_to_read(unit_set) for unit_set in sets]


async def get_set(
    session: AsyncSession, *, tenant_id: uuid.UUID, unit_set_id: uuid.UUID
) -> UnitSetSummary:
    unit_set = await resolve_set(session, tenant_id=tenant_id, unit_set_id=unit_set_id)
    connection = await repository.driver_connection(session)
    counts = await repository.set_counts(connection, tenant_id=tenant_id, unit_set_id=unit_set.id)
    return UnitSetSummary(
        **set_to_read(unit_set).model_dump(),
        units=counts["units"],
        border_edges=counts["border_edges"],
        explicit_edges=counts["explicit_edges"],
        overrides=counts["overrides"],
        islands=await _island_reads(session, tenant_id=tenant_id, unit_set=unit_set),
    )


async def delete_set(
    session: AsyncSession, *, tenant_id: uuid.UUID, unit_set_id: uuid.UUID
) -> None:
    if not await repository.delete_set(session, tenant_id=tenant_id, unit_set_id=unit_set_id):
        raise UnitSetNotFound(unit_set_id)


# --- imports --------------------------------------------------------------------------------


def import_to_read(unit_import: UnitImport) -> ImportRead:
    return ImportRead.model_validate(
        {
            "id": unit_import.id,
            "unit_set_id": unit_import.unit_set_id,
            "format": unit_import.format,
            "skip_invalid": unit_import.skip_invalid,
            "status": unit_import.status.value,
            "stage": unit_import.stage,
            "progress": unit_import.progress,
            "features": unit_import.features,
            "imported": unit_import.imported,
            "error_count": unit_import.error_count,
            "errors": unit_import.errors,
            "error": unit_import.error,
            "timings": unit_import.timings,
            "created_at": unit_import.created_at,
            "finished_at": unit_import.finished_at,
        }
    )


def decode_upload(body: bytes) -> str:
    if not body.strip():
        raise BadUpload("the body is empty: send the features", field="body")
    if b"\x00" in body:
        raise BadUpload(
            "the body holds a NUL byte (\\u0000), which cannot be stored; remove it",
            field="body",
        )
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadUpload(
            f"the body is not UTF-8 (byte {error.start}): save it as UTF-8", field="body"
        ) from None


async def queue_import(
    session: AsyncSession,
    queue: App,
    *,
    tenant_id: uuid.UUID,
    unit_set_id: uuid.UUID,
    fmt: str,
    skip_invalid: bool,
    body: str,
) -> ImportRead:
    unit_set = await resolve_set(session, tenant_id=tenant_id, unit_set_id=unit_set_id)
    unit_import = await repository.add_import(
        session,
        tenant_id=tenant_id,
        unit_set_id=unit_set.id,
        fmt=fmt,
        skip_invalid=skip_invalid,
        body=body,
    )
    # The row is committed with the request; the job finds it pending (or waits its turn).
    await session.commit()
    await queue.configure_task(TASK_NAME).defer_async(
        import_id=str(unit_import.id), tenant_id=str(tenant_id)
    )
    return import_to_read(unit_import)


async def get_import(
    session: AsyncSession, *, tenant_id: uuid.UUID, unit_set_id: uuid.UUID, import_id: uuid.UUID
) -> ImportRead:
    unit_import = await repository.get_import(
        session, tenant_id=tenant_id, unit_set_id=unit_set_id, import_id=import_id
    )
    if unit_import is None:
        raise ImportNotFound(import_id)
    return import_to_read(unit_import)


# --- measures from accounts ---------------------------------------------------------------


async def aggregate_accounts(
    session: AsyncSession,
    assignment: ServiceClient,
    *,
    tenant_id: uuid.UUID,
    api_key: str,
    unit_set_id: uuid.UUID,
    data: AccountAggregation,
) -> AccountsAggregated:
    unit_set = await resolve_set(session, tenant_id=tenant_id, unit_set_id=unit_set_id)
    point_units = unit_set.kind == UnitSetKind.point
    # No connection held while the assignment service pages out its accounts.
    await session.commit()
    fields = list(data.sums.values())
    located = await assignment_client.account_locations(assignment, api_key=api_key, fields=fields)
    connection = await repository.driver_connection(session)
    await repository.lock_set(connection, tenant_id=tenant_id, unit_set_id=unit_set.id)
    placed = await repository.aggregate_accounts(
        connection,
        tenant_id=tenant_id,
        unit_set_id=unit_set.id,
        point_units=point_units,
        count_measure=data.count_measure,
        sum_measures=list(data.sums),
        longitudes=located.longitudes,
        latitudes=located.latitudes,
        amounts=located.amounts,
    )
    counts = await repository.set_counts(connection, tenant_id=tenant_id, unit_set_id=unit_set.id)
    measures: list[str] = [data.count_measure, *data.sums]
    return AccountsAggregated(
        units=counts["units"],
        accounts=len(located.longitudes),
        placed=placed,
        unplaced=len(located.longitudes) - placed,
        measures=measures,
    )
