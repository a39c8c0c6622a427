"""Promotion: the exact bytes of a published version, checked again, into the next environment.

Before anything is written to the target environment, the version's objects are read
back and must be the bytes that were published: its manifest's sha256 is the one
announced, every file's sha256 equals its manifest entry, and the files are exactly the
ones the manifest lists, and ``config.yml`` has no placeholder left for the target
environment (a connection, bucket or key an operator needs). Then
:func:`airflow_llm.recheck.recheck_files` runs on those bytes every check of the first
publish (the validators of each resource, the secrets scan, and the bundle gates: types,
import, structure, smoke run), the same function ``airflow-llm validate DIR`` runs. Any
blocking finding refuses the promotion, with a message that names each file and what is
wrong with it.
"""

from __future__ import annotations

import json
from typing import Any

from airflow_llm.gates import GATES
from airflow_llm.publish import (
    MANIFEST,
    UNKNOWN,
    PublishResult,
    manifest_sha256,
    publish_bundle,
    read_manifest,
    version_prefix,
)
from airflow_llm.recheck import manifest_findings, recheck_files, unfilled
from airflow_llm.settings import GenerationSettings
from airflow_llm.validate.findings import Finding, errors

MAX_LISTED = 10
"""Findings a refusal's message lists in full (the rest are counted)."""


class PromotionError(RuntimeError):
    """The version cannot be promoted: missing, altered, or failing its checks."""


def load_version(
    client: Any, bucket: str, environment: str, pipeline: str, version: str, sha256: str
) -> dict[str, str]:
    """Every file of a published version, checked against the manifest: the manifest's
    own sha256 is ``sha256``, each file's sha256 is its entry, none is missing or extra."""
    prefix = version_prefix(environment, pipeline, version)
    where = f"{pipeline} {version} (s3://{bucket}/{prefix})"
    files: dict[str, str] = {}
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            key = item["Key"][len(prefix) :]
            body = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            try:
                files[key] = body.decode()
            except UnicodeDecodeError:
                raise PromotionError(f"{where}: {key} is not UTF-8 text") from None
    if MANIFEST not in files:
        raise PromotionError(f"{where}: no manifest")
    if manifest_sha256(files[MANIFEST]) != sha256:
        raise PromotionError(f"{where}: {MANIFEST} does not match sha256 {sha256}")
    refused = errors(manifest_findings(files))
    if refused:
        raise PromotionError(f"{where} differs from its manifest: {_listed(refused)}")
    return files


def current_versions(client: Any, bucket: str, environment: str) -> list[dict[str, str]]:
    """``{pipeline, version, sha256}`` of every current bundle of ``environment``."""
    listing = client.list_objects_v2(Bucket=bucket, Prefix=f"bundles/{environment}/", Delimiter="/")
    versions = []
    for common in listing.get("CommonPrefixes", []):
        pipeline = common["Prefix"].rstrip("/").rsplit("/", 1)[-1]
        text, _ = read_manifest(client, bucket, common["Prefix"])
        if text is not None:
            sha256 = manifest_sha256(text)
            versions.append({"pipeline": pipeline, "version": sha256[:16], "sha256": sha256})
    return sorted(versions, key=lambda item: item["pipeline"])


def recheck_version(
    files: dict[str, str], pipeline: str, settings: GenerationSettings
) -> list[Finding]:
    """The blocking findings of every check of the first publish on the version's bytes,
    and whether the bundle is ``pipeline``'s."""
    findings = errors(recheck_files(files, settings))
    dag_file = f"dags/{pipeline}.py"
    if dag_file not in files:
        message = f"the bundle has no {dag_file}: it is not {pipeline!r}'s"
        findings.append(Finding(dag_file, None, "bundle.layout", message))
    return findings


def promote(
    client: Any,
    bucket: str,
    source: str,
    target: str,
    pipeline: str,
    version: str,
    sha256: str,
    settings: GenerationSettings,
    replaces: str | None = UNKNOWN,
) -> PublishResult:
    """Check the version published in ``source`` again and publish the same bytes to
    ``target``; raise :class:`PromotionError`, writing nothing, when a check fails.
    ``replaces``: what the run's promotion replaces there (:func:`replaced_in_run`), so
    that a retry after an attempt that died once its bundle was current still reports
    it published."""
    files = load_version(client, bucket, source, pipeline, version, sha256)
    to_fill = unfilled(files, pipeline, target)
    if to_fill:
        raise PromotionError(
            f"{pipeline} {version} has settings still to fill for {target}: "
            f"{'; '.join(to_fill)} (set them in the spec's environment, or its vars as "
            "<task>_<setting>, and regenerate)"
        )
    skipped = skipped_gates(files[MANIFEST])
    if skipped:
        raise PromotionError(
            f"{pipeline} {version} was published without the {', '.join(skipped)} gate(s): "
            f"regenerate it with every gate on before promoting it to {target}"
        )
    findings = recheck_version(files, pipeline, settings)
    if findings:
        raise PromotionError(f"{pipeline} {version} failed its checks: {_listed(findings)}")
    result = publish_bundle(
        client, bucket, target, pipeline, files, f"promoted from {source}", replaces=replaces
    )
    if result.sha256 != sha256:
        raise PromotionError(f"{pipeline}: promoted sha256 {result.sha256} differs from {sha256}")
    return result


def skipped_gates(manifest: str) -> list[str]:
    """The gates a bundle's manifest says it skipped (all of them for a manifest that
    does not say: a bundle from before gates were recorded)."""
    recorded = json.loads(manifest).get("gates")
    if not isinstance(recorded, dict):
        return list(GATES)
    return [gate for gate in GATES if not recorded.get(gate)]


def _listed(findings: list[Finding]) -> str:
    shown = "; ".join(str(finding) for finding in findings[:MAX_LISTED])
    more = len(findings) - MAX_LISTED
    return shown + (f"; and {more} more" if more > 0 else "")
