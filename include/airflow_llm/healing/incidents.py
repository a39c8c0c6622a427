"""Incidents: a generated DAG's task failed; what, where, in which bundle version.

An incident is found from the failing task's DAG file alone: a generated DAG file is
``<root>/dags/<pipeline>.py`` with ``<root>/manifest.json`` listing it (the bundle layout,
as an S3DagBundle syncs it). Any other DAG has no incident. Incidents live in the bucket,
``incidents/<pipeline>/<incident id>/incident.json``, and the heal DAG writes what it made
of each beside it (``analysis.json``): an incident without an analysis is open.
"""

from __future__ import annotations

import json
import re
import traceback
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from airflow_llm.healing.classify import MESSAGE_LIMIT
from airflow_llm.publish import MANIFEST, bundle_identity

PREFIX = "incidents/"
INCIDENT, ANALYSIS = "incident.json", "analysis.json"
LOG_LINES = 40
"""Lines of the failure's traceback kept as the incident's log tail."""


@dataclass(frozen=True)
class BundleRef:
    """The generated bundle a DAG file belongs to."""

    pipeline: str
    version: str
    sha256: str
    spec_source: str | None
    tasks: dict[str, dict[str, Any]]
    """``tasks.yml``'s entry of each task (kind, file, strategy, pattern), by name."""


@dataclass(frozen=True)
class Incident:
    """One failed try of a task of a generated DAG."""

    dag_id: str
    task_id: str
    run_id: str
    map_index: int
    try_number: int
    error_type: str
    error_types: list[str]
    """Class names of the exception's MRO, most derived first."""
    message: str
    log_tail: str
    pipeline: str
    environment: str | None
    bundle_version: str
    bundle_sha256: str
    spec_source: str | None
    task_kind: str | None
    artifact: str | None
    """The task's generated file, relative to the bundle's resources folder."""
    recorded_at: str

    @property
    def incident_id(self) -> str:
        """Unique per DAG run, task, map index and try; safe in an object key."""
        raw = f"{self.run_id}.{self.task_id}.{self.map_index}.try{self.try_number}"
        return re.sub(r"[^A-Za-z0-9_.-]+", "_", raw).strip("_")

    @property
    def key(self) -> str:
        """The incident's object key."""
        return f"{PREFIX}{self.pipeline}/{self.incident_id}/{INCIDENT}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Incident:
        """The inverse of :meth:`to_dict`."""
        return cls(**data)


def bundle_of(fileloc: str | None, dag_id: str) -> BundleRef | None:
    """The bundle whose manifest lists the DAG file ``fileloc`` as ``dag_id``'s; None for
    any other DAG (two stat calls, then one read of the manifest and ``tasks.yml``)."""
    if not fileloc:
        return None
    dag_file = Path(fileloc)
    root = dag_file.parent.parent
    if dag_file.parent.name != "dags" or dag_file.name != f"{dag_id}.py":
        return None
    manifest_path = root / MANIFEST
    if not manifest_path.is_file():
        return None
    text = manifest_path.read_text()
    manifest = json.loads(text)
    if f"dags/{dag_id}.py" not in manifest.get("files", {}):
        return None
    tasks_yml = dag_file.parent / "resources" / dag_id / "tasks.yml"
    document = yaml.safe_load(tasks_yml.read_text()) if tasks_yml.is_file() else {}
    tasks = {task["name"]: task for task in (document or {}).get("tasks", [])}
    identity = bundle_identity(text)
    return BundleRef(
        dag_id, identity["version"], identity["sha256"], manifest.get("spec_source"), tasks
    )


def incident_for(
    bundle: BundleRef,
    dag_id: str,
    task_id: str,
    run_id: str,
    map_index: int,
    try_number: int,
    error: BaseException | str | None,
    environment: str | None,
) -> Incident:
    """The incident of one failed try of ``task_id`` in ``bundle``."""
    if isinstance(error, BaseException):
        types = [cls.__name__ for cls in type(error).__mro__ if cls not in (object,)]
        qualified = f"{type(error).__module__}.{type(error).__qualname__}"
        message = str(error)
        lines = "".join(traceback.format_exception(error)).splitlines()
    else:
        types, qualified = [], "unknown"
        message = error or "no error was given"
        lines = message.splitlines()
    task = bundle.tasks.get(task_id, {})
    return Incident(
        dag_id=dag_id,
        task_id=task_id,
        run_id=run_id,
        map_index=map_index,
        try_number=try_number,
        error_type=qualified,
        error_types=types,
        message=message[:MESSAGE_LIMIT],
        log_tail="\n".join(lines[-LOG_LINES:]),
        pipeline=bundle.pipeline,
        environment=environment,
        bundle_version=bundle.version,
        bundle_sha256=bundle.sha256,
        spec_source=bundle.spec_source,
        task_kind=task.get("kind"),
        artifact=task.get("file"),
        recorded_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )


def store_incident(client: Any, bucket: str, incident: Incident) -> str:
    """Write ``incident``; return its URI."""
    body = json.dumps(incident.to_dict(), indent=2, sort_keys=True).encode()
    client.put_object(Bucket=bucket, Key=incident.key, Body=body)
    return f"s3://{bucket}/{incident.key}"


def open_incidents(client: Any, bucket: str) -> Iterator[Incident]:
    """Every incident without an analysis, oldest key first."""
    keys: set[str] = set()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=PREFIX):
        keys.update(entry["Key"] for entry in page.get("Contents", []))
    for key in sorted(keys):
        folder = key.removesuffix(INCIDENT)
        if key.endswith("/" + INCIDENT) and folder + ANALYSIS not in keys:
            yield load_incident(client, bucket, key)


def load_incident(client: Any, bucket: str, key: str) -> Incident:
    """The incident stored at ``key``."""
    body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    return Incident.from_dict(json.loads(body))


def store_analysis(client: Any, bucket: str, incident: Incident, analysis: dict[str, Any]) -> str:
    """Write what the heal made of ``incident`` beside it (which closes it); its URI."""
    key = incident.key.removesuffix(INCIDENT) + ANALYSIS
    body = json.dumps(analysis, indent=2, sort_keys=True).encode()
    client.put_object(Bucket=bucket, Key=key, Body=body)
    return f"s3://{bucket}/{key}"


def pending(client: Any, bucket: str) -> list[str]:
    """The URIs of the open incidents to heal: the latest try of each failing task of each
    bundle version; the earlier ones are closed as its duplicates."""
    latest: dict[tuple[str, str, str], Incident] = {}
    found = list(open_incidents(client, bucket))
    for incident in found:
        key = (incident.pipeline, incident.bundle_version, incident.task_id)
        if key not in latest or _order(incident) >= _order(latest[key]):
            latest[key] = incident
    chosen = {incident.key for incident in latest.values()}
    for incident in found:
        if incident.key not in chosen:
            kept = latest[(incident.pipeline, incident.bundle_version, incident.task_id)]
            duplicate = {"action": "duplicate", "of": f"s3://{bucket}/{kept.key}"}
            store_analysis(client, bucket, incident, duplicate)
    return [f"s3://{bucket}/{key}" for key in sorted(chosen)]


def _order(incident: Incident) -> tuple[str, int]:
    """Later incidents sort after earlier ones (recorded in the same second: the later try)."""
    return incident.recorded_at, incident.try_number
