"""Publishing bundles to object storage: versioned, atomic for readers, never clobbering.

Layout under the bucket:

- ``bundles/<env>/<pipeline>/``: the current bundle of each pipeline. An
  ``S3DagBundle`` with ``prefix="bundles/<env>/"`` consumes it as is.
- ``bundle-versions/<env>/<pipeline>/<version>/``: every published version,
  immutable (written with ``If-None-Match: *``); ``version`` is the first 16 hex
  digits of the manifest's sha256, so equal bundles have equal versions.
- ``reports/<pipeline>/<run>.{json,md}``: the generation report of every run.

Order of writes: the immutable version first, its ``manifest.json`` last; then the
current prefix: its old ``manifest.json`` is deleted before any of its files changes,
resources are written, then the DAG module (so a reader never parses a DAG whose
resources are missing), then ``manifest.json``, then stale files of the previous
version are deleted. A ``manifest.json`` is therefore only ever visible beside every
file it lists, even when the writer dies half-way: readers trust only bundles with a
manifest, and a rerun of the same publish converges on the same version.

Concurrent runs for the same pipeline and environment: a publisher first takes a
lease, ``leases/<env>/<pipeline>.json`` created with ``If-None-Match: *``. A lease
held by another run is waited for (up to ``lease_wait`` seconds, then
:class:`ConcurrentPublishError` before anything is written); after the wait the
manifest is read again, so a run that lost the race to the same bundle returns
"unchanged". A lease older than :data:`LEASE_SECONDS`, or left by the same run (its
``report_uri``: a retry after a crash), is taken over, conditionally on its ETag. As
a second line of defence the current manifest is deleted only if it is still the one
read (``If-Match``) and created only if none appeared meanwhile (``If-None-Match``).
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
"""Age after which a lease counts as abandoned (its publisher died) and is taken over."""
LEASE_WAIT_SECONDS = 60.0
"""How long a publish waits for another run's lease by default."""
UNKNOWN = "unknown"
"""``replaces`` of a publish that does not know what was current when its run began."""
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


def bundle_identity(manifest_text: str) -> dict[str, str]:
    """``{"version", "sha256"}`` of the bundle with this manifest: the version is the
    first 16 hex digits of the sha256, so equal bundles have equal versions."""
    sha256 = manifest_sha256(manifest_text)
    return {"version": sha256[:16], "sha256": sha256}


def read_manifest(client: Any, bucket: str, prefix: str) -> tuple[str | None, str | None]:
    """The manifest text under ``prefix`` and its ETag, or ``(None, None)``."""
    try:
        response = client.get_object(Bucket=bucket, Key=prefix + MANIFEST)
    except ClientError as error:
        if is_missing(error):
            return None, None
        raise
    return response["Body"].read().decode(), response["ETag"]


def current_manifest(
    client: Any, bucket: str, environment: str, pipeline: str
) -> dict[str, Any] | None:
    """The manifest of a pipeline's current bundle, if it has one."""
    return current_bundle(client, bucket, environment, pipeline)[0]


def current_bundle(
    client: Any, bucket: str, environment: str, pipeline: str
) -> tuple[dict[str, Any] | None, str | None]:
    """The manifest of a pipeline's current bundle and its sha256, or ``(None, None)``."""
    text, _ = read_manifest(client, bucket, current_prefix(environment, pipeline))
    return (json.loads(text), manifest_sha256(text)) if text is not None else (None, None)


def replaced_in_run(
    client: Any, bucket: str, environment: str, pipeline: str, record_key: str
) -> str | None:
    """What a run's publish of ``pipeline`` in ``environment`` replaces (``replaces`` of
    :func:`publish_bundle`): the sha256 of the current bundle when the run first asked
    (None: there was none). The first attempt records it at ``record_key``; a retry, which
    may follow an attempt that made its own bundle current, reads it back."""
    _, sha256 = current_bundle(client, bucket, environment, pipeline)
    if _put_if(client, bucket, record_key, json.dumps({"replaces": sha256}), IfNoneMatch="*"):
        return sha256
    recorded = json.loads(client.get_object(Bucket=bucket, Key=record_key)["Body"].read())
    replaces: str | None = recorded["replaces"]
    return replaces


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
    lease_wait: float = LEASE_WAIT_SECONDS,
    replaces: str | None = UNKNOWN,
) -> PublishResult:
    """Publish ``files`` (a valid bundle, manifest included) as the current bundle.

    Waits up to ``lease_wait`` seconds for a publish of the same pipeline by another run
    (``report_uri`` names the run: its own lease is taken over at once). ``replaces`` is
    the sha256 of the current bundle when the run began (None: it had none). When the
    current bundle already is ``files`` but was not then (or, ``replaces`` unknown, the
    run's own lease is still held), an earlier attempt of this run made it current and
    died before it finished: the publish finishes it (stale files, lease) and counts as
    published, so the run still announces the new bundle.
    """
    manifest_text = files[MANIFEST]
    identity = bundle_identity(manifest_text)
    sha256, version = identity["sha256"], identity["version"]
    prefix = current_prefix(environment, pipeline)
    result = PublishResult(
        pipeline, environment, version, sha256, f"s3://{bucket}/{prefix}", report_uri, True
    )
    unchanged = PublishResult(**{**result.to_dict(), "published": False})
    lease_key = f"leases/{environment}/{pipeline}.json"
    current, _ = read_manifest(client, bucket, prefix)
    is_current = _is(current, sha256)
    unfinished = is_current and _left_unfinished(
        client, bucket, lease_key, report_uri, replaces, sha256
    )
    if is_current and not unfinished:
        return unchanged
    lease = _acquire_lease(client, bucket, lease_key, report_uri, lease_wait)
    try:
        current, etag = read_manifest(client, bucket, prefix)  # as of holding the lease
        if _is(current, sha256):
            if not unfinished:  # another run made it current meanwhile
                return unchanged
            _delete_stale(client, bucket, prefix, set(files))
            return result
        _write_version(client, bucket, version_prefix(environment, pipeline, version), files)
        conflict = f"{pipeline} ({environment}) was published by another run meanwhile"
        # readers stop trusting the current files before they change
        if etag is not None and not _delete_if(client, bucket, prefix + MANIFEST, etag):
            raise ConcurrentPublishError(conflict)
        for key in sorted((key for key in files if key != MANIFEST), key=_resources_first):
            client.put_object(Bucket=bucket, Key=prefix + key, Body=files[key].encode())
        if _put_if(client, bucket, prefix + MANIFEST, manifest_text, IfNoneMatch="*") is None:
            raise ConcurrentPublishError(conflict)
        _delete_stale(client, bucket, prefix, set(files))
    finally:
        _delete_if(client, bucket, lease_key, lease)  # unless another run took it over
    return result


def _left_unfinished(
    client: Any, bucket: str, lease_key: str, owner: str, replaces: str | None, sha256: str
) -> bool:
    """Whether the current bundle, ``sha256``'s, was made current by an earlier attempt
    of ``owner``'s run that died before it finished: it was not current when the run
    began (``replaces``) or, where that is unknown, the run's lease is still held."""
    if replaces != UNKNOWN:
        return replaces != sha256
    held = _held_lease(client, bucket, lease_key)
    return held is not None and held[0] == owner


def _is(manifest_text: str | None, sha256: str) -> bool:
    """Whether a manifest (None: there is none) is the one whose sha256 is ``sha256``."""
    return manifest_text is not None and manifest_sha256(manifest_text) == sha256


def _is_conflict(error: ClientError) -> bool:
    return bool(error.response["Error"]["Code"] in _CONFLICT_CODES)


def is_missing(error: ClientError) -> bool:
    """Whether an S3 error says the object does not exist."""
    return bool(error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"))


def _put_if(client: Any, bucket: str, key: str, body: str, **condition: str) -> str | None:
    """The ETag of a conditional put, or None when its precondition failed."""
    try:
        written = client.put_object(Bucket=bucket, Key=key, Body=body.encode(), **condition)
    except ClientError as error:
        if _is_conflict(error):
            return None
        raise
    return str(written["ETag"])


def _delete_if(client: Any, bucket: str, key: str, etag: str) -> bool:
    """Delete ``key`` if its ETag is still ``etag``; False when it is not."""
    try:
        client.delete_object(Bucket=bucket, Key=key, IfMatch=etag)
    except ClientError as error:
        if _is_conflict(error):
            return False
        raise
    return True


def _acquire_lease(client: Any, bucket: str, key: str, owner: str, wait: float) -> str:
    """Create the lease ``key`` for ``owner`` and return its ETag.

    A lease held by another run is waited for, up to ``wait`` seconds; one that is
    abandoned (older than :data:`LEASE_SECONDS`) or ``owner``'s own is taken over.
    """
    body = json.dumps({"owner": owner, "acquired_at": time.time()})
    give_up = time.monotonic() + wait
    pause = 0.05
    while (etag := _put_if(client, bucket, key, body, IfNoneMatch="*")) is None:
        held = _held_lease(client, bucket, key)
        if held is not None:
            holder, held_etag, age = held
            if holder == owner or age >= LEASE_SECONDS:
                etag = _put_if(client, bucket, key, body, IfMatch=held_etag)
                if etag is not None:
                    break
            if time.monotonic() >= give_up:
                raise ConcurrentPublishError(f"{key} is held by another publish ({age:.0f} s old)")
        time.sleep(pause)
        pause = min(2 * pause, 1.0)
    return etag


def _held_lease(client: Any, bucket: str, key: str) -> tuple[str | None, str, float] | None:
    """Owner, ETag and age in seconds of the lease ``key``, or None once it is released."""
    try:
        held = client.get_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if is_missing(error):
            return None
        raise
    try:
        owner = json.loads(held["Body"].read()).get("owner")
    except (ValueError, AttributeError):
        owner = None
    return owner, str(held["ETag"]), time.time() - held["LastModified"].timestamp()


def _write_version(client: Any, bucket: str, prefix: str, files: Mapping[str, str]) -> None:
    """Write the immutable copy, manifest last; an existing object is the same content
    (versions are content-addressed), left by an earlier attempt."""
    for key in sorted(files, key=lambda key: key == MANIFEST):
        _put_if(client, bucket, prefix + key, files[key], IfNoneMatch="*")


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
