"""Promotion: the exact bytes of a published version, gated again, into the next environment."""

from __future__ import annotations

import json
from typing import Any

from airflow_llm.gates import gate_bundle
from airflow_llm.publish import (
    MANIFEST,
    PublishResult,
    manifest_sha256,
    publish_bundle,
    read_manifest,
    version_prefix,
)
from airflow_llm.settings import GenerationSettings
from airflow_llm.validate.findings import Finding, errors


class PromotionError(RuntimeError):
    """The version cannot be promoted: missing, altered, or failing its gates."""


def load_version(
    client: Any, bucket: str, environment: str, pipeline: str, version: str, sha256: str
) -> dict[str, str]:
    """Every file of a published version, checked against the manifest's sha256."""
    prefix = version_prefix(environment, pipeline, version)
    files: dict[str, str] = {}
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            body = client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            files[item["Key"][len(prefix) :]] = body.decode()
    if MANIFEST not in files:
        raise PromotionError(f"{pipeline} {version}: no manifest under s3://{bucket}/{prefix}")
    if manifest_sha256(files[MANIFEST]) != sha256:
        raise PromotionError(f"{pipeline} {version}: manifest does not match sha256 {sha256}")
    listed = json.loads(files[MANIFEST])["files"]
    if set(listed) != set(files) - {MANIFEST}:
        raise PromotionError(f"{pipeline} {version}: files differ from the manifest's list")
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


def gate_version(
    files: dict[str, str], pipeline: str, settings: GenerationSettings
) -> list[Finding]:
    """The bundle gates (types, import, structure, smoke run) on the version's own bytes."""
    dag_files = {path: content for path, content in files.items() if path.startswith("dags/")}
    return errors(gate_bundle(pipeline, dag_files, settings).findings)


def promote(
    client: Any,
    bucket: str,
    source: str,
    target: str,
    pipeline: str,
    version: str,
    sha256: str,
    settings: GenerationSettings,
) -> PublishResult:
    """Gate the version published in ``source`` and publish the same bytes to ``target``."""
    files = load_version(client, bucket, source, pipeline, version, sha256)
    findings = gate_version(files, pipeline, settings)
    if findings:
        raise PromotionError(f"{pipeline} {version} failed its gates: {findings[0]}")
    result = publish_bundle(
        client, bucket, target, pipeline, files, report_uri=f"promoted from {source}"
    )
    if result.sha256 != sha256:
        raise PromotionError(f"{pipeline}: promoted sha256 {result.sha256} differs from {sha256}")
    return result
