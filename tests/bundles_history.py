"""A pipeline's history written into a bucket by the project's own code, for the Bundles
view's tests: bundles and reports from the engine (a scripted model), published and
promoted with ``publish_bundle`` as the DAGs do."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airflow_llm.engine import build_bundle
from airflow_llm.llm.client import CallStats
from airflow_llm.publish import bundle_identity, publish_bundle, write_report
from airflow_llm.report import build_report, report_markdown
from airflow_llm.settings import GenerationSettings
from airflow_llm.spec import PipelineSpec
from airflow_llm.validate.findings import Finding
from tests.scripted_endpoint import ScriptedModel
from tests.unit.test_engine import GOOD, SPEC, client

PIPELINE, REFUSED = "view_totals", "view_refused"
HOSTILE = "<script>alert('x')</script>"
"""What a refused spec's report quotes; the view must show it as text."""
REFUSED_RUN = "run1"
REFUSED_CLAIM = "0123abcd"


@dataclass(frozen=True)
class History:
    """Where the history was written and the two versions it published."""

    client: Any
    bucket: str
    first: str
    second: str
    v1: str
    v2: str

    @property
    def refused_report(self) -> str:
        """The name of the refused pipeline's report."""
        return f"{REFUSED_RUN}-{self.first}-{REFUSED_CLAIM}"


def report_files(report: dict[str, Any]) -> dict[str, str]:
    """A report's objects, as the publish stage writes them."""
    return {
        "report.json": json.dumps(report, indent=2, sort_keys=True) + "\n",
        "report.md": report_markdown(report),
    }


def write_history(s3: Any, bucket: str, first: str, second: str, work_dir: Path) -> History:
    """In environment ``first``: run1 refused, run2 publishes v1, run3 finds v1 current,
    run4 publishes v2, run5 makes v1 current again; v1 is promoted to ``second`` after
    run3; another pipeline is refused with a hostile message."""
    settings = GenerationSettings(work_dir=work_dir, smoke_run=False, strategy="free")
    spec = PipelineSpec.model_validate({**SPEC.model_dump(by_alias=True), "name": PIPELINE})
    valid = build_bundle(spec, client(ScriptedModel(dict(GOOD))), settings)
    assert valid.valid, valid.report
    bad = {**GOOD, "sql": ["DROP TABLE orders"], "repair": ["DROP TABLE orders"]}
    refused = build_bundle(spec, client(ScriptedModel(bad)), settings)
    assert not refused.valid
    # a later generator's bundle: another manifest, so another version
    manifest = {**json.loads(valid.files["manifest.json"]), "generator_version": "0.2.0"}
    files_v2 = {**valid.files, "manifest.json": json.dumps(manifest, indent=2, sort_keys=True)}
    report_v2 = {**valid.report, "bundle": bundle_identity(files_v2["manifest.json"])}

    def run(name: str, files: dict[str, str], report: dict[str, Any]) -> str:
        uri = write_report(s3, bucket, PIPELINE, f"{name}-{first}", report_files(report))
        return publish_bundle(s3, bucket, first, PIPELINE, files, uri).version if files else ""

    run(REFUSED_RUN, {}, refused.report)
    v1 = run("run2", valid.files, valid.report)
    assert run("run3", valid.files, valid.report) == v1
    promoted = publish_bundle(s3, bucket, second, PIPELINE, valid.files, f"promoted from {first}")
    assert promoted.published
    v2 = run("run4", files_v2, report_v2)
    assert run("run5", valid.files, valid.report) == v1 != v2

    totals = {**CallStats().since(CallStats()), "seconds": 0.0}
    finding = Finding(f"specs/{REFUSED}.yml", 1, "name", HOSTILE)
    hostile = build_report(REFUSED, False, HOSTILE, {}, [], [finding], totals)
    name = f"{REFUSED_RUN}-{first}-{REFUSED_CLAIM}"
    write_report(s3, bucket, REFUSED, name, report_files(hostile))
    return History(s3, bucket, first, second, v1, v2)
