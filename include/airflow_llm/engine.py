"""Spec in, bundle out: plan, generate with repairs, render, gate, manifest and report.

``build_bundle`` needs no scheduler and writes nothing; ``write_bundle`` puts a
result on disk. A bundle is valid only when every artifact and every gate passed;
an invalid one carries its report and no DAG files.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_llm.bundle.render import BundleLayout, render_bundle, spec_sha256
from airflow_llm.gates import GateResult, gate_bundle
from airflow_llm.generate import ArtifactGenerator, ArtifactState
from airflow_llm.llm.client import CallStats, ModelClient, ModelError
from airflow_llm.plan import PlanAttempt, PlanningError, plan_tasks
from airflow_llm.prompts import PromptBudgetError
from airflow_llm.publish import bundle_identity
from airflow_llm.report import build_manifest, build_report, report_markdown
from airflow_llm.settings import GenerationSettings
from airflow_llm.spec import PipelineSpec, TaskSpec
from airflow_llm.validate.findings import Finding, errors

REPORT_JSON, REPORT_MD, MANIFEST = "report.json", "report.md", "manifest.json"
PLANNED_ONLY = "planned only: not generated"
"""The reason of a :func:`plan_only` result whose plan is valid."""


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
    spec: PipelineSpec,
    client: ModelClient,
    settings: GenerationSettings,
    progress: Callable[[str], None] = lambda message: None,
) -> BundleResult:
    """Generate and gate the bundle of ``spec``; never raises for model or validation failures.

    ``progress`` receives one line per step (plan, each attempt, gates).
    """
    started = time.monotonic()
    before = client.stats.snapshot()
    plan_attempts: list[PlanAttempt] = []
    states: dict[str, ArtifactState] = {}
    gate_findings: list[Finding] = []
    gated: GateResult | None = None

    def finish(valid: bool, reason: str | None, files: dict[str, str]) -> BundleResult:
        report = build_report(
            spec.name,
            valid,
            reason,
            states,
            plan_attempts,
            gate_findings,
            _totals(before, client.stats, time.monotonic() - started),
            gated.smoke if gated is not None else None,
            models=client.router.describe(),
            gate_seconds=gated.seconds if gated is not None else None,
            bundle=bundle_identity(files[MANIFEST]) if MANIFEST in files else None,
            sources=spec.sources,
            reads=gated.reads if gated is not None else None,
        )
        tasks = [state.task for state in states.values()]
        return BundleResult(spec.name, valid, reason, files, report, tasks)

    try:
        progress("planning" if spec.tasks is None else "using the spec's tasks")
        plan = plan_tasks(spec, client, settings)
        plan_attempts = plan.attempts
        progress(f"{len(plan.tasks)} tasks: {', '.join(task.name for task in plan.tasks)}")
        planned = PipelineSpec.model_validate(
            {**spec.model_dump(by_alias=True), "tasks": [t.model_dump() for t in plan.tasks]}
        )
        generator = ArtifactGenerator(planned, plan.tasks, client, settings, progress=progress)
        states = generator.generate_all()
    except PlanningError as error:
        plan_attempts = error.attempts
        return finish(False, str(error), {})
    except (ModelError, PromptBudgetError) as error:
        return finish(False, str(error), {})
    failed = sorted(name for name, state in states.items() if not state.valid)
    if failed:
        return finish(False, f"still invalid after repairs: {', '.join(failed)}", {})
    records = {name: state.record() for name, state in states.items()}
    files = render_bundle(planned, plan.tasks, {n: s.content for n, s in states.items()}, records)
    progress("gates: mypy, sandboxed DagBag import, structure, smoke run on sample data")
    gated = gate_bundle(spec.name, files, settings)
    gate_findings = errors(gated.findings)
    if gate_findings:
        return finish(False, f"bundle gates failed ({len(gate_findings)} findings)", {})
    files[MANIFEST] = build_manifest(
        spec.name,
        spec_sha256(spec),
        client.router,
        files,
        states,
        plan_attempts,
        settings,
        client.prices,
    )
    return finish(True, None, files)


def plan_only(
    spec: PipelineSpec, client: ModelClient, settings: GenerationSettings
) -> BundleResult:
    """Plan ``spec`` and stop: its tasks and a report of the plan (``eval --plan-only``
    measures planning alone, in minutes instead of hours of generation)."""
    started = time.monotonic()
    before = client.stats.snapshot()
    attempts: list[PlanAttempt] = []
    tasks: list[TaskSpec] = []
    reason = PLANNED_ONLY
    try:
        plan = plan_tasks(spec, client, settings)
        tasks, attempts = plan.tasks, plan.attempts
    except PlanningError as error:
        attempts, reason = error.attempts, str(error)
    except (ModelError, PromptBudgetError) as error:
        reason = str(error)
    totals = _totals(before, client.stats, time.monotonic() - started)
    report = build_report(spec.name, False, reason, {}, attempts, [], totals)
    return BundleResult(spec.name, False, reason, report=report, tasks=tasks)


def write_bundle(result: BundleResult, out_dir: Path) -> Path:
    """Write ``result`` into the bundle root ``out_dir``; return the DAG file's path.

    Only this pipeline's files are replaced (its DAG, its resources folder, the
    manifest and the reports); other DAGs in ``out_dir/dags`` stay. The manifest is
    written last, so a reader that finds it finds a complete bundle.
    """
    layout = BundleLayout(result.pipeline)
    for stale in (out_dir / MANIFEST, out_dir / layout.dag_file):
        stale.unlink(missing_ok=True)
    shutil.rmtree(out_dir / layout.resources, ignore_errors=True)
    files = {**result.files, **result.report_files}
    manifest = files.pop(MANIFEST, None)
    for relative, content in [*files.items(), *([(MANIFEST, manifest)] if manifest else [])]:
        target = out_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.partial")
        partial.write_text(content)
        partial.replace(target)
    return out_dir / layout.dag_file


def _totals(before: CallStats, after: CallStats, seconds: float) -> dict[str, Any]:
    """Calls, tokens and cost (None where a model has no price) since ``before``."""
    return {**after.since(before), "seconds": round(seconds, 3)}
