"""Promotion on the real SeaweedFS server: only the published bytes, checked again in full.

A version is published the way the flow publishes it (files, then a manifest listing
each file's sha256), then changed in the bucket or published with bytes that only the
validators refuse; promoting it must be refused with a message that names the file, and
must write nothing under the target environment. The environments are this module's
own: the promotion DAG's tests promote every current bundle of ``dev`` in the bucket.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from airflow_llm.bundle.render import artifact_file, render_bundle
from airflow_llm.embedded.config import EmbeddedConfig
from airflow_llm.embedded.s3_server import s3_client
from airflow_llm.gates import GATES
from airflow_llm.promotion import PromotionError, promote
from airflow_llm.publish import (
    MANIFEST,
    PublishResult,
    publish_bundle,
    replaced_in_run,
    version_prefix,
)
from airflow_llm.settings import GenerationSettings
from airflow_llm.validate.findings import sha256_text
from airflow_llm.validate.python_code import assemble_function
from tests.integration.test_gates import GOOD_FUNCTION, GOOD_SQL, GOOD_SUITE, SPEC

pytestmark = pytest.mark.integration
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SOURCE, TARGET = "promotion-source", "promotion-target"


def bundle_files(
    pipeline: str,
    sql: str = GOOD_SQL,
    function: str = GOOD_FUNCTION,
    skipped: tuple[str, ...] = (),
) -> dict[str, str]:
    """The test_gates bundle (it passes every gate, smoke run included) as ``pipeline``,
    with its manifest (which says it skipped the ``skipped`` gates)."""
    spec = SPEC.model_copy(update={"name": pipeline})
    tasks = list(spec.tasks or [])
    python = tasks[2]
    artifacts = {
        "stage_orders": sql,
        "check_staged": json.dumps(GOOD_SUITE),
        "count_orders": assemble_function(
            function, artifact_file(python), "python", python.name, python.description
        ).source,
    }
    files = render_bundle(spec, tasks, artifacts)
    listed = {path: sha256_text(content) for path, content in sorted(files.items())}
    gates = {gate: gate not in skipped for gate in GATES}
    manifest = {"pipeline": pipeline, "files": listed, "gates": gates}
    return {**files, MANIFEST: json.dumps(manifest, indent=2, sort_keys=True) + "\n"}


@pytest.fixture
def s3(s3_server: EmbeddedConfig) -> tuple[Any, str]:
    return s3_client(s3_server), s3_server.bucket


@pytest.fixture
def settings(tmp_path: Path) -> GenerationSettings:
    """Without the smoke run (about 15 s a bundle): the tests of tampering stop before it;
    test_the_recheck_runs_the_smoke_run_too turns it on."""
    return GenerationSettings(work_dir=tmp_path / "work", smoke_run=False, smoke_timeout=120)


def keys(client: Any, bucket: str, prefix: str) -> list[str]:
    paginator = client.get_paginator("list_objects_v2")
    return sorted(
        item["Key"][len(prefix) :]
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix)
        for item in page.get("Contents", [])
    )


def snapshot(client: Any, bucket: str, prefix: str) -> dict[str, bytes]:
    return {
        key: client.get_object(Bucket=bucket, Key=prefix + key)["Body"].read()
        for key in keys(client, bucket, prefix)
    }


def publish_to_source(s3: tuple[Any, str], files: dict[str, str]) -> PublishResult:
    client, bucket = s3
    pipeline = json.loads(files[MANIFEST])["pipeline"]
    return publish_bundle(client, bucket, SOURCE, pipeline, files, report_uri="r")


def promote_to_target(
    s3: tuple[Any, str],
    published: PublishResult,
    settings: GenerationSettings,
    run: str | None = None,
) -> PublishResult:
    """Promote as a run does: ``run`` records what its promotion replaces at its first
    attempt (None: not recorded, as a caller that does not know)."""
    client, bucket = s3
    pipeline = published.pipeline
    record = f"work/{run}/{TARGET}/{pipeline}/replaces.json"
    return promote(
        client,
        bucket,
        SOURCE,
        TARGET,
        pipeline,
        published.version,
        published.sha256,
        settings,
        **({"replaces": replaced_in_run(client, bucket, TARGET, pipeline, record)} if run else {}),
    )


def assert_target_untouched(s3: tuple[Any, str], pipeline: str) -> None:
    client, bucket = s3
    assert keys(client, bucket, f"bundles/{TARGET}/{pipeline}/") == []
    assert keys(client, bucket, f"bundle-versions/{TARGET}/{pipeline}/") == []


def test_an_unchanged_version_is_promoted_byte_for_byte(
    s3: tuple[Any, str], settings: GenerationSettings
) -> None:
    client, bucket = s3
    published = publish_to_source(s3, bundle_files("promo_ok"))
    promoted = promote_to_target(s3, published, settings)
    assert (promoted.published, promoted.sha256) == (True, published.sha256)
    source = snapshot(client, bucket, f"bundles/{SOURCE}/promo_ok/")
    assert MANIFEST in source
    assert snapshot(client, bucket, f"bundles/{TARGET}/promo_ok/") == source


def test_a_retry_of_a_promotion_that_died_after_publishing_still_reports_it_published(
    s3: tuple[Any, str], settings: GenerationSettings
) -> None:
    """The worker died after the publish finished (lease released) but before the task
    ended: Airflow retries it, and the retry must report the bundle published, or the
    target environment never gets its Asset event. Another run finds it unchanged."""
    published = publish_to_source(s3, bundle_files("promo_retry"))
    first = promote_to_target(s3, published, settings, run="run-1")
    retry = promote_to_target(s3, published, settings, run="run-1")
    assert (first.published, retry.published) == (True, True)
    assert promote_to_target(s3, published, settings, run="run-2").published is False
    unrecorded = promote_to_target(s3, published, settings)
    assert unrecorded.published is False, "without the record a retry cannot tell"


def test_a_version_published_without_the_smoke_run_is_refused(
    s3: tuple[Any, str], settings: GenerationSettings
) -> None:
    published = publish_to_source(s3, bundle_files("promo_unsmoked", skipped=("smoke_run",)))
    with pytest.raises(PromotionError, match="published without the smoke_run gate"):
        promote_to_target(s3, published, settings)
    assert_target_untouched(s3, "promo_unsmoked")


def tamper_sql(client: Any, bucket: str, prefix: str, pipeline: str) -> str:
    path = f"dags/resources/{pipeline}/stage_orders.sql"
    client.put_object(Bucket=bucket, Key=prefix + path, Body=b"DROP TABLE everything\n")
    return f"{path}: error: [manifest.hash] sha256 differs from the manifest"


def slip_in_a_secret(client: Any, bucket: str, prefix: str, pipeline: str) -> str:
    path = f"dags/resources/{pipeline}/stage_orders.sql"
    sql = client.get_object(Bucket=bucket, Key=prefix + path)["Body"].read().decode()
    sql += f"-- aws_secret_access_key = '{AWS_SECRET}'\n"
    client.put_object(Bucket=bucket, Key=prefix + path, Body=sql.encode())
    return f"{path}: error: [manifest.hash] sha256 differs from the manifest"


def add_file(client: Any, bucket: str, prefix: str, pipeline: str) -> str:
    path = f"dags/resources/{pipeline}/extra.py"
    client.put_object(Bucket=bucket, Key=prefix + path, Body=b"import os\n")
    return f"{path}: error: [manifest.extra_file] not listed in the manifest"


def remove_file(client: Any, bucket: str, prefix: str, pipeline: str) -> str:
    path = f"dags/resources/{pipeline}/check_staged_expectations.json"
    client.delete_object(Bucket=bucket, Key=prefix + path)
    return f"{path}: error: [manifest.missing_file] listed in the manifest but absent"


@pytest.mark.parametrize("change", [tamper_sql, slip_in_a_secret, add_file, remove_file])
def test_a_version_changed_after_publishing_is_refused(
    s3: tuple[Any, str], settings: GenerationSettings, change: Any
) -> None:
    client, bucket = s3
    pipeline = f"promo_{change.__name__}"
    published = publish_to_source(s3, bundle_files(pipeline))
    expected = change(client, bucket, version_prefix(SOURCE, pipeline, published.version), pipeline)
    with pytest.raises(PromotionError) as refused:
        promote_to_target(s3, published, settings)
    assert expected in str(refused.value)
    assert AWS_SECRET not in str(refused.value)
    assert_target_untouched(s3, pipeline)


@pytest.mark.parametrize(
    ("case", "sql", "function", "expected"),
    [
        (
            "sql_policy",
            "DROP TABLE everything\n",
            GOOD_FUNCTION,
            "stage_orders.sql: error: [policy.statement] DROP statements are not allowed",
        ),
        (
            "secret",
            GOOD_SQL + "-- password: 'hunter2hunter2'\n",
            GOOD_FUNCTION,
            f"stage_orders.sql:{len(GOOD_SQL.splitlines()) + 1}: error: [secret.password] "
            "looks like a password",
        ),
        (
            "python_policy",
            GOOD_SQL,
            "def run(config, upstream, item):\n    import subprocess\n    return 1\n",
            "count_orders_function.py:16: error: [policy.banned_import] import of 'subprocess' is never allowed",
        ),
    ],
    ids=["sql_policy", "secret", "python_policy"],
)
def test_a_version_its_validators_refuse_is_refused_though_its_manifest_matches(
    s3: tuple[Any, str],
    settings: GenerationSettings,
    case: str,
    sql: str,
    function: str,
    expected: str,
) -> None:
    """Bytes that reached the bucket without passing generation's validators (written
    by hand, or by an older generator), manifest and all."""
    pipeline = f"promo_{case}"
    published = publish_to_source(s3, bundle_files(pipeline, sql=sql, function=function))
    with pytest.raises(PromotionError, match="failed its checks") as refused:
        promote_to_target(s3, published, settings)
    assert f"dags/resources/{pipeline}/{expected}" in str(refused.value)
    assert "hunter2" not in str(refused.value), "messages never repeat a secret"
    assert_target_untouched(s3, pipeline)


def test_the_recheck_runs_the_smoke_run_too(
    s3: tuple[Any, str], settings: GenerationSettings
) -> None:
    """Code that passes every static check and fails only when it runs."""
    fails_when_run = (
        "def run(config, upstream, item):\n    raise RuntimeError('only at run time')\n"
    )
    published = publish_to_source(s3, bundle_files("promo_smoke", function=fails_when_run))
    with pytest.raises(PromotionError) as refused:
        promote_to_target(s3, published, replace(settings, smoke_run=True))
    message = str(refused.value)
    assert (
        "dags/resources/promo_smoke/count_orders_function.py: error: [smoke.failed] "
        "count_orders: RuntimeError: only at run time"
    ) in message
    assert_target_untouched(s3, "promo_smoke")
