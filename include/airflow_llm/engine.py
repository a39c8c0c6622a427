"""Spec in, bundle out: plan, generate with repairs, render, gate, manifest and report.

``build_bundle`` needs no scheduler and writes nothing; ``write_bundle`` puts a
result on disk. A bundle is valid only when every artifact and every gate passed;
an invalid one carries its report and no DAG files.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from airflow_llm.bundle.render import render_bundle, spec_sha256
from airflow_llm.gates import gate_bundle
from airflow_llm.generate import ArtifactGenerator, ArtifactState
from airflow_llm.llm.client import CallStats, ModelClient, ModelError
from airflow_llm.plan import PlanAttempt, PlanningError, plan_tasks
from airflow_llm.prompts import PromptBudgetError
from airflow_llm.report import build_manifest, build_report, report_markdown
from airflow_llm.settings import GenerationSettings
from airflow_llm.spec import PipelineSpec, TaskSpec
from airflow_llm.validate.findings import Finding, errors

REPORT_JSON, REPORT_MD, MANIFEST = "report.json", "report.md", "manifest.json"


@dataclass
class BundleResult:
    """A generated bundle: its files (empty when rejected) and its report."""

    pipeline: str
    valid: bool
    reason: str | None
    files: dict[str, str] = field(default_factory=dict)
    report: dict[str, Any] = field(default_factory=dict)
    tasks: list[TaskSpec] = field(default_factory=list)

    @property
    def report_files(self) -> dict[str, str]:
        """``report.json`` and ``report.md``."""
        return {
            REPORT_JSON: json.dumps(self.report, indent=2, sort_keys=True) + "\n",
            REPORT_MD: report_markdown(self.report),
        }


def build_bundle(
    spec: PipelineSpec, client: ModelClient, settings: GenerationSettings
) -> BundleResult:
    """Generate and gate the bundle of ``spec``; never raises for model or validation failures."""
    started = time.monotonic()
    before = replace(client.stats)
    plan_attempts: list[PlanAttempt] = []
    states: dict[str, ArtifactState] = {}
    gate_findings: list[Finding] = []

    def finish(valid: bool, reason: str | None, files: dict[str, str]) -> BundleResult:
        report = build_report(
            spec.name,
            valid,
            reason,
            states,
            plan_attempts,
            gate_findings,
            _totals(before, client.stats, time.monotonic() - started),
        )
        tasks = [state.task for state in states.values()]
        return BundleResult(spec.name, valid, reason, files, report, tasks)

    try:
        plan = plan_tasks(spec, client, settings)
        plan_attempts = plan.attempts
        planned = PipelineSpec.model_validate(
            {**spec.model_dump(by_alias=True), "tasks": [t.model_dump() for t in plan.tasks]}
        )
        states = ArtifactGenerator(planned, plan.tasks, client, settings).generate_all()
    except PlanningError as error:
        plan_attempts = error.attempts
        return finish(False, str(error), {})
    except (ModelError, PromptBudgetError) as error:
        return finish(False, str(error), {})
    failed = sorted(name for name, state in states.items() if not state.valid)
    if failed:
        return finish(False, f"still invalid after repairs: {', '.join(failed)}", {})
    files = render_bundle(planned, plan.tasks, {n: s.content for n, s in states.items()})
    gate_findings = errors(gate_bundle(spec.name, files, plan.tasks, settings))
    if gate_findings:
        return finish(False, f"bundle gates failed ({len(gate_findings)} findings)", {})
    files[MANIFEST] = build_manifest(
        spec.name, spec_sha256(spec), client.router, files, states, plan_attempts
    )
    return finish(True, None, files)


def write_bundle(result: BundleResult, out_dir: Path) -> Path:
    """Replace ``out_dir`` with the result: bundle files (if valid) and the reports."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    for relative, content in {**result.files, **result.report_files}.items():
        target = staging / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    staging.rename(out_dir)
    return out_dir


def _totals(before: CallStats, after: CallStats, seconds: float) -> dict[str, Any]:
    return {
        "model_calls": after.calls - before.calls,
        "cache_hits": after.cache_hits - before.cache_hits,
        "prompt_tokens": after.prompt_tokens - before.prompt_tokens,
        "completion_tokens": after.completion_tokens - before.completion_tokens,
        "cost_usd": round(after.cost_usd - before.cost_usd, 6),
        "seconds": round(seconds, 3),
    }
