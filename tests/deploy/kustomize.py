"""A minimal ``kustomize build`` for the features our kustomizations use, so the suite can check
the rendered manifests where no kubectl or kustomize is installed.

Supported: ``resources`` (files, or directories with their own kustomization), ``namespace``,
``labels`` (metadata labels only), ``images`` and ``configMapGenerator`` from files. Anything else
in a kustomization fails the build loudly, so a new feature cannot be skipped silently: teach
it here (or install kustomize) in the same change.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

Resource = dict[str, Any]
SUPPORTED_FIELDS = frozenset(
    {"apiVersion", "kind", "namespace", "labels", "resources", "images", "configMapGenerator"}
)
# Kinds without a namespace among those a platform like ours could use.
CLUSTER_SCOPED = frozenset(
    {
        "Namespace",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "PersistentVolume",
        "StorageClass",
        "IngressClass",
        "PriorityClass",
    }
)


class KustomizeError(ValueError):
    """The kustomization uses something this renderer does not support, or is broken."""


def load_documents(path: Path) -> list[Resource]:
    return [document for document in yaml.safe_load_all(path.read_text()) if document]


def build(directory: Path) -> list[Resource]:
    """The resources ``kustomize build directory`` would output (order aside)."""
    kustomization_path = directory / "kustomization.yaml"
    if not kustomization_path.is_file():
        raise KustomizeError(f"{directory} has no kustomization.yaml")
    kustomization = yaml.safe_load(kustomization_path.read_text())
    unsupported = set(kustomization) - SUPPORTED_FIELDS
    if unsupported:
        raise KustomizeError(f"{kustomization_path}: unsupported fields {sorted(unsupported)}")

    resources: list[Resource] = []
    for entry in kustomization.get("resources", []):
        path = (directory / entry).resolve()
        if path.is_dir():
            resources.extend(build(path))
        elif path.is_file():
            resources.extend(load_documents(path))
        else:
            raise KustomizeError(f"{kustomization_path}: resource {entry} does not exist")

    renames: dict[str, str] = {}
    for generator in kustomization.get("configMapGenerator", []):
        config_map = _generate_config_map(directory, generator)
        renames[generator["name"]] = config_map["metadata"]["name"]
        resources.append(config_map)

    for resource in resources:
        _rename_config_map_references(resource, renames)
        namespace = kustomization.get("namespace")
        if namespace and resource["kind"] not in CLUSTER_SCOPED:
            resource["metadata"]["namespace"] = namespace
        for label_set in kustomization.get("labels", []):
            if set(label_set) - {"pairs"}:
                raise KustomizeError(f"{kustomization_path}: only label pairs are supported")
            resource["metadata"].setdefault("labels", {}).update(label_set["pairs"])
        for image in kustomization.get("images", []):
            for container in _containers(resource):
                _set_image(container, image)
    return resources


def _generate_config_map(directory: Path, generator: dict[str, Any]) -> Resource:
    unsupported = set(generator) - {"name", "files"}
    if unsupported:
        raise KustomizeError(f"configMapGenerator {generator['name']}: {sorted(unsupported)}")
    data: dict[str, str] = {}
    for item in generator["files"]:
        key, _, source = item.partition("=") if "=" in item else (Path(item).name, "", item)
        path = directory / source
        if not path.is_file():
            raise KustomizeError(f"configMapGenerator {generator['name']}: no file {source}")
        data[key] = path.read_text()
    # kustomize appends a content hash so that a change rolls the pods; any stable hash will do.
    digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:10]
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"{generator['name']}-{digest}"},
        "data": data,
    }


def pod_spec(resource: Resource) -> dict[str, Any] | None:
    spec = resource.get("spec", {})
    if resource["kind"] in {"Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"}:
        return spec.get("template", {}).get("spec")
    if resource["kind"] == "CronJob":
        return spec.get("jobTemplate", {}).get("spec", {}).get("template", {}).get("spec")
    if resource["kind"] == "Pod":
        return spec
    return None


def _containers(resource: Resource) -> Iterator[dict[str, Any]]:
    spec = pod_spec(resource)
    if spec is not None:
        yield from spec.get("initContainers", [])
        yield from spec.get("containers", [])


def _set_image(container: dict[str, Any], image: dict[str, str]) -> None:
    current = container.get("image", "")
    name = current.split("@", 1)[0]
    if ":" in name.rsplit("/", 1)[-1]:
        name = name.rsplit(":", 1)[0]
    if name != image["name"]:
        return
    new_name = image.get("newName", name)
    tag = image.get("newTag")
    container["image"] = f"{new_name}:{tag}" if tag else new_name


def _rename_config_map_references(resource: Resource, renames: dict[str, str]) -> None:
    spec = pod_spec(resource)
    if spec is None or not renames:
        return
    for volume in spec.get("volumes", []):
        if "configMap" in volume and volume["configMap"]["name"] in renames:
            volume["configMap"]["name"] = renames[volume["configMap"]["name"]]
    for container in _containers(resource):
        for source in container.get("envFrom", []):
            ref = source.get("configMapRef")
            if ref and ref["name"] in renames:
                ref["name"] = renames[ref["name"]]
        for variable in container.get("env", []):
            ref = variable.get("valueFrom", {}).get("configMapKeyRef")
            if ref and ref["name"] in renames:
                ref["name"] = renames[ref["name"]]
