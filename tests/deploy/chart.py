"""Render the Helm chart with Helm's own Go engine and validate what it produces.

Rendering: ``helm-python-sdk`` (PyPI) binds Helm v4's Go SDK (``libhelm_c``) through
ctypes, so this is the real template engine, sprig functions, ``fail``, values-schema
validation and lint — no helm binary needed. Validation: ``kubernetes-validate`` (PyPI)
ships the upstream Kubernetes OpenAPI JSON schemas; ``strict`` rejects unknown fields.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml
from helm_python import Chart

from tests.support.paths import REPO_ROOT

CHART = REPO_ROOT / "helm" / "callcenter"
PRODUCTION_VALUES = CHART / "values-production.yaml"
# The oldest Kubernetes the chart declares (Chart.yaml kubeVersion) and a current one.
KUBE_VERSIONS = ("1.27.0", "1.36.0")
SERVICE_MONITOR_SCHEMA = Path(__file__).with_name("servicemonitor.schema.json")


def render(values: dict[str, Any] | None = None, *, upgrade: bool = False) -> dict[str, str]:
    with Chart.load(CHART) as chart:
        return chart.render(
            values or {},
            name="cc",
            namespace="voice",
            is_install=not upgrade,
            is_upgrade=upgrade,
        )


def production_values() -> dict[str, Any]:
    values: dict[str, Any] = yaml.safe_load(PRODUCTION_VALUES.read_text())
    return values


def documents(manifests: dict[str, str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(template path, object) for every non-empty YAML document rendered."""
    for path, text in sorted(manifests.items()):
        if path.endswith("NOTES.txt"):
            continue
        for document in yaml.safe_load_all(text):
            if document:
                yield path, document


def objects(values: dict[str, Any] | None = None) -> dict[tuple[str, str], dict[str, Any]]:
    """Rendered objects by (kind, name)."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for _, document in documents(render(values)):
        key = (document["kind"], document["metadata"]["name"])
        assert key not in found, f"{key} rendered twice"
        found[key] = document
    return found


@lru_cache(maxsize=1)
def _service_monitor_validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SERVICE_MONITOR_SCHEMA.read_text())
    return jsonschema.Draft202012Validator(schema)


def validate(document: dict[str, Any], kube_version: str) -> None:
    """Raise with the reason when the object is not valid for that Kubernetes version."""
    if document.get("apiVersion") == "monitoring.coreos.com/v1":
        # A CRD: not in Kubernetes' own schemas; checked against the subset we use.
        _service_monitor_validator().validate(document)
        return
    kubernetes_validate.validate(document, kube_version, strict=True)
