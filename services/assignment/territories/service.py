"""Territory rules: a hierarchy within one draft alignment (levels follow the parents, no
cycles), names unique per alignment, at most one fallback, polygons checked and repaired by
PostGIS and kept subdivided in `territory_part`, members from the tenant's reps; and the
all-or-nothing GeoJSON import and the export it round-trips with."""

import json
import uuid
from collections import defaultdict, deque
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import null
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.assignment.alignments.service import require_alignment, require_draft
from services.assignment.events import service as events_service
from services.assignment.reps.errors import RepNotFound
from services.assignment.rules.criteria import Criteria, compile_criteria
from services.assignment.territories import repository
from services.assignment.territories.errors import (
    DuplicateMember,
    DuplicateTerritoryName,
    FallbackExists,
    MemberNotFound,
    ParentCycle,
    ParentInOtherAlignment,
    TerritoryHasChildren,
    TerritoryNotFound,
)
from services.assignment.territories.repository import GeometryProblem, TerritoryHead
from services.assignment.territories.schemas import (
    WGS84_CRS_NAMES,
    MemberCreate,
    MemberRead,
    RepairedFeature,
    TerritoryCreate,
    TerritoryFeature,
    TerritoryFeatureProperties,
    TerritoryImport,
    TerritoryImportResult,
    TerritoryRead,
    TerritoryUpdate,
)
from shared.errors import InvalidGeometry, InvalidInput
from shared.models import MemberRole

_FEATURE = TypeAdapter(TerritoryFeature)
_NOT_NULLABLE = (
    "name", "priority", "distribution_rule", "required_skills", "is_fallback", "attributes",
)  # fmt: skip
_PROPERTY_NAMES = frozenset(TerritoryFeatureProperties.model_fields)
_WGS84 = frozenset(name.lower() for name in WGS84_CRS_NAMES)


def to_read(row: Any) -> TerritoryRead:
    return TerritoryRead(
        id=row.id,
        alignment_id=row.alignment_id,
        parent_id=row.parent_id,
        name=row.name,
        level=row.level,
        geometry=row.geometry,
        area_km2=row.area_km2,
        criteria=row.criteria,
        priority=row.priority,
        distribution_rule=row.distribution_rule,
        required_skills=row.required_skills,
        is_fallback=row.is_fallback,
        members=[MemberRead.model_validate(member) for member in row.members],
        attributes=row.attributes or {},
        repair_note=row.repair_note,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def _require_head(
    session: AsyncSession, *, tenant_id: uuid.UUID, territory_id: uuid.UUID
) -> TerritoryHead:
    head = await repository.get_head(session, tenant_id=tenant_id, territory_id=territory_id)
    if head is None:
        raise TerritoryNotFound(territory_id)
    return head


async def _read(
    session: AsyncSession, *, tenant_id: uuid.UUID, territory_id: uuid.UUID
) -> TerritoryRead:
    row = await repository.read(session, tenant_id=tenant_id, territory_id=territory_id)
    if row is None:
        raise TerritoryNotFound(territory_id)
    return to_read(row)


def _criteria_problem(criteria: Criteria) -> str | None:
    """Criteria the lead engine could not compile (too deep, unusable literal), as a message."""
    try:
        compile_criteria(criteria)
    except ValueError as error:
        return f"criteria cannot be used: {error}"
    return None


def _criteria_json(criteria: Criteria | None) -> dict[str, Any] | None:
    if criteria is None:
        return None
    problem = _criteria_problem(criteria)
    if problem is not None:
        raise InvalidInput(problem, field="criteria")
    return criteria.model_dump(by_alias=True, exclude_none=True)


def _database_message(error: DBAPIError) -> str:
    cause = getattr(error.orig, "__cause__", None)
    return str(getattr(cause, "message", None) or error.orig).strip()


async def _geometry_problems(
    session: AsyncSession, *, geometries: list[tuple[int, dict[str, Any]]], repair: bool
) -> list[GeometryProblem]:
    """Every geometry PostGIS rejects or finds invalid. One statement checks them all; if
    PostGIS cannot even parse one, halves are retried (in savepoints) down to the culprits."""
    if not geometries:
        return []
    try:
        async with session.begin_nested():
            return await repository.check_geometries(session, geometries=geometries, repair=repair)
    except DBAPIError as error:
        if len(geometries) == 1:
            message = f"PostGIS cannot read this GeoJSON geometry: {_database_message(error)}"
            return [GeometryProblem(geometries[0][0], message, None, None)]
    middle = len(geometries) // 2
    return [
        *await _geometry_problems(session, geometries=geometries[:middle], repair=repair),
        *await _geometry_problems(session, geometries=geometries[middle:], repair=repair),
    ]


def _geometry_verdict(problem: GeometryProblem, *, repair: bool) -> tuple[str | None, str | None]:
    """(why the geometry is rejected, or None; the repair note, or None)."""
    if problem.problem is not None:
        return problem.problem, None
    reason = problem.invalid_reason
    if not repair:
        return (
            f"invalid polygon: {reason}; fix it, or resend with ?repair=true to store the "
            "ST_MakeValid repair",
            None,
        )
    if problem.nothing_left:
        return f"invalid polygon with no area left after repair: {reason}", None
    return None, f"repaired with ST_MakeValid: {reason}"


async def _checked_geometry(
    session: AsyncSession, *, geometry: dict[str, Any], repair: bool
) -> str | None:
    """Raise 422 invalid-geometry unless the geometry can be stored; return the repair note."""
    for problem in await _geometry_problems(session, geometries=[(0, geometry)], repair=repair):
        rejection, note = _geometry_verdict(problem, repair=repair)
        if rejection is not None:
            raise InvalidGeometry(rejection, field="geometry")
        return note
    return None


async def _check_and_insert(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    alignment_id: uuid.UUID,
    collection: str,
    geometries: list[tuple[int, dict[str, Any]]],
    territories: list[dict[str, Any]],
    repair: bool,
    write: bool,
) -> tuple[dict[int, str], dict[int, str]]:
    """Check the geometries and, if ``write`` and none is rejected, insert the territories,
    in one statement. Returns (rejection, repair note) messages by feature position."""
    try:
        async with session.begin_nested():
            problems = await repository.check_and_insert(
                session,
                tenant_id=tenant_id,
                alignment_id=alignment_id,
                collection=collection,
                positions=[position for position, _ in geometries],
                territories=territories,
                repair=repair,
                write=write,
            )
    except DBAPIError as error:
        if isinstance(error, IntegrityError):
            raise
        # PostGIS could not even parse some geometry: find which ones.
        problems = await _geometry_problems(session, geometries=geometries, repair=repair)
        verdicts = [_geometry_verdict(problem, repair=repair)[0] for problem in problems]
        if write and not any(verdicts):
            raise InvalidInput(
                "PostgreSQL cannot read the collection as JSON (NaN and Infinity are not JSON "
                f"numbers): {_database_message(error)}",
                field="features",
            ) from error
    rejections: dict[int, str] = {}
    notes: dict[int, str] = {}
    for problem in problems:
        rejection, note = _geometry_verdict(problem, repair=repair)
        if rejection is not None:
            rejections[problem.position] = rejection
        elif note is not None:
            notes[problem.position] = note
    return rejections, notes


async def _ensure_no_other_fallback(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    alignment_id: uuid.UUID,
    territory_id: uuid.UUID | None = None,
) -> None:
    await repository.lock_fallback(session, alignment_id=alignment_id)
    name = await repository.fallback_name(
        session, tenant_id=tenant_id, alignment_id=alignment_id, other_than=territory_id
    )
    if name is not None:
        raise FallbackExists(name)


async def _ensure_name_free(
    session: AsyncSession, *, tenant_id: uuid.UUID, alignment_id: uuid.UUID, name: str
) -> None:
    if await repository.heads_by_name(
        session, tenant_id=tenant_id, alignment_id=alignment_id, names=[name]
    ):
        raise DuplicateTerritoryName(name)


async def _parent_level(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    alignment_id: uuid.UUID,
    parent_id: uuid.UUID | None,
) -> int:
    """The level of a child of ``parent_id`` (0 at the top), after checking the parent."""
    if parent_id is None:
        return 0
    parent = await repository.get_head(session, tenant_id=tenant_id, territory_id=parent_id)
    if parent is None:
        raise TerritoryNotFound(parent_id, field="parent_id")
    if parent.alignment_id != alignment_id:
        raise ParentInOtherAlignment(parent_id)
    return parent.level + 1


async def _changed(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    territory_id: uuid.UUID,
    alignment_id: uuid.UUID,
    change: str,
    detail: dict[str, Any] | None = None,
) -> None:
    """``territory.changed`` in the write's transaction (territories change in drafts: the
    integrator learns of them going live from ``alignment.published``)."""
    await events_service.record(
        session,
        tenant_id=tenant_id,
        event_type="territory.changed",
        subject_id=territory_id,
        payload={
            "territory_id": territory_id,
            "alignment_id": alignment_id,
            "change": change,
            **(detail or {}),
        },
    )


async def create_territory(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    alignment_id: uuid.UUID,
    data: TerritoryCreate,
    repair: bool,
) -> TerritoryRead:
    await require_draft(session, tenant_id=tenant_id, alignment_id=alignment_id)
    level = await _parent_level(
        session, tenant_id=tenant_id, alignment_id=alignment_id, parent_id=data.parent_id
    )
    await _ensure_name_free(session, tenant_id=tenant_id, alignment_id=alignment_id, name=data.name)
    if data.is_fallback:
        await _ensure_no_other_fallback(session, tenant_id=tenant_id, alignment_id=alignment_id)
    criteria = _criteria_json(data.criteria)
    territory_id = uuid.uuid4()
    geometries = [(0, data.geometry)] if data.geometry is not None else []
    rejections, notes = await _check_and_insert(
        session,
        tenant_id=tenant_id,
        alignment_id=alignment_id,
        collection=json.dumps({"features": [{"geometry": data.geometry}]}),
        geometries=geometries,
        territories=[
            {
                "position": 0,
                "id": territory_id,
                "parent_id": data.parent_id,
                "name": data.name,
                "level": level,
                "criteria": criteria,
                "priority": data.priority,
                "distribution_rule": data.distribution_rule.value,
                "required_skills": data.required_skills,
                "is_fallback": data.is_fallback,
                "attributes": data.attributes,
            }
        ],
        repair=repair,
        write=True,
    )
    if 0 in rejections:
        raise InvalidGeometry(rejections[0], field="geometry")
    if 0 in notes:
        await repository.set_repair_notes(
            session, tenant_id=tenant_id, notes={territory_id: notes[0]}
        )
    if data.geometry is not None:
        await repository.rebuild_parts(session, tenant_id=tenant_id, territory_ids=[territory_id])
    await _changed(
        session,
        tenant_id=tenant_id,
        territory_id=territory_id,
        alignment_id=alignment_id,
        change="created",
        detail={"name": data.name},
    )
    return await _read(session, tenant_id=tenant_id, territory_id=territory_id)


async def get_territory(
    session: AsyncSession, *, tenant_id: uuid.UUID, territory_id: uuid.UUID
) -> TerritoryRead:
    return await _read(session, tenant_id=tenant_id, territory_id=territory_id)


async def list_territories(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    alignment_id: uuid.UUID,
    include_geometry: bool,
    limit: int,
    offset: int,
) -> list[TerritoryRead]:
    await require_alignment(session, tenant_id=tenant_id, alignment_id=alignment_id)
    rows = await repository.read_page(
        session,
        tenant_id=tenant_id,
        alignment_id=alignment_id,
        include_geometry=include_geometry,
        limit=limit,
        offset=offset,
    )
    return [to_read(row) for row in rows]


async def update_territory(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    territory_id: uuid.UUID,
    data: TerritoryUpdate,
    repair: bool,
) -> TerritoryRead:
    head = await _require_head(session, tenant_id=tenant_id, territory_id=territory_id)
    await require_draft(session, tenant_id=tenant_id, alignment_id=head.alignment_id)
    fields = data.model_dump(exclude_unset=True)
    for name in _NOT_NULLABLE:
        if name in fields and fields[name] is None:
            raise InvalidInput(f"{name} cannot be null; omit it to keep its value", field=name)
    values: dict[str, Any] = {
        name: fields[name]
        for name in (
            "name", "priority", "distribution_rule", "required_skills", "is_fallback", "attributes",
        )
        if name in fields
    }  # fmt: skip
    if "name" in values and values["name"] != head.name:
        await _ensure_name_free(
            session, tenant_id=tenant_id, alignment_id=head.alignment_id, name=values["name"]
        )
    if "parent_id" in fields and fields["parent_id"] != head.parent_id:
        parent_id = fields["parent_id"]
        level = await _parent_level(
            session, tenant_id=tenant_id, alignment_id=head.alignment_id, parent_id=parent_id
        )
        if parent_id is not None and await repository.is_self_or_descendant(
            session, tenant_id=tenant_id, territory_id=territory_id, candidate_id=parent_id
        ):
            raise ParentCycle(territory_id, parent_id)
        values["parent_id"] = parent_id
        values["level"] = level
    if values.get("is_fallback") and not head.is_fallback:
        await _ensure_no_other_fallback(
            session, tenant_id=tenant_id, alignment_id=head.alignment_id, territory_id=territory_id
        )
    if "criteria" in fields:
        criteria = _criteria_json(data.criteria)
        # JSON null is not SQL NULL: "no criteria" must be a NULL column.
        values["criteria"] = null() if criteria is None else criteria
    repair_note = None
    if data.geometry is not None:
        repair_note = await _checked_geometry(session, geometry=data.geometry, repair=repair)

    if values:
        await repository.update_fields(
            session, tenant_id=tenant_id, territory_id=territory_id, values=values
        )
    if "geometry" in fields:
        await repository.set_geometry(
            session,
            tenant_id=tenant_id,
            territory_id=territory_id,
            geometry=data.geometry,
            repair=repair,
        )
        # The note describes the stored polygon: a new one replaces it (or clears it).
        await repository.set_repair_notes(
            session, tenant_id=tenant_id, notes={territory_id: repair_note}
        )
        await repository.rebuild_parts(session, tenant_id=tenant_id, territory_ids=[territory_id])
    if "level" in values and values["level"] != head.level:
        await repository.relevel_subtree(
            session, tenant_id=tenant_id, territory_id=territory_id, level=values["level"]
        )
    await _changed(
        session,
        tenant_id=tenant_id,
        territory_id=territory_id,
        alignment_id=head.alignment_id,
        change="updated",
        detail={"fields": sorted(fields)},
    )
    return await _read(session, tenant_id=tenant_id, territory_id=territory_id)


async def delete_territory(
    session: AsyncSession, *, tenant_id: uuid.UUID, territory_id: uuid.UUID
) -> None:
    head = await _require_head(session, tenant_id=tenant_id, territory_id=territory_id)
    await require_draft(session, tenant_id=tenant_id, alignment_id=head.alignment_id)
    children = await repository.child_count(session, tenant_id=tenant_id, territory_id=territory_id)
    if children:
        raise TerritoryHasChildren(territory_id, children)
    await repository.delete_territory(session, tenant_id=tenant_id, territory_id=territory_id)
    await _changed(
        session,
        tenant_id=tenant_id,
        territory_id=territory_id,
        alignment_id=head.alignment_id,
        change="deleted",
    )


async def add_member(
    session: AsyncSession, *, tenant_id: uuid.UUID, territory_id: uuid.UUID, data: MemberCreate
) -> MemberRead:
    head = await _require_head(session, tenant_id=tenant_id, territory_id=territory_id)
    await require_draft(session, tenant_id=tenant_id, alignment_id=head.alignment_id)
    if await repository.missing_reps(session, tenant_id=tenant_id, rep_ids=[data.rep_id]):
        raise RepNotFound(data.rep_id)
    if await repository.member_exists(
        session, tenant_id=tenant_id, territory_id=territory_id, rep_id=data.rep_id, role=data.role
    ):
        raise DuplicateMember(data.rep_id, data.role.value)
    await repository.insert_members(
        session,
        tenant_id=tenant_id,
        members=[
            {
                "territory_id": territory_id,
                "rep_id": data.rep_id,
                "role": data.role.value,
                "weight": data.weight,
            }
        ],
    )
    row = await repository.read_member(
        session, tenant_id=tenant_id, territory_id=territory_id, rep_id=data.rep_id, role=data.role
    )
    await _changed(
        session,
        tenant_id=tenant_id,
        territory_id=territory_id,
        alignment_id=head.alignment_id,
        change="member_added",
        detail={"rep_id": data.rep_id, "role": data.role.value},
    )
    return MemberRead.model_validate(row, from_attributes=True)


async def remove_member(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    territory_id: uuid.UUID,
    rep_id: uuid.UUID,
    role: MemberRole | None,
) -> None:
    head = await _require_head(session, tenant_id=tenant_id, territory_id=territory_id)
    await require_draft(session, tenant_id=tenant_id, alignment_id=head.alignment_id)
    removed = await repository.delete_members(
        session, tenant_id=tenant_id, territory_id=territory_id, rep_id=rep_id, role=role
    )
    if removed == 0:
        raise MemberNotFound(rep_id, role.value if role else None)
    await _changed(
        session,
        tenant_id=tenant_id,
        territory_id=territory_id,
        alignment_id=head.alignment_id,
        change="member_removed",
        detail={"rep_id": rep_id, "role": role.value if role else None},
    )


async def export_geojson(
    session: AsyncSession, *, tenant_id: uuid.UUID, alignment_id: uuid.UUID
) -> str:
    await require_alignment(session, tenant_id=tenant_id, alignment_id=alignment_id)
    return await repository.export_feature_collection(
        session, tenant_id=tenant_id, alignment_id=alignment_id
    )


def _location(location: tuple[int | str, ...]) -> str:
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _levels(
    indexes: list[int], parent_of: dict[int, int], fixed_levels: dict[int, int]
) -> dict[int, int]:
    """Levels by walking down from the roots (Kahn's order): a feature whose parent is
    another feature sits one below it; ``fixed_levels`` holds the levels of features hanging
    under existing territories. Features in or under a parent cycle are never reached."""
    children: dict[int, list[int]] = defaultdict(list)
    for child, parent in parent_of.items():
        children[parent].append(child)
    levels = {index: fixed_levels.get(index, 0) for index in indexes if index not in parent_of}
    queue = deque(levels)
    while queue:
        parent = queue.popleft()
        for child in children[parent]:
            levels[child] = levels[parent] + 1
            queue.append(child)
    return levels


def _check_crs(crs: dict[str, Any] | None) -> None:
    """RFC 7946 coordinates are WGS 84 longitude, latitude; a legacy crs member naming another
    system means the numbers are something else (metres of a projection...): refuse them."""
    if crs is None:
        return
    properties = crs.get("properties")
    name = properties.get("name") if isinstance(properties, dict) else None
    if isinstance(name, str) and name.strip().lower() in _WGS84:
        return
    described = repr(name) if isinstance(name, str) else json.dumps(crs)[:200]
    raise InvalidInput(
        f"the collection's crs is {described}, not WGS 84: GeoJSON coordinates are WGS 84 "
        "longitude, latitude (RFC 7946). Reproject the file to WGS 84 (e.g. ogr2ogr -t_srs "
        "EPSG:4326 out.geojson in.geojson) and import it again",
        field="crs",
    )


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _territory_feature(raw: Any, *, name_property: str | None) -> Any:
    """A feature as ``TerritoryFeature`` reads it: the name from ``name_property`` (as text),
    every property it does not know (a non-UUID ``id`` too, the original ``name`` when another
    property names the territory) moved into ``attributes``."""
    if not isinstance(raw, dict) or not isinstance(raw.get("properties"), dict):
        return raw  # the validation says what is wrong
    properties = dict(raw["properties"])
    extra = {key: properties.pop(key) for key in list(properties) if key not in _PROPERTY_NAMES}
    if "id" in properties and properties["id"] is not None and not _is_uuid(properties["id"]):
        extra["id"] = properties.pop("id")
    if name_property is not None and name_property != "name":
        if "name" in properties:
            extra["name"] = properties.pop("name")
        source = properties if name_property in properties else extra
        if name_property in source:
            properties["name"] = source.pop(name_property)
    if isinstance(properties.get("name"), int | float) and not isinstance(properties["name"], bool):
        properties["name"] = str(properties["name"])
    if extra:
        given = properties.get("attributes")
        properties["attributes"] = {**extra, **given} if isinstance(given, dict) else extra
        if given is not None and not isinstance(given, dict):
            properties["attributes"] = given  # not an object: the validation says so
    return {**raw, "properties": properties}


def _feature_message(detail: Any, *, name_property: str | None) -> str:
    if detail["type"] == "missing" and tuple(detail["loc"]) == ("properties", "name"):
        if name_property is not None:
            return f"the feature has no {name_property!r} property (?name_property)"
        return (
            "the feature has no name property: add one, or say which property holds the "
            "territory's name with ?name_property=<property>"
        )
    return str(detail["msg"])


async def import_territories(
    session: AsyncSession,
    *,
    tenant_id: uuid.UUID,
    alignment_id: uuid.UUID,
    data: TerritoryImport,
    collection: str,
    repair: bool,
    name_property: str | None = None,
) -> TerritoryImportResult:
    """Create one territory per feature, all or nothing: every feature is checked and the
    problems of all of them are reported together; only a clean collection is written.
    ``collection`` is the request body as sent: PostGIS reads the geometries from it.
    ``name_property``: the feature property holding the name (default ``name``)."""
    await require_draft(session, tenant_id=tenant_id, alignment_id=alignment_id)
    _check_crs(data.crs)
    errors: list[dict[str, Any]] = []

    def fail(index: int, field: str, message: str) -> None:
        errors.append({"index": index, "field": f"features[{index}].{field}", "message": message})

    features: dict[int, TerritoryFeature] = {}
    for index, raw in enumerate(data.features):
        try:
            features[index] = _FEATURE.validate_python(
                _territory_feature(raw, name_property=name_property)
            )
        except ValidationError as error:
            for detail in error.errors():
                fail(
                    index,
                    _location(detail["loc"]) or "feature",
                    _feature_message(detail, name_property=name_property),
                )

    index_by_name: dict[str, int] = {}
    for index, feature in features.items():
        name = feature.properties.name
        if name in index_by_name:
            fail(index, "properties.name", f"feature {index_by_name[name]} has the name {name!r}")
        else:
            index_by_name[name] = index
    parent_names = {f.properties.parent for f in features.values() if f.properties.parent}
    existing = await repository.heads_by_name(
        session,
        tenant_id=tenant_id,
        alignment_id=alignment_id,
        names=sorted(set(index_by_name) | parent_names),
    )
    for name in existing.keys() & index_by_name.keys():
        fail(
            index_by_name[name],
            "properties.name",
            f"the alignment already has a territory named {name!r}",
        )

    # The hierarchy: parents by name among the features, else among the alignment's territories.
    parent_of: dict[int, int] = {}
    existing_parent: dict[int, TerritoryHead] = {}
    for index, feature in features.items():
        parent = feature.properties.parent
        if parent is None:
            continue
        if parent in index_by_name:
            parent_of[index] = index_by_name[parent]
        elif parent in existing:
            existing_parent[index] = existing[parent]
        else:
            fail(
                index,
                "properties.parent",
                f"no valid feature of this collection and no territory of the alignment is "
                f"named {parent!r}",
            )
    levels = _levels(
        list(features),
        parent_of,
        {index: head.level + 1 for index, head in existing_parent.items()},
    )
    for index in features.keys() - levels.keys():
        fail(
            index,
            "properties.parent",
            f"the parent chain of {features[index].properties.name!r} loops (a cycle) instead "
            "of reaching a top-level territory",
        )

    fallbacks = [index for index, feature in features.items() if feature.properties.is_fallback]
    if fallbacks:
        await repository.lock_fallback(session, alignment_id=alignment_id)
        current = await repository.fallback_name(
            session, tenant_id=tenant_id, alignment_id=alignment_id
        )
        for index in fallbacks:
            if current is not None:
                fail(index, "properties.is_fallback", f"the alignment's fallback is {current!r}")
            elif len(fallbacks) > 1:
                fail(
                    index,
                    "properties.is_fallback",
                    f"features {fallbacks} all set is_fallback; at most one territory can",
                )

    criteria: dict[int, dict[str, Any] | None] = {}
    for index, feature in features.items():
        criteria[index] = None
        if feature.properties.criteria is not None:
            unusable = _criteria_problem(feature.properties.criteria)
            if unusable is not None:
                fail(index, "properties.criteria", unusable)
            criteria[index] = feature.properties.criteria.model_dump(
                by_alias=True, exclude_none=True
            )

    missing = await repository.missing_reps(
        session,
        tenant_id=tenant_id,
        rep_ids=sorted({m.rep_id for f in features.values() for m in f.properties.members}),
    )
    for index, feature in features.items():
        seen: set[tuple[uuid.UUID, MemberRole]] = set()
        for position, member in enumerate(feature.properties.members):
            field = f"properties.members[{position}].rep_id"
            if member.rep_id in missing:
                fail(index, field, f"no rep with id {member.rep_id} in this tenant")
            if (member.rep_id, member.role) in seen:
                fail(index, field, f"rep {member.rep_id} is listed twice as {member.role.value}")
            seen.add((member.rep_id, member.role))

    geometries = [(i, f.geometry) for i, f in features.items() if f.geometry is not None]
    ids = {index: uuid.uuid4() for index in features}
    write = not errors
    territories = [
        {
            "position": index,
            "id": ids[index],
            "parent_id": (
                ids[parent_of[index]]
                if index in parent_of
                else existing_parent[index].id
                if index in existing_parent
                else None
            ),
            "name": feature.properties.name,
            "level": levels[index],
            "criteria": criteria[index],
            "priority": feature.properties.priority,
            "distribution_rule": feature.properties.distribution_rule.value,
            "required_skills": feature.properties.required_skills,
            "is_fallback": feature.properties.is_fallback,
            "attributes": feature.properties.attributes,
        }
        for index, feature in features.items()
        if write
    ]
    rejections, notes = await _check_and_insert(
        session,
        tenant_id=tenant_id,
        alignment_id=alignment_id,
        collection=collection,
        geometries=geometries,
        territories=territories,
        repair=repair,
        write=write,
    )
    for position, rejection in rejections.items():
        fail(position, "geometry", rejection)
    if errors:
        errors.sort(key=lambda error: error["index"])
        failed = len({error["index"] for error in errors})
        raise InvalidInput(
            f"{failed} of {len(data.features)} features are invalid, so nothing was imported: "
            "fix every feature listed in 'errors' and send the whole collection again",
            field="features",
            errors=errors,
        )

    members = [
        {
            "territory_id": ids[index],
            "rep_id": member.rep_id,
            "role": member.role.value,
            "weight": member.weight,
        }
        for index, feature in features.items()
        for member in feature.properties.members
    ]
    await repository.insert_members(session, tenant_id=tenant_id, members=members)
    await repository.set_repair_notes(
        session, tenant_id=tenant_id, notes={ids[index]: note for index, note in notes.items()}
    )
    await repository.rebuild_parts(
        session, tenant_id=tenant_id, territory_ids=[ids[index] for index, _ in geometries]
    )
    return TerritoryImportResult(
        alignment_id=alignment_id,
        territories_created=len(territories),
        members_created=len(members),
        repaired=[
            RepairedFeature(index=index, name=features[index].properties.name, repair_note=note)
            for index, note in sorted(notes.items())
        ],
    )
