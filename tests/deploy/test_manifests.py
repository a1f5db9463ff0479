"""The Kubernetes manifests (as kustomize renders them) and docker-compose.yml, checked without a
cluster or a Docker engine: against their schemas, and against the code they run (settings,
services, ports, probes, scrape annotations, the nginx template's placeholders)."""

from __future__ import annotations

import importlib.resources
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from deploy.nginx.render import PLACEHOLDERS, UPSTREAM_PLACEHOLDERS
from shared.observability.metrics import METRICS_PATH
from shared.settings import Settings
from tests.deploy.kustomize import Resource, build, load_documents, pod_spec
from tests.harness import REPO_ROOT, SERVICE_NAMES, SERVICE_URL_ENV

DEPLOY = REPO_ROOT / "deploy"
# The edges: option A (our nginx gateway) and option B (an Ingress).
KUSTOMIZATIONS = {"gateway": DEPLOY, "ingress": DEPLOY / "k8s" / "ingress"}
# The oldest Kubernetes minor we support; kubernetes-validate ships its schemas.
KUBERNETES_VERSION = "1.30.0"
# Environment the processes read that is not a Settings field: uvicorn's proxy trust, and the
# OpenTelemetry SDK's own variables.
NON_SETTINGS_ENV = re.compile(r"^(FORWARDED_ALLOW_IPS|OTEL_[A-Z_]+)$")
UVICORN_APP = re.compile(r"^services\.(\w+)\.app:app$")


def settings_env_names() -> set[str]:
    """Every environment variable ``Settings`` reads (prefix, or a field's own aliases)."""
    prefix = Settings.model_config.get("env_prefix", "")
    names: set[str] = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        choices = getattr(alias, "choices", None)
        if choices:
            names.update(str(choice).upper() for choice in choices)
        else:
            names.add(f"{prefix}{name}".upper())
    return names


@pytest.fixture(scope="module", params=sorted(KUSTOMIZATIONS))
def rendered(request: pytest.FixtureRequest) -> list[Resource]:
    return build(KUSTOMIZATIONS[request.param])


def of_kind(resources: list[Resource], kind: str) -> dict[str, Resource]:
    return {r["metadata"]["name"]: r for r in resources if r["kind"] == kind}


def containers(resource: Resource) -> list[dict[str, Any]]:
    spec = pod_spec(resource) or {}
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


def uvicorn_app(command: list[str]) -> tuple[str, int] | None:
    """(service, port) of a ``uvicorn services.<service>.app:app ... --port N`` command."""
    if not command or command[0] != "uvicorn":
        return None
    match = next((UVICORN_APP.match(part) for part in command if UVICORN_APP.match(part)), None)
    assert match is not None, f"uvicorn runs no service app: {command}"
    return match.group(1), int(command[command.index("--port") + 1])


def service_deployments(resources: list[Resource]) -> Iterator[tuple[str, Resource, int]]:
    """(platform service, Deployment, port) for every Deployment that runs a service app."""
    for deployment in of_kind(resources, "Deployment").values():
        for container in containers(deployment):
            app = uvicorn_app(container.get("command", []))
            if app is not None:
                yield app[0], deployment, app[1]


def test_every_rendered_manifest_matches_the_kubernetes_schema(rendered: list[Resource]) -> None:
    example_secret = load_documents(DEPLOY / "k8s" / "base" / "secret.example.yaml")
    for resource in [*rendered, *example_secret]:
        # strict: an unknown (e.g. misspelt or misplaced) field is an error, not ignored.
        kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)


def test_every_platform_service_has_a_deployment_and_a_service(rendered: list[Resource]) -> None:
    services = of_kind(rendered, "Service")
    found = {name for name, _, _ in service_deployments(rendered)}
    assert found == set(SERVICE_NAMES)
    for name, deployment, port in service_deployments(rendered):
        (container,) = [c for c in containers(deployment) if uvicorn_app(c.get("command", []))]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports == {"http": port}, name
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        selecting = [
            s
            for s in services.values()
            if s["spec"]["selector"].items() <= labels.items()
            and s["metadata"]["name"] == deployment["metadata"]["name"]
        ]
        assert len(selecting) == 1, f"no Service named and selecting {name}'s pods"
        (service_port,) = selecting[0]["spec"]["ports"]
        assert service_port["targetPort"] in ("http", port)
        # Where the other services reach it (the ConfigMap) is this Service and port.
        config = of_kind(rendered, "ConfigMap")["territory-config"]["data"]
        expected_url = f"http://{deployment['metadata']['name']}:{service_port['port']}"
        assert config[SERVICE_URL_ENV[name]] == expected_url


def test_probes_and_scrape_annotations(rendered: list[Resource]) -> None:
    for name, deployment, _port in service_deployments(rendered):
        annotations = deployment["spec"]["template"]["metadata"].get("annotations", {})
        assert annotations.get("prometheus.io/scrape") == "true", name
        assert annotations.get("prometheus.io/path") == METRICS_PATH, name
        (container,) = [c for c in containers(deployment) if uvicorn_app(c.get("command", []))]
        assert int(annotations["prometheus.io/port"]) == container["ports"][0]["containerPort"]
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", name
        # The gateway app's /readyz is the whole platform's; its pods stay ready on /healthz so
        # that the docs do not go offline whenever one service is not ready.
        readiness = "/healthz" if name == "gateway" else "/readyz"
        assert container["readinessProbe"]["httpGet"]["path"] == readiness, name
    # Any pod that asks to be scraped declares the port it names.
    for deployment in of_kind(rendered, "Deployment").values():
        annotations = deployment["spec"]["template"]["metadata"].get("annotations", {})
        if annotations.get("prometheus.io/scrape") == "true":
            declared = {p["containerPort"] for c in containers(deployment) for p in c["ports"]}
            assert int(annotations["prometheus.io/port"]) in declared


def test_every_territory_variable_is_a_setting(rendered: list[Resource]) -> None:
    known = settings_env_names()
    used: set[str] = set()
    for config_map in of_kind(rendered, "ConfigMap").values():
        if config_map["metadata"]["name"] == "territory-config":
            used.update(config_map["data"])
    for resource in rendered:
        for container in containers(resource):
            used.update(variable["name"] for variable in container.get("env", []))
    python_env = {name for name in used if name.startswith("TERRITORY_")}
    assert python_env - known == set()
    config = of_kind(rendered, "ConfigMap")["territory-config"]["data"]
    assert {n for n in config if not n.startswith("TERRITORY_")} == {
        n for n in config if NON_SETTINGS_ENV.match(n)
    }


def test_the_nginx_gateway_gets_every_template_placeholder() -> None:
    resources = build(KUSTOMIZATIONS["gateway"])
    gateway = of_kind(resources, "Deployment")["gateway"]
    (nginx,) = [c for c in containers(gateway) if c["name"] == "nginx"]
    env = {variable["name"]: variable["value"] for variable in nginx["env"]}
    assert set(env) == PLACEHOLDERS
    deployments = {name: d for name, d, _ in service_deployments(resources)}
    services = of_kind(resources, "Service")
    for name, placeholder in UPSTREAM_PLACEHOLDERS.items():
        service = services[deployments[name]["metadata"]["name"]]
        assert (
            env[placeholder]
            == f"{service['metadata']['name']}:{service['spec']['ports'][0]['port']}"
        )
    # The exporter reads stub_status on the pod's loopback, where nginx listens.
    (exporter,) = [c for c in containers(gateway) if c["name"] == "nginx-exporter"]
    assert (
        f"--nginx.scrape-uri=http://127.0.0.1:{env['LISTEN_ADDRESS']}/-/nginx-status"
        in (exporter["args"])
    )


# --- docker-compose.yml ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    return document


def compose_schema() -> dict[str, Any]:
    """The compose-spec JSON schema, as vendored by check-jsonschema (a dev dependency)."""
    vendor = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    schema: dict[str, Any] = json.loads(vendor.joinpath("compose-spec.json").read_text())
    return schema


def test_compose_file_matches_the_compose_spec(compose: dict[str, Any]) -> None:
    schema = compose_schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(compose), key=lambda error: list(error.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_compose_runs_every_service_on_the_ports_the_others_use(compose: dict[str, Any]) -> None:
    services = compose["services"]
    apps = {}
    for compose_name, service in services.items():
        app = uvicorn_app(service.get("command", []))
        if app is not None:
            apps[app[0]] = (compose_name, app[1])
    assert set(apps) == set(SERVICE_NAMES)
    nginx_env = services["nginx"]["environment"]
    assert set(nginx_env) == PLACEHOLDERS
    for name, (compose_name, port) in apps.items():
        environment = services[compose_name]["environment"]
        assert environment[SERVICE_URL_ENV[name]] == f"http://{compose_name}:{port}"
        assert nginx_env[UPSTREAM_PLACEHOLDERS[name]] == f"{compose_name}:{port}"
        assert f"http://127.0.0.1:{port}/healthz" in " ".join(
            services[compose_name]["healthcheck"]["test"]
        )
        assert services["nginx"]["depends_on"][compose_name]["condition"] == "service_healthy"


def test_every_territory_variable_in_compose_is_a_setting(compose: dict[str, Any]) -> None:
    known = settings_env_names()
    used = {
        name
        for service in compose["services"].values()
        for name in (service.get("environment") or {})
        if name.startswith("TERRITORY_")
    }
    assert used and used - known == set()


def test_the_settings_names_are_read_as_written() -> None:
    """The check above is only as good as ``settings_env_names``: a made-up name is not one."""
    names = settings_env_names()
    assert {"TERRITORY_OTEL_ENABLED", "TERRITORY_LOG_LEVEL", "DATABASE_URL"} <= names
    assert "TERRITORY_NO_SUCH_SETTING" not in names
    assert Path(DEPLOY / "k8s" / "base" / "kustomization.yaml").is_file()
