"""Batched generation stages on the real SeaweedFS, with a scripted endpoint over HTTP.

A batch keeps several requests in flight and still writes the same artifacts as one
task at a time; environments of one spec ask each question once; quality suites see
the tables of the repaired SQL; specs that claim one pipeline name are all refused.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx2
import pytest

from airflow_llm.connections import MODEL_CONN_ID, conn_env_var
from airflow_llm.embedded.config import EmbeddedConfig
from airflow_llm.embedded.s3_server import s3_client
from airflow_llm.stages import FlowContext, batches, generate, plan, prepare
from tests.scripted_endpoint import Answer, ScriptedModel
from tests.unit.test_generate import GOOD_PYTHON, GOOD_SQL, GOOD_SUITE

pytestmark = pytest.mark.integration
SPEC = """\
name: {name}
description: Copy order ids into totals, check them and count them.
dialect: postgres
sources:
  - {{name: orders, columns: {{id: BIGINT, d: DATE}}}}
tasks:
  - {{name: build_totals, kind: sql, description: Copy ids into totals.}}
  - {{name: check_totals, kind: quality, depends_on: build_totals, description: ids are set.}}
  - {{name: count_totals, kind: python, depends_on: check_totals, description: Count.}}
"""


@contextmanager
def model_connection(
    script: ScriptedModel, model: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Serve ``script`` as the default model connection, naming the model ``model``."""
    with script.serve() as base_url:
        connection = {"conn_type": "openai", "host": base_url, "extra": {"model": model}}
        monkeypatch.setenv(conn_env_var(MODEL_CONN_ID), json.dumps(connection))
        yield


def upload_specs(config: EmbeddedConfig, prefix: str, names: list[str]) -> list[str]:
    client = s3_client(config)
    for name in names:
        key = f"{prefix}{name}.yml"
        client.put_object(Bucket=config.bucket, Key=key, Body=SPEC.format(name=name).encode())
    return [f"s3://{config.bucket}/{prefix}{name}.yml" for name in names]


def run_stages(uris: list[str], environments: list[str], ctx: FlowContext) -> list[dict[str, Any]]:
    """prepare -> plan -> every batch, as the DAG runs them."""
    ready, skipped = prepare(uris, environments, ctx)
    assert skipped == []
    return [
        result
        for batch in batches(plan(ready, ctx), ctx.batch_size)
        for result in generate(batch, ctx)
    ]


def artifacts(ctx: FlowContext, environment: str, pipeline: str) -> dict[str, Any]:
    """Each task's artifact content and findings (attempt timings and cache flags aside)."""
    folder = ctx.work(environment, pipeline) / "artifacts"
    states = {path.name: json.loads(path.read_text()) for path in folder.iterdir()}
    return {
        name: [(a["content"], a["findings"]) for a in state["attempts"]]
        for name, state in states.items()
    }


def waiting_for(parties: int, answer: str) -> Answer:
    """An answer given only once ``parties`` requests are in flight together."""
    barrier = threading.Barrier(parties, timeout=60)

    def respond(body: dict[str, Any]) -> str:
        barrier.wait()
        return answer

    return respond


def test_a_batch_keeps_requests_in_flight_and_writes_what_one_at_a_time_writes(
    s3_connection: EmbeddedConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = ["batch_a", "batch_b", "batch_c"]
    uris = upload_specs(s3_connection, "batch-stages/", names)
    bucket = s3_connection.bucket

    together = ScriptedModel(
        {"sql": [waiting_for(3, GOOD_SQL)], "quality": [GOOD_SUITE], "python": [GOOD_PYTHON]}
    )
    batched = FlowContext(bucket, "batched", batch_size=9, concurrency=3, strategy="free")
    with model_connection(together, "scripted-batched", monkeypatch):
        results = run_stages(uris, ["dev"], batched)
    assert all(result["valid"] for result in results)
    assert len(results) == 9
    assert sorted(together.roles()) == ["python"] * 3 + ["quality"] * 3 + ["sql"] * 3

    alone = ScriptedModel({"sql": [GOOD_SQL], "quality": [GOOD_SUITE], "python": [GOOD_PYTHON]})
    serial = FlowContext(bucket, "serial", batch_size=1, concurrency=1, strategy="free")
    with model_connection(alone, "scripted-serial", monkeypatch):
        run_stages(uris, ["dev"], serial)
    for name in names:
        assert artifacts(batched, "dev", name) == artifacts(serial, "dev", name)


def test_environments_of_one_spec_ask_each_question_once(
    s3_connection: EmbeddedConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    uris = upload_specs(s3_connection, "batch-envs/", ["batch_envs"])
    script = ScriptedModel({"sql": [GOOD_SQL], "quality": [GOOD_SUITE], "python": [GOOD_PYTHON]})
    ctx = FlowContext(s3_connection.bucket, "envs", concurrency=4, strategy="free")
    with model_connection(script, "scripted-envs", monkeypatch):
        results = run_stages(uris, ["dev", "staging", "prod"], ctx)
    assert len(results) == 9
    assert all(result["valid"] for result in results)
    assert sorted(script.roles()) == ["python", "quality", "sql"]


def test_quality_suites_see_the_tables_of_the_repaired_sql(
    s3_connection: EmbeddedConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    uris = upload_specs(s3_connection, "batch-repair/", ["batch_repair"])
    script = ScriptedModel(
        {
            "sql": ["```sql\nSELEC broken\n```"],
            "repair": [GOOD_SQL],
            "quality": [GOOD_SUITE],
            "python": [GOOD_PYTHON],
        }
    )
    ctx = FlowContext(s3_connection.bucket, "repair", concurrency=4, strategy="free")
    with model_connection(script, "scripted-repair", monkeypatch):
        results = run_stages(uris, ["dev"], ctx)
    assert all(result["valid"] for result in results)
    suite_request = next(body for body in script.requests if "response_format" in body)
    schema = suite_request["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["table"]["enum"] == ["orders", "totals"]


def test_specs_that_claim_one_name_are_all_refused_and_the_others_go_on(
    s3_connection: EmbeddedConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = s3_connection.bucket
    client = s3_client(s3_connection)
    [alone] = upload_specs(s3_connection, "batch-clash/", ["batch_alone"])
    claimants = [f"s3://{bucket}/batch-clash/{key}" for key in ("a.yml", "team/b.md")]
    client.put_object(
        Bucket=bucket, Key="batch-clash/a.yml", Body=SPEC.format(name="batch_clash").encode()
    )
    markdown = "# DAG Documentation\n\n[Batch Clash] - Comprehensive Pipeline Description\n"
    client.put_object(Bucket=bucket, Key="batch-clash/team/b.md", Body=markdown.encode())
    ctx = FlowContext(bucket, "clash", strategy="free")
    with model_connection(ScriptedModel({}), "scripted-clash", monkeypatch):
        ready, skipped = prepare([*claimants, alone], ["dev", "prod"], ctx)

    assert [(item["pipeline"], item["environment"]) for item in ready] == [
        ("batch_alone", "dev"),
        ("batch_alone", "prod"),
    ]
    assert [(item["uri"], item["status"]) for item in skipped] == [
        (uri, "rejected") for uri in claimants for _ in ("dev", "prod")
    ]
    claimed = f"pipeline name 'batch_clash' is claimed by {claimants[0]} and {claimants[1]}"
    assert all(item["reason"].startswith(claimed) for item in skipped)
    reports = {item["report_uri"] for item in skipped}
    assert len(reports) == 4, "each spec and environment has a report of its own"
    for uri in reports:
        report = json.loads(
            client.get_object(Bucket=bucket, Key=uri.removeprefix(f"s3://{bucket}/"))["Body"].read()
        )
        assert report["reason"].startswith(claimed)
    work = client.list_objects_v2(Bucket=bucket, Prefix="work/clash/")["Contents"]
    assert {item["Key"].split("/")[3] for item in work} == {"batch_alone"}


def test_a_bundle_published_from_one_spec_is_not_replaced_by_another_of_that_name(
    s3_connection: EmbeddedConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = s3_connection.bucket
    client = s3_client(s3_connection)
    [owner] = upload_specs(s3_connection, "batch-owner/", ["batch_owned"])
    other = f"s3://{bucket}/batch-owner/team/copy.yml"  # another file, the same name
    client.put_object(
        Bucket=bucket,
        Key="batch-owner/team/copy.yml",
        Body=SPEC.format(name="batch_owned").encode(),
    )
    manifest = {"pipeline": "batch_owned", "spec_source": owner, "spec_sha256": "0"}
    key = "bundles/dev/batch_owned/manifest.json"
    client.put_object(Bucket=bucket, Key=key, Body=json.dumps(manifest).encode())
    ctx = FlowContext(bucket, "owner", strategy="free")
    with model_connection(ScriptedModel({}), "scripted-owner", monkeypatch):
        ready, skipped = prepare([other], ["dev", "prod"], ctx)
        owner_ready, _ = prepare([owner], ["dev"], ctx)

    assert [i["environment"] for i in ready] == ["prod"]  # nothing is published in prod
    [refused] = skipped
    assert (refused["environment"], refused["status"]) == ("dev", "rejected")
    published_from = f"pipeline name 'batch_owned' is published in dev from {owner}"
    assert refused["reason"].startswith(published_from)
    assert [i["uri"] for i in owner_ready] == [owner]  # its own spec regenerates it


DESCRIBED = """\
name: {name}
description: Build the weekly supplier scorecard from the procurement ledger.
"""


def test_a_rejected_spec_waits_for_a_change_or_a_forced_run(
    s3_connection: EmbeddedConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = s3_connection.bucket
    client = s3_client(s3_connection)
    key = "batch-waits/scorecard.yml"
    uri = f"s3://{bucket}/{key}"
    client.put_object(Bucket=bucket, Key=key, Body=DESCRIBED.format(name="scorecard").encode())
    script = ScriptedModel({"plan": ["no JSON here"]})
    with model_connection(script, "scripted-waits", monkeypatch):
        first = FlowContext(bucket, "waits-1", strategy="free", max_attempts=1)
        ready, _ = prepare([uri], ["dev"], first)
        [rejected] = plan(ready, first)
        asked = len(script.requests)

        again = FlowContext(bucket, "waits-2", strategy="free", max_attempts=1)
        ready, [skipped] = prepare([uri], ["dev"], again)
        assert ready == []
        assert skipped["status"] == "rejected"
        assert skipped["report_uri"] == rejected["report_uri"], "no new report"
        assert "unchanged since" in skipped["reason"]
        assert rejected["reason"] in skipped["reason"]
        assert len(script.requests) == asked, "no model call for a standing rejection"

        forced = FlowContext(bucket, "waits-3", strategy="free", max_attempts=1, force=True)
        assert [item["uri"] for item in prepare([uri], ["dev"], forced)[0]] == [uri]

        other_strategy = FlowContext(bucket, "waits-4", strategy="hybrid", max_attempts=1)
        assert len(prepare([uri], ["dev"], other_strategy)[0]) == 1, "the generator changed"

        changed = DESCRIBED.format(name="scorecard").replace("weekly", "monthly")
        client.put_object(Bucket=bucket, Key=key, Body=changed.encode())
        assert len(prepare([uri], ["dev"], again)[0]) == 1, "the spec changed"


def test_an_invalid_spec_is_reported_once_until_it_changes(
    s3_connection: EmbeddedConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = s3_connection.bucket
    client = s3_client(s3_connection)
    key = "batch-invalid/broken.yml"
    uri = f"s3://{bucket}/{key}"
    client.put_object(Bucket=bucket, Key=key, Body=b"name: broken\ntasks: [oops\n")
    with model_connection(ScriptedModel({}), "scripted-invalid", monkeypatch):
        [first] = prepare([uri], ["dev"], FlowContext(bucket, "invalid-1", strategy="free"))[1]
        [second] = prepare([uri], ["dev"], FlowContext(bucket, "invalid-2", strategy="free"))[1]
        assert first["reason"] == "invalid spec"
        assert second["report_uri"] == first["report_uri"]
        client.put_object(Bucket=bucket, Key=key, Body=SPEC.format(name="broken").encode())
        ready, _ = prepare([uri], ["dev"], FlowContext(bucket, "invalid-3", strategy="free"))
    assert [item["pipeline"] for item in ready] == ["broken"]


def test_a_spec_the_endpoint_never_answered_for_is_asked_again(
    s3_connection: EmbeddedConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = s3_connection.bucket
    client = s3_client(s3_connection)
    key = "batch-unanswered/scorecard.yml"
    uri = f"s3://{bucket}/{key}"
    client.put_object(Bucket=bucket, Key=key, Body=DESCRIBED.format(name="unanswered").encode())
    down = ScriptedModel({"plan": [httpx2.Response(500, text="down")]})
    with model_connection(down, "scripted-down", monkeypatch):
        ctx = FlowContext(bucket, "unanswered-1", strategy="free", max_attempts=1)
        [rejected] = plan(prepare([uri], ["dev"], ctx)[0], ctx)
        assert rejected["status"] == "rejected"
        ready, _ = prepare([uri], ["dev"], FlowContext(bucket, "unanswered-2", strategy="free"))
    assert [item["uri"] for item in ready] == [uri]
