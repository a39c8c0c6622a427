"""The deployment manifests in deploy/ hold up offline.

- Every Kubernetes manifest in deploy/k8s validates against the API schema of the pinned
  Kubernetes version (kubernetes-validate, strict: unknown fields fail).
- The Helm values in deploy/helm use only parameters the pinned chart version documents:
  they validate against that chart's values.schema.json, with every object the schema
  lists properties for closed to other keys (the chart leaves some open, the top level
  among them, where Helm would silently ignore a typo).
- The Compose file, resolved the way ``docker compose config`` resolves it (merge keys,
  variables from .env.example), validates against the Compose Specification
  (compose-spec's parser, strict: unknown keys fail), and its services are exactly those
  docs/deploy.md lists.
- The three agree with the product: the same connections, Secrets and model names.

The chart's schema is a third-party file not in this repository: it is read from
``../shared/deploy-schemas`` (or ``$AIRFLOW_LLM_DEPLOY_SCHEMAS``), checked against the
sha256 of the pinned version, and the tests that need it skip, naming the source, where
it is absent.
"""

from __future__ import annotations

import copy
import hashlib
import importlib
import inspect
import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from compose_spec import PyCompose

from airflow_llm.connections import conn_env_var
from tests.compose_interpolation import InterpolationError, interpolate, read_env_file

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOY = REPO_ROOT / "deploy"
HELM = DEPLOY / "helm"
COMPOSE_FILE = DEPLOY / "compose" / "docker-compose.yaml"
COMPOSE_ENV_EXAMPLE = COMPOSE_FILE.parent / ".env.example"
DOCS_PAGE = REPO_ROOT / "docs" / "deploy.md"

KUBERNETES_VERSION = "1.33"
"""The Kubernetes version whose API schemas the manifests must satisfy."""
CHART_VERSION = "1.21.0"
"""The apache-airflow Helm chart version the values are written for."""

SCHEMAS_DIR = Path(
    os.environ.get("AIRFLOW_LLM_DEPLOY_SCHEMAS", REPO_ROOT.parent / "shared" / "deploy-schemas")
)


@dataclass(frozen=True)
class PinnedSchema:
    """A third-party JSON schema at one version: where it is expected, and its digest."""

    relative_path: str
    sha256: str
    source: str

    def load(self) -> dict[str, Any]:
        """The schema; skip when it is absent, fail when it is another version."""
        path = SCHEMAS_DIR / self.relative_path
        if not path.is_file():
            pytest.skip(
                f"no {path}: put {self.source} there (or point AIRFLOW_LLM_DEPLOY_SCHEMAS "
                f"at a folder holding {self.relative_path})"
            )
        content = path.read_bytes()
        digest = hashlib.sha256(content).hexdigest()
        assert digest == self.sha256, f"{path} is not the pinned version ({self.source})"
        schema: dict[str, Any] = json.loads(content)
        return schema


CHART_SCHEMA = PinnedSchema(
    f"airflow-helm-chart-{CHART_VERSION}/values.schema.json",
    "27a1e197bbe91343ba7d8cb6b9914903a0b1f799fb80f06295a65046ad55a683",
    "chart/values.schema.json of apache/airflow at commit "
    "2ff2513665855395f0387967e548b86c54c0e52b (branch chart/v1-2x-test: "
    "'Add RELEASE_NOTES.rst and Chart.yaml changes for 1.21.0')",
)

EXECUTOR_FILES = ("values-celery.yaml", "values-kubernetes.yaml")
ENVIRONMENT_FILES = tuple(sorted(path.name for path in HELM.glob("values-env-*.yaml")))
CHART_SECRET_KEYS = {
    ("data", "metadataSecretName"): "connection",
    ("data", "brokerUrlSecretName"): "connection",
    ("redis", "passwordSecretName"): "password",
    ("fernetKeySecretName",): "fernet-key",
    ("apiSecretKeySecretName",): "api-secret-key",
    ("jwtSecretName",): "jwt-secret",
}
"""Values that name a Secret, and the key the chart reads from it."""
CELERY_QUEUES = {"default", "llm", "gates"}
"""The task queues of the product's DAGs, each served by a worker set."""


def load_yaml(path: Path) -> dict[str, Any]:
    """One YAML document, which must be a mapping."""
    document = yaml.safe_load(path.read_text())
    assert isinstance(document, dict), f"{path}: not a mapping"
    return document


def helm_merge(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """``overlay`` over ``base`` the way ``helm -f base -f overlay`` merges values: maps
    merge key by key, anything else (lists included) is replaced."""
    merged = dict(base)
    for key, value in overlay.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = helm_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def release_values(*files: str) -> dict[str, Any]:
    """The values of a release installed with ``-f`` for each of ``files`` in order."""
    values: dict[str, Any] = {}
    for name in files:
        values = helm_merge(values, load_yaml(HELM / name))
    return values


def releases() -> Iterator[tuple[str, ...]]:
    """Each documented combination of values files."""
    for executor in EXECUTOR_FILES:
        yield ("values-common.yaml", executor)
        for environment in ENVIRONMENT_FILES:
            yield ("values-common.yaml", executor, environment)


def closed(schema: Any) -> Any:
    """``schema`` with every object that lists properties closed to undocumented keys."""
    if isinstance(schema, list):
        return [closed(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    result = {key: closed(value) for key, value in schema.items()}
    if "properties" in result and "additionalProperties" not in result:
        result["additionalProperties"] = False
    return result


@pytest.fixture(scope="module")
def chart_validator() -> jsonschema.Draft7Validator:
    """The pinned chart's schema, closed, as the chart declares it (draft-07)."""
    return jsonschema.Draft7Validator(closed(CHART_SCHEMA.load()))


def chart_errors(validator: jsonschema.Draft7Validator, values: Mapping[str, Any]) -> list[str]:
    """Every place ``values`` break the chart's schema, worker sets included: a set may
    override what the ``workers.celery`` section sets, plus its ``name``."""
    errors = [
        f"{'.'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(values)
    ]
    for index, worker_set in enumerate(values.get("workers", {}).get("celery", {}).get("sets", [])):
        overrides = {key: value for key, value in worker_set.items() if key != "name"}
        if not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", str(worker_set.get("name", ""))):
            errors.append(f"workers.celery.sets[{index}].name: not a DNS label")
        for error in validator.iter_errors({"workers": {"celery": overrides}}):
            path = ".".join(map(str, list(error.absolute_path)[2:]))
            errors.append(f"workers.celery.sets[{index}].{path}: {error.message}")
    return errors


def kubernetes_documents() -> list[tuple[str, dict[str, Any]]]:
    """``(file:kind/name, document)`` for every document in deploy/k8s."""
    found = []
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            label = f"{path.name}:{document['kind']}/{document['metadata']['name']}"
            found.append((label, document))
    return found


def kubernetes_object(kind: str, name: str) -> dict[str, Any]:
    """The document of ``kind`` named ``name`` in deploy/k8s."""
    for _, document in kubernetes_documents():
        if document["kind"] == kind and document["metadata"]["name"] == name:
            return document
    raise AssertionError(f"no {kind} {name} in deploy/k8s")


def secret_data(name: str) -> dict[str, str]:
    """The keys and (placeholder) values of Secret ``name`` in the example Secrets."""
    data: dict[str, str] = kubernetes_object("Secret", name)["stringData"]
    return data


def dig(values: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    """The value at ``path`` in nested mappings, or None."""
    current: Any = values
    for key in path:
        current = current.get(key) if isinstance(current, Mapping) else None
    return current


def product_connection_ids() -> set[str]:
    """The connection ids airflow_settings.yaml defines for the product."""
    settings = load_yaml(REPO_ROOT / "airflow_settings.yaml")
    return {connection["conn_id"] for connection in settings["airflow"]["connections"]}


def compose_file() -> dict[str, Any]:
    """The Compose file, parsed (YAML merge keys resolved)."""
    return load_yaml(COMPOSE_FILE)


def compose_config(variables: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The Compose file as ``docker compose config`` resolves it before validating: merge
    keys resolved, variables interpolated from ``variables`` (default: .env.example)."""
    if variables is None:
        variables = read_env_file(COMPOSE_ENV_EXAMPLE)
    config: dict[str, Any] = interpolate(compose_file(), variables)
    return config


def validated_compose(config: Mapping[str, Any]) -> PyCompose:
    """``config`` parsed by compose-spec, which refuses anything the Compose
    Specification does not allow; the error names the file and the field (not the line:
    compose-spec reads ``config`` dumped again, whose lines are not the file's)."""
    try:
        return PyCompose.from_yaml(yaml.safe_dump(dict(config), sort_keys=False))
    except ValueError as error:
        message = re.sub(r" at line \d+ column \d+$", "", str(error))
        raise ValueError(f"{COMPOSE_FILE}: {message}") from error


# Kubernetes manifests


@pytest.mark.parametrize(
    "document",
    [document for _, document in kubernetes_documents()],
    ids=[label for label, _ in kubernetes_documents()],
)
def test_kubernetes_manifest_validates_against_the_pinned_api(document: dict[str, Any]) -> None:
    checked = kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
    assert checked == KUBERNETES_VERSION


def test_a_misspelt_kubernetes_field_fails() -> None:
    deployment = copy.deepcopy(kubernetes_object("Deployment", "vllm-generator"))
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["readinesProbe"] = container.pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError, match="readinesProbe"):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("role", ["generator", "planner"])
def test_vllm_serves_the_model_its_connection_asks_for(role: str) -> None:
    container = kubernetes_object("Deployment", f"vllm-{role}")["spec"]["template"]["spec"][
        "containers"
    ][0]
    flags = dict(arg.removeprefix("--").partition("=")[::2] for arg in container["args"][1:])
    assert {"max-num-seqs", "enable-prefix-caching"} <= flags.keys()
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert container["readinessProbe"]["httpGet"]["path"] == "/health"
    service = kubernetes_object("Service", f"vllm-{role}")
    base_url = f"http://{service['metadata']['name']}:{service['spec']['ports'][0]['port']}/v1"
    served = [
        json.loads(value)
        for value in secret_data("airflow-llm-connections").values()
        if json.loads(value).get("host") == base_url
    ]
    assert served, f"no connection points at {base_url}"
    for connection in served:
        assert (
            connection["extra"]["model"].removeprefix("openai-chat:") == flags["served-model-name"]
        )


# Helm values


@pytest.mark.parametrize("files", list(releases()), ids=" + ".join)
def test_release_values_use_only_documented_parameters(
    chart_validator: jsonschema.Draft7Validator, files: tuple[str, ...]
) -> None:
    for name in files:
        assert chart_errors(chart_validator, load_yaml(HELM / name)) == [], name
    assert chart_errors(chart_validator, release_values(*files)) == []


@pytest.mark.parametrize(
    ("path", "key"),
    [
        (("dagProcesor",), "dagProcesor"),  # top level, which the chart leaves open
        (("workers", "celery", "keda", "enabeld"), "enabeld"),
        (("workers", "celery", "sets", 0, "queues"), "queues"),
        (("dagProcessor", "dagBundleConfigList", 0, "kwarg"), "kwarg"),
    ],
)
def test_an_undocumented_parameter_fails(
    chart_validator: jsonschema.Draft7Validator, path: tuple[str | int, ...], key: str
) -> None:
    values = release_values("values-common.yaml", "values-celery.yaml")
    parent: Any = values
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = True
    errors = chart_errors(chart_validator, values)
    assert any(key in error for error in errors), errors


def test_celery_worker_sets_serve_every_queue_with_resources() -> None:
    celery = release_values("values-common.yaml", "values-celery.yaml")["workers"]["celery"]
    sets = [celery, *celery["sets"]]
    served = [queue for worker_set in sets for queue in worker_set["queue"].split(",")]
    assert sorted(served) == sorted(CELERY_QUEUES)
    for worker_set in sets:
        assert {"cpu", "memory"} <= worker_set["resources"]["requests"].keys()
    gates = next(worker_set for worker_set in celery["sets"] if worker_set["queue"] == "gates")
    assert "--queues gates" in gates["args"][-1]
    assert celery["keda"]["enabled"] is True


def test_bundle_kwargs_are_parameters_of_the_bundle_class() -> None:
    for name in ["values-common.yaml", *ENVIRONMENT_FILES]:
        for bundle in load_yaml(HELM / name)["dagProcessor"]["dagBundleConfigList"]:
            module, _, class_name = bundle["classpath"].rpartition(".")
            bundle_class = getattr(importlib.import_module(module), class_name)
            accepted = {
                parameter.name
                for cls in bundle_class.__mro__
                if "__init__" in vars(cls)
                for parameter in inspect.signature(vars(cls)["__init__"]).parameters.values()
                if parameter.kind is inspect.Parameter.KEYWORD_ONLY
            }
            assert set(bundle["kwargs"]) <= accepted, f"{name}: {bundle['name']}"


@pytest.mark.parametrize("environment_file", ENVIRONMENT_FILES)
def test_each_environment_reads_its_own_bundle_prefix(environment_file: str) -> None:
    environment = environment_file.removeprefix("values-env-").removesuffix(".yaml")
    values = load_yaml(HELM / environment_file)
    (bundle,) = values["dagProcessor"]["dagBundleConfigList"]
    assert bundle["kwargs"]["prefix"] == f"bundles/{environment}/"
    assert yaml.safe_load(values["extraEnv"]) == [
        {"name": "AIRFLOW_LLM_ENVIRONMENT", "value": environment}
    ]


def test_connections_and_secrets_come_from_the_example_secrets() -> None:
    values = release_values("values-common.yaml", "values-celery.yaml")
    connection_env = {entry["envName"] for entry in values["secret"]}
    assert {conn_env_var(conn_id) for conn_id in product_connection_ids()} <= connection_env
    for entry in values["secret"]:
        assert entry["secretKey"] in secret_data(entry["secretName"]), entry
    for path, key in CHART_SECRET_KEYS.items():
        assert key in secret_data(dig(values, path)), path
    routes = json.loads(
        next(
            e["value"] for e in values["env"] if e["name"] == "AIRFLOW_VAR_AIRFLOW_LLM_MODEL_ROUTES"
        )
    )
    assert {conn_env_var(conn_id) for conn_id in routes.values()} <= connection_env


def test_pinned_chart_version_is_the_one_documented() -> None:
    texts = [path.read_text() for path in [*HELM.glob("*.yaml"), DOCS_PAGE]]
    versions = {
        version
        for text in texts
        for version in re.findall(r"--version ([0-9][-.0-9A-Za-z]*[0-9A-Za-z])", text)
    }
    assert versions == {CHART_VERSION}
    page = DOCS_PAGE.read_text()
    assert f"Kubernetes {KUBERNETES_VERSION}" in page


# Docker Compose


def documented_compose_services() -> list[str]:
    """The service names in the table under "## Docker Compose" in docs/deploy.md."""
    section = DOCS_PAGE.read_text().split("## Docker Compose", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([a-z0-9-]+)` \|", section, flags=re.MULTILINE)


def test_compose_services_are_those_the_docs_list() -> None:
    assert sorted(compose_file()["services"]) == sorted(documented_compose_services())


def test_compose_file_validates_against_the_compose_specification() -> None:
    compose = validated_compose(compose_config())
    assert compose.service_names() == list(compose_file()["services"])
    worker = compose.get_service("airflow-worker")
    assert worker is not None
    assert worker.image == read_env_file(COMPOSE_ENV_EXAMPLE)["AIRFLOW_LLM_IMAGE"]


@pytest.mark.parametrize(
    ("service", "key", "value", "field"),
    [
        (
            "airflow-worker",
            "comand",
            ["airflow"],
            "services.airflow-worker: extension key `comand`",
        ),
        ("s3", "ports", [{"target": "s3", "published": 8333}], "services.s3.ports[0].target:"),
        ("s3", "ports", ["8333:http"], "services.s3.ports[0]: error parsing port"),
        (
            "airflow-worker-gates",
            "mem_limit",
            "10 gigs",
            "services.airflow-worker-gates.mem_limit:",
        ),
    ],
)
def test_a_compose_file_the_specification_refuses_fails(
    service: str, key: str, value: Any, field: str
) -> None:
    config = compose_config()
    config["services"][service][key] = value
    with pytest.raises(ValueError, match=re.escape(field)):
        validated_compose(config)


@pytest.mark.parametrize("value", [None, ""])
def test_an_unset_required_compose_variable_fails(value: str | None) -> None:
    variables = read_env_file(COMPOSE_ENV_EXAMPLE)
    if value is None:
        del variables["POSTGRES_PASSWORD"]
    else:
        variables["POSTGRES_PASSWORD"] = value
    with pytest.raises(
        InterpolationError,
        match=r"\.environment\.\w+: required variable POSTGRES_PASSWORD is missing",
    ):
        compose_config(variables)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${SET}/$SET/${UNSET}$UNSET", "on/on/"),
        ("${SET:-d} ${EMPTY:-d} ${UNSET:-d}", "on d d"),
        ("${SET-d} ${EMPTY-d} ${UNSET-d}", "on  d"),
        ("${SET:+r} ${EMPTY:+r} ${EMPTY+r} ${UNSET+r}", "r  r "),
        ("${EMPTY?e}${SET:?e}", "on"),
        ("$$SET $${SET}", "$SET ${SET}"),
    ],
)
def test_compose_interpolation_follows_the_specification(text: str, expected: str) -> None:
    assert interpolate({"key": text}, {"SET": "on", "EMPTY": ""}) == {"key": expected}


@pytest.mark.parametrize(
    "text",
    ["${UNSET:?e}", "${EMPTY:?e}", "${UNSET?e}", "5$", "${A:-${B}}"],  # nesting: unsupported
)
def test_compose_interpolation_fails_on_an_unset_required_variable_or_bad_syntax(
    text: str,
) -> None:
    with pytest.raises(InterpolationError, match="key"):
        interpolate({"key": text}, {"EMPTY": ""})


def test_compose_defines_the_product_connections() -> None:
    environment = compose_file()["x-airflow-common"]["environment"]
    for conn_id in product_connection_ids():
        assert json.loads(environment[conn_env_var(conn_id)])["conn_type"]
