"""Publishing to the real SeaweedFS server: layout, ordering, no-op reruns, conflicts."""

from __future__ import annotations

import json

import pytest

from airflow_llm.embedded.config import EmbeddedConfig
from airflow_llm.embedded.s3_server import s3_client
from airflow_llm.publish import (
    ConcurrentPublishError,
    current_manifest,
    publish_bundle,
    read_manifest,
    write_report,
)
from airflow_llm.validate.findings import sha256_text

pytestmark = pytest.mark.integration


def bundle(pipeline: str, sql: str, task: str = "load") -> dict[str, str]:
    files = {
        f"dags/{pipeline}.py": "# dag\n",
        f"dags/resources/{pipeline}/{task}.sql": sql,
        f"dags/resources/{pipeline}/tasks.yml": "tasks: []\n",
    }
    manifest = {
        "pipeline": pipeline,
        "files": {k: sha256_text(v) for k, v in sorted(files.items())},
    }
    return {**files, "manifest.json": json.dumps(manifest, sort_keys=True) + "\n"}


def keys(client: object, bucket: str, prefix: str) -> list[str]:
    listing = client.list_objects_v2(Bucket=bucket, Prefix=prefix)  # type: ignore[attr-defined]
    return sorted(item["Key"][len(prefix) :] for item in listing.get("Contents", []))


def test_publish_writes_current_and_immutable_version(s3_server: EmbeddedConfig) -> None:
    client = s3_client(s3_server)
    bucket = s3_server.bucket
    report_uri = write_report(
        client, bucket, "pub_a", "run_1", {"report.json": "{}", "report.md": "# ok\n"}
    )
    first = publish_bundle(
        client, bucket, "dev", "pub_a", bundle("pub_a", "SELECT 1\n"), report_uri
    )
    assert first.published
    assert first.uri == f"s3://{bucket}/bundles/dev/pub_a/"
    assert keys(client, bucket, "bundles/dev/pub_a/") == [
        "dags/pub_a.py",
        "dags/resources/pub_a/load.sql",
        "dags/resources/pub_a/tasks.yml",
        "manifest.json",
    ]
    assert keys(client, bucket, f"bundle-versions/dev/pub_a/{first.version}/") == keys(
        client, bucket, "bundles/dev/pub_a/"
    )
    assert keys(client, bucket, "reports/pub_a/") == ["run_1.json", "run_1.md"]

    again = publish_bundle(
        client, bucket, "dev", "pub_a", bundle("pub_a", "SELECT 1\n"), report_uri
    )
    assert (again.published, again.version) == (False, first.version)


def test_a_new_version_replaces_files_and_drops_stale_ones(s3_server: EmbeddedConfig) -> None:
    client = s3_client(s3_server)
    bucket = s3_server.bucket
    publish_bundle(client, bucket, "dev", "pub_b", bundle("pub_b", "SELECT 1\n"), "r")
    files = bundle("pub_b", "SELECT 2\n")
    files["dags/resources/pub_b/extra.sql"] = "SELECT 3\n"
    del files["dags/resources/pub_b/tasks.yml"]
    second = publish_bundle(client, bucket, "dev", "pub_b", files, "r")
    assert second.published
    assert "dags/resources/pub_b/tasks.yml" not in keys(client, bucket, "bundles/dev/pub_b/")
    body = client.get_object(Bucket=bucket, Key="bundles/dev/pub_b/dags/resources/pub_b/load.sql")[
        "Body"
    ].read()
    assert body == b"SELECT 2\n"
    assert current_manifest(client, bucket, "dev", "pub_b") == json.loads(files["manifest.json"])
    assert len(keys(client, bucket, "bundle-versions/dev/pub_b/")) == 8, "both versions kept"


def test_a_publish_in_progress_elsewhere_stops_this_one_before_any_write(
    s3_server: EmbeddedConfig,
) -> None:
    client = s3_client(s3_server)
    bucket = s3_server.bucket
    publish_bundle(client, bucket, "dev", "pub_c", bundle("pub_c", "SELECT 1\n"), "r")
    before = {key: read(client, bucket, key) for key in keys(client, bucket, "bundles/dev/pub_c/")}
    client.put_object(Bucket=bucket, Key="leases/dev/pub_c.json", Body=b'{"owner": "other run"}')
    with pytest.raises(ConcurrentPublishError, match="held by another publish"):
        publish_bundle(
            client, bucket, "dev", "pub_c", bundle("pub_c", "SELECT 2\n"), "r", lease_wait=0
        )
    after = {key: read(client, bucket, key) for key in keys(client, bucket, "bundles/dev/pub_c/")}
    assert after == before
    client.delete_object(Bucket=bucket, Key="leases/dev/pub_c.json")
    assert publish_bundle(
        client, bucket, "dev", "pub_c", bundle("pub_c", "SELECT 2\n"), "r"
    ).published
    assert keys(client, bucket, "leases/") == [], "the lease is released"


def test_the_manifest_write_is_conditional_on_the_manifest_it_replaces(
    s3_server: EmbeddedConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = s3_client(s3_server)
    bucket = s3_server.bucket
    publish_bundle(client, bucket, "dev", "pub_d", bundle("pub_d", "SELECT 1\n"), "r")
    stale = read_manifest(client, bucket, "bundles/dev/pub_d/")
    publish_bundle(client, bucket, "dev", "pub_d", bundle("pub_d", "SELECT 2\n"), "r")
    monkeypatch.setattr("airflow_llm.publish.read_manifest", lambda *args: stale)
    with pytest.raises(ConcurrentPublishError, match="published by another run"):
        publish_bundle(client, bucket, "dev", "pub_d", bundle("pub_d", "SELECT 3\n"), "r")
    manifest = read(client, bucket, "bundles/dev/pub_d/manifest.json")
    assert manifest == bundle("pub_d", "SELECT 2\n")["manifest.json"]


def read(client: object, bucket: str, key: str) -> str:
    if not key.startswith("bundles/"):
        key = f"bundles/dev/pub_c/{key}"
    return str(client.get_object(Bucket=bucket, Key=key)["Body"].read().decode())  # type: ignore[attr-defined]
