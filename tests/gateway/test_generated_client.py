"""A Python client generated from the merged document (openapi-python-client) builds without
warnings and works against the platform: the symptom of the schema-name clash was a generated
client that could not parse a person's connections."""

import importlib
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from tests.conftest import Platform

# The generator types only JSON, form and octet-stream bodies; uploads go as raw bytes.
CONFIG = """\
post_hooks: []
content_type_overrides:
  text/csv: application/octet-stream
  application/x-ndjson: application/octet-stream
  text/xml: application/octet-stream
  application/geo+json: application/json
  application/vnd.mapbox-vector-tile: application/octet-stream
"""


@pytest.fixture(scope="module")
def generated(platform: Platform, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The generated package's name, importable for the module's tests."""
    directory = tmp_path_factory.mktemp("generated-client")
    document = httpx.get(f"{platform.url}/openapi.json", timeout=30.0)
    assert document.status_code == 200
    (directory / "openapi.json").write_bytes(document.content)
    (directory / "config.yaml").write_text(CONFIG)
    generator = Path(sys.executable).with_name("openapi-python-client")
    result = subprocess.run(
        [str(generator), "generate", "--path", "openapi.json", "--config", "config.yaml"]
        + ["--meta", "none", "--output-path", "platform_client"],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Warning" not in output and "WARNING" not in output, output
    sys.path.insert(0, str(directory))
    try:
        yield "platform_client"
    finally:
        sys.path.remove(str(directory))
        for name in [name for name in sys.modules if name.startswith("platform_client")]:
            del sys.modules[name]


def _module(package: str, name: str) -> ModuleType:
    return importlib.import_module(f"{package}.{name}")


def test_generated_client_calls_the_platform(
    generated: str, platform: Platform, api_key: str
) -> None:
    client_module = _module(generated, "client")
    models = _module(generated, "models")
    reps_create = _module(generated, "api.reps.reps_create")
    reps_get = _module(generated, "api.reps.reps_get")
    people_create = _module(generated, "api.people.people_create")
    connections_create = _module(generated, "api.connections.connections_create")
    list_connections = _module(generated, "api.connections.people_list_connections")

    client: Any = client_module.AuthenticatedClient(
        base_url=platform.url, token=api_key, prefix="", auth_header_name="X-API-Key"
    )
    with client:
        rep = reps_create.sync(client=client, body=models.AssignmentRepCreate(name="Generated"))
        assert isinstance(rep, models.AssignmentRepRead), rep
        assert reps_get.sync(rep.id, client=client).name == "Generated"

        missing = reps_get.sync_detailed(uuid.UUID(int=0), client=client)
        assert missing.status_code == 404
        assert isinstance(missing.parsed, models.Problem)

        rep_person, contact = (
            people_create.sync(
                client=client,
                body=models.ProximityPersonCreate(name=name, kind=kind, **extra),
            )
            for name, kind, extra in (
                ("Generated rep", models.ProximityPersonKind.REP, {"rep_id": rep.id}),
                ("Generated contact", models.ProximityPersonKind.CONTACT, {}),
            )
        )
        connection = connections_create.sync(
            client=client,
            body=models.ProximityConnectionCreate(
                person_a_id=rep_person.id, person_b_id=contact.id, kind="colleague", strength=0.5
            ),
        )
        assert isinstance(connection, models.ProximityConnectionRead), connection

        page = list_connections.sync(contact.id, client=client)
        assert isinstance(page, models.ProximityPageNeighbourRead), page
        assert [item.person_id for item in page.items] == [rep_person.id]
