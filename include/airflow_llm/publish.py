"""Publishing bundles to object storage: versioned, atomic for readers, never clobbering.

Layout under the bucket:

- ``bundles/<env>/<pipeline>/``: the current bundle of each pipeline. An
  ``S3DagBundle`` with ``prefix="bundles/<env>/"`` consumes it as is.
- ``bundle-versions/<env>/<pipeline>/<version>/``: every published version,
  immutable (written with ``If-None-Match: *``); ``version`` is the first 16 hex
  digits of the manifest's sha256, so equal bundles have equal versions.
- ``reports/<pipeline>/<run>.{json,md}``: the generation report of every run.

Order of writes into the current prefix: resources first, then the DAG module (so
a reader never parses a DAG whose resources are missing), then ``manifest.json``
(readers trust only bundles with a manifest), then stale files of the previous
version are deleted.

Concurrent runs for the same pipeline and environment: a publisher first takes a
lease, ``leases/<env>/<pipeline>.json`` created with ``If-None-Match: *`` (a lease
older than :data:`LEASE_SECONDS` is taken over, conditionally on its ETag); the
loser fails with :class:`ConcurrentPublishError` before writing anything. As a
second line of defence the manifest write is conditional on the manifest it
replaces (``If-Match`` on its ETag, or ``If-None-Match`` when there was none).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from botocore.exceptions import ClientError

MANIFEST = "manifest.json"
LEASE_SECONDS = 900
_CONFLICT_CODES = ("PreconditionFailed", "412", "ConditionalRequestConflict")


class ConcurrentPublishError(RuntimeError):
    """Another run published this pipeline between our read and our write."""


@dataclass(frozen=True)
class PublishResult:
    """What a publish did; ``published`` is False when the same bundle was already current."""

    pipeline: str
    environment: str
    version: str
    sha256: str
    uri: str
    report_uri: str
    published: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (XCom and Asset event extra)."""
        return asdict(self)


def current_prefix(environment: str, pipeline: str) -> str:
    """Key prefix of a pipeline's current bundle."""
    return f"bundles/{environment}/{pipeline}/"


def version_prefix(environment: str, pipeline: str, version: str) -> str:
    """Key prefix of one immutable published version."""
    return f"bundle-versions/{environment}/{pipeline}/{version}/"


def report_keys(pipeline: str, run_key: str) -> tuple[str, str]:
    """Keys of a run's JSON and Markdown report for ``pipeline``."""
    return f"reports/{pipeline}/{run_key}.json", f"reports/{pipeline}/{run_key}.md"


def manifest_sha256(manifest_text: str) -> str:
    """The bundle's identity: sha256 of its manifest (which lists every file's sha256)."""
    return hashlib.sha256(manifest_text.encode()).hexdigest()


def read_manifest(client: Any, bucket: str, prefix: str) -> tuple[str | None, str | None]:
    """The manifest text under ``prefix`` and its ETag, or ``(None, None)``."""
    try:
        response = client.get_object(Bucket=bucket, Key=prefix + MANIFEST)
    except ClientError as error:
        if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
            return None, None
        raise
    return response["Body"].read().decode(), response["ETag"]


def current_manifest(
    client: Any, bucket: str, environment: str, pipeline: str
) -> dict[str, Any] | None:
    """The manifest of a pipeline's current bundle, if it has one."""
    text, _ = read_manifest(client, bucket, current_prefix(environment, pipeline))
    return json.loads(text) if text is not None else None


def write_report(
    client: Any, bucket: str, pipeline: str, run_key: str, report_files: Mapping[str, str]
) -> str:
    """Store a run's report; return the JSON report's URI."""
    json_key, md_key = report_keys(pipeline, run_key)
    client.put_object(Bucket=bucket, Key=json_key, Body=report_files["report.json"].encode())
    client.put_object(Bucket=bucket, Key=md_key, Body=report_files["report.md"].encode())
    return f"s3://{bucket}/{json_key}"


def publish_bundle(
    client: Any,
    bucket: str,
    environment: str,
    pipeline: str,
    files: Mapping[str, str],
    report_uri: str,
) -> PublishResult:
    """Publish ``files`` (a valid bundle, manifest included) as the current bundle."""
    manifest_text = files[MANIFEST]
    sha256 = manifest_sha256(manifest_text)
    version = sha256[:16]
    prefix = current_prefix(environment, pipeline)
    result = PublishResult(
        pipeline, environment, version, sha256, f"s3://{bucket}/{prefix}", report_uri, True
    )
    unchanged = PublishResult(**{**result.to_dict(), "published": False})
    current, _ = read_manifest(client, bucket, prefix)
    if current is not None and manifest_sha256(current) == sha256:
        return unchanged
    lease = _acquire_lease(client, bucket, f"leases/{environment}/{pipeline}.json", report_uri)
    try:
        current, etag = read_manifest(client, bucket, prefix)  # as of holding the lease
        if current is not None and manifest_sha256(current) == sha256:
            return unchanged
        _write_version(client, bucket, version_prefix(environment, pipeline, version), files)
        for key in sorted((key for key in files if key != MANIFEST), key=_resources_first):
            client.put_object(Bucket=bucket, Key=prefix + key, Body=files[key].encode())
        condition = {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}
        try:
            client.put_object(
                Bucket=bucket, Key=prefix + MANIFEST, Body=manifest_text.encode(), **condition
            )
        except ClientError as error:
            if error.response["Error"]["Code"] in _CONFLICT_CODES:
                raise ConcurrentPublishError(
                    f"{pipeline} ({environment}) was published by another run meanwhile"
                ) from error
            raise
        _delete_stale(client, bucket, prefix, set(files))
    finally:
        client.delete_object(Bucket=bucket, Key=lease)
    return result


def _acquire_lease(client: Any, bucket: str, key: str, owner: str) -> str:
    """Create the lease object, or take over one older than LEASE_SECONDS; return its key."""
    body = json.dumps({"owner": owner, "acquired_at": time.time()}).encode()
    try:
        client.put_object(Bucket=bucket, Key=key, Body=body, IfNoneMatch="*")
        return key
    except ClientError as error:
        if error.response["Error"]["Code"] not in _CONFLICT_CODES:
            raise
    held = client.head_object(Bucket=bucket, Key=key)
    age = time.time() - held["LastModified"].timestamp()
    if age < LEASE_SECONDS:
        raise ConcurrentPublishError(f"{key} is held by another publish ({age:.0f} s old)")
    try:
        client.put_object(Bucket=bucket, Key=key, Body=body, IfMatch=held["ETag"])
    except ClientError as error:
        if error.response["Error"]["Code"] in _CONFLICT_CODES:
            raise ConcurrentPublishError(f"{key} was taken over by another publish") from error
        raise
    return key


def _write_version(client: Any, bucket: str, prefix: str, files: Mapping[str, str]) -> None:
    """Write the immutable copy; an existing object is the same content (content-addressed)."""
    for key in sorted(files, key=lambda key: key == MANIFEST):
        try:
            client.put_object(
                Bucket=bucket, Key=prefix + key, Body=files[key].encode(), IfNoneMatch="*"
            )
        except ClientError as error:
            if error.response["Error"]["Code"] not in _CONFLICT_CODES:
                raise


def _delete_stale(client: Any, bucket: str, prefix: str, keep: set[str]) -> None:
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            relative = item["Key"][len(prefix) :]
            if relative not in keep:
                client.delete_object(Bucket=bucket, Key=item["Key"])


def _resources_first(key: str) -> tuple[bool, str]:
    """Sort key: resources (and reports) before the DAG module that loads them."""
    is_dag_module = key.startswith("dags/") and "/resources/" not in key
    return is_dag_module, key
