"""The spec -> bundle flow as stages, one per Airflow task (mapped where it fans out).

prepare (parse, validate, skip unchanged) -> plan -> flatten -> generate (first answer
per task) -> repair (validate, repair loop) -> assemble (render one bundle per spec)
-> gate (types, import, structure, smoke run) -> publish. Every stage reads its inputs
from and writes its outputs to a run-scoped work prefix in object storage; XCom
carries only small dicts of names, statuses and URIs. Nothing here needs a scheduler:
tests call the stages directly.
"""

from __future__ import annotations

import contextlib
import json
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from airflow.sdk import ObjectStoragePath

from airflow_llm import __version__
from airflow_llm.bundle.render import render_bundle, spec_sha256
from airflow_llm.deployment import BUCKET
from airflow_llm.gates import gate_bundle
from airflow_llm.generate import ArtifactGenerator, ArtifactState
from airflow_llm.llm.cache import ResponseCache
from airflow_llm.llm.client import ModelClient, ModelError
from airflow_llm.llm.endpoints import router_from_connections
from airflow_llm.plan import PlanAttempt, PlanningError, plan_tasks
from airflow_llm.prompts import PromptBudgetError, prompt_versions
from airflow_llm.publish import current_manifest, publish_bundle, write_report
from airflow_llm.report import build_manifest, build_report, report_markdown
from airflow_llm.settings import GenerationSettings
from airflow_llm.spec import PipelineSpec
from airflow_llm.spec_loading import SpecError, parse_spec, snake_case_name
from airflow_llm.validate.findings import Finding, errors

READY, UNCHANGED, REJECTED, PUBLISHED = "ready", "unchanged", "rejected", "published"
DEFAULT_ROUTES = {"default": "airflow_llm_model"}


def context_for_run(params: Mapping[str, Any], run_id: str) -> FlowContext:
    """The flow context of an Airflow run: the deployment's bucket, model routes and
    attempts from Airflow Variables."""
    from airflow.sdk import Variable

    routes = json.loads(
        Variable.get("airflow_llm_model_routes", default=json.dumps(DEFAULT_ROUTES))
    )
    return FlowContext(
        bucket=BUCKET,
        run_key=run_key(run_id),
        routes=routes,
        force=bool(params.get("force", False)),
        max_attempts=int(Variable.get("airflow_llm_max_attempts", default="3")),
    )


def run_key(run_id: str) -> str:
    """A run id made safe for an object key (``manual__2026-01-01T00:00:00+00:00`` ...)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", run_id).strip("_")


@dataclass
class FlowContext:
    """Where a run keeps its work and which connections it uses."""

    bucket: str
    run_key: str
    conn_id: str = "airflow_llm_s3"
    routes: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_ROUTES))
    force: bool = False
    max_attempts: int = 3

    def work(self, environment: str, pipeline: str) -> ObjectStoragePath:
        """The run's work folder for one pipeline in one environment."""
        root = f"s3://{self.bucket}/work/{self.run_key}/{environment}/{pipeline}/"
        return ObjectStoragePath(root, conn_id=self.conn_id)

    def settings(self) -> GenerationSettings:
        """Generation settings (the mypy cache lives on the worker's disk)."""
        return GenerationSettings(
            max_attempts=self.max_attempts, work_dir=Path(tempfile.gettempdir()) / "airflow-llm"
        )

    def model_client(self) -> ModelClient:
        """A client routed by the configured connections, caching responses in the bucket."""
        cache = ResponseCache.at(f"s3://{self.bucket}/cache/responses/", conn_id=self.conn_id)
        return ModelClient(router_from_connections(self.routes), cache=cache)

    def s3(self) -> Any:
        """A boto3 S3 client from the storage connection (for conditional writes)."""
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        return S3Hook(aws_conn_id=self.conn_id).get_conn()


def _write_json(path: ObjectStoragePath, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2, sort_keys=True))


def _read_json(path: ObjectStoragePath) -> Any:
    return json.loads(path.read_text())


def _reject(
    ctx: FlowContext, item: dict[str, Any], reason: str, report: dict[str, Any]
) -> dict[str, Any]:
    files = {
        "report.json": json.dumps(report, indent=2, sort_keys=True) + "\n",
        "report.md": report_markdown(report),
    }
    report_uri = write_report(
        ctx.s3(), ctx.bucket, item["pipeline"], _report_name(ctx, item), files
    )
    return {**item, "status": REJECTED, "reason": reason, "report_uri": report_uri}


def _report_name(ctx: FlowContext, item: Mapping[str, Any]) -> str:
    return f"{ctx.run_key}-{item['environment']}"


def _empty_report(pipeline: str, reason: str, problems: list[Finding]) -> dict[str, Any]:
    totals = {
        "model_calls": 0,
        "cache_hits": 0,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "cost_usd": 0.0,
        "seconds": 0.0,
    }
    return build_report(pipeline, False, reason, {}, [], problems, totals)


def fingerprint(spec: PipelineSpec, client: ModelClient) -> dict[str, Any]:
    """What decides a bundle's content: spec, generator version, models and prompts."""
    return {
        "spec_sha256": spec_sha256(spec),
        "generator_version": __version__,
        "models": client.router.describe(),
        "prompt_versions": prompt_versions(),
    }


def prepare(uri: str, environment: str, ctx: FlowContext) -> dict[str, Any]:
    """Parse and validate one spec; skip it when its published bundle is up to date."""
    stem = snake_case_name(PurePosixPath(uri).stem) or "spec"
    item: dict[str, Any] = {"uri": uri, "environment": environment, "pipeline": stem}
    try:
        spec = parse_spec(ObjectStoragePath(uri, conn_id=ctx.conn_id).read_bytes(), uri)
    except SpecError as error:
        problems = [Finding(p.source, p.line, p.field, p.message) for p in error.problems]
        return _reject(ctx, item, "invalid spec", _empty_report(stem, "invalid spec", problems))
    item["pipeline"] = spec.name
    expected = fingerprint(spec, ctx.model_client())
    published = current_manifest(ctx.s3(), ctx.bucket, environment, spec.name)
    up_to_date = published is not None and {k: published.get(k) for k in expected} == expected
    if up_to_date and not ctx.force:
        return {**item, "status": UNCHANGED, "reason": "published bundle is up to date"}
    _write_json(
        ctx.work(environment, spec.name) / "spec.json", spec.model_dump(mode="json", by_alias=True)
    )
    return {**item, "status": READY}


def plan(prepared: dict[str, Any], ctx: FlowContext) -> dict[str, Any]:
    """Give a ready spec its tasks (the planner when it has none); list them as work items."""
    if prepared["status"] != READY:
        return {**prepared, "tasks": []}
    work = ctx.work(prepared["environment"], prepared["pipeline"])
    spec = PipelineSpec.model_validate(_read_json(work / "spec.json"))
    try:
        result = plan_tasks(spec, ctx.model_client(), ctx.settings())
    except (PlanningError, ModelError, PromptBudgetError) as error:
        attempts = error.attempts if isinstance(error, PlanningError) else []
        report = build_report(
            spec.name, False, str(error), {}, attempts, [], _plan_totals(attempts)
        )
        return {**_reject(ctx, prepared, str(error), report), "tasks": []}
    planned = {
        **spec.model_dump(mode="json", by_alias=True),
        "tasks": [t.model_dump(mode="json") for t in result.tasks],
    }
    _write_json(work / "spec.json", planned)
    _write_json(work / "plan.json", [_plan_attempt(a) for a in result.attempts])
    return {**prepared, "tasks": [task.name for task in result.tasks]}


def flatten(plans: list[dict[str, Any]]) -> list[dict[str, str]]:
    """One work item per task of every planned spec."""
    return [
        {"environment": p["environment"], "pipeline": p["pipeline"], "task": task}
        for p in plans
        for task in p["tasks"]
    ]


def _generator(item: Mapping[str, str], ctx: FlowContext) -> tuple[ArtifactGenerator, PipelineSpec]:
    work = ctx.work(item["environment"], item["pipeline"])
    spec = PipelineSpec.model_validate(_read_json(work / "spec.json"))
    return ArtifactGenerator(spec, list(spec.tasks or []), ctx.model_client(), ctx.settings()), spec


def generate(item: dict[str, str], ctx: FlowContext) -> dict[str, str]:
    """The first answer for one task, validated, saved to the work prefix.

    Quality suites wait for the repair stage: their prompt lists the tables upstream SQL
    writes, and only once every ``generate`` instance has finished is that list the
    same whatever order the mapped instances ran in (same inputs, same bytes).
    """
    generator, spec = _generator(item, ctx)
    task = next(t for t in spec.tasks or [] if t.name == item["task"])
    if task.kind != "quality":
        _first_attempt(generator, spec, item, ctx)
    return item


def _first_attempt(
    generator: ArtifactGenerator, spec: PipelineSpec, item: Mapping[str, str], ctx: FlowContext
) -> None:
    work = ctx.work(item["environment"], item["pipeline"])
    task = next(t for t in spec.tasks or [] if t.name == item["task"])
    upstream = {}
    for name in task.depends_on:
        path = work / "artifacts" / f"{name}.json"
        if path.exists():
            upstream[name] = ArtifactState.from_dict(_read_json(path))
    try:
        state = generator.first_attempt(task, upstream)
    except (ModelError, PromptBudgetError) as error:  # repair finds no artifact: invalid
        _write_json(work / "artifacts" / f"{task.name}.error.json", {"error": str(error)})
        return
    _write_json(work / "artifacts" / f"{task.name}.json", state.to_dict())


def repair(item: dict[str, str], ctx: FlowContext) -> dict[str, Any]:
    """Validate one task's artifact and repair it until it passes or attempts run out
    (a quality suite gets its first answer here)."""
    generator, spec = _generator(item, ctx)
    artifacts = ctx.work(item["environment"], item["pipeline"]) / "artifacts"
    path = artifacts / f"{item['task']}.json"
    if not path.exists() and not (artifacts / f"{item['task']}.error.json").exists():
        _first_attempt(generator, spec, item, ctx)
    if not path.exists():
        return {**item, "valid": False}
    state = ArtifactState.from_dict(_read_json(path))
    with contextlib.suppress(ModelError):  # the attempts so far are kept; it stays invalid
        generator.repair(state)
    _write_json(path, state.to_dict())
    return {**item, "valid": state.valid}


@dataclass
class _Results:
    """A planned spec and what generation made of it, read back from the work prefix."""

    spec: PipelineSpec
    states: dict[str, ArtifactState]
    plan_attempts: list[PlanAttempt]

    def report(
        self, reason: str | None, gates: list[Finding], smoke: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        totals = _totals(self.states, self.plan_attempts)
        return build_report(
            self.spec.name,
            reason is None,
            reason,
            self.states,
            self.plan_attempts,
            gates,
            totals,
            smoke,
        )


def _results(work: ObjectStoragePath) -> _Results:
    spec = PipelineSpec.model_validate(_read_json(work / "spec.json"))
    states = {}
    for task in spec.tasks or []:
        path = work / "artifacts" / f"{task.name}.json"
        states[task.name] = (
            ArtifactState.from_dict(_read_json(path)) if path.exists() else ArtifactState(task, "-")
        )
    plan_file = work / "plan.json"
    attempts = [_plan_attempt_from(a) for a in _read_json(plan_file)] if plan_file.exists() else []
    return _Results(spec, states, attempts)


def assemble(planned: dict[str, Any], ctx: FlowContext) -> dict[str, Any]:
    """Render one spec's bundle from its artifacts into the work prefix (or reject it)."""
    if planned["status"] != READY:
        return planned
    work = ctx.work(planned["environment"], planned["pipeline"])
    results = _results(work)
    failed = sorted(name for name, state in results.states.items() if not state.valid)
    if failed:
        reason = f"still invalid after repairs: {', '.join(failed)}"
        return _reject(ctx, planned, reason, results.report(reason, []))
    tasks = list(results.spec.tasks or [])
    contents = {name: state.content for name, state in results.states.items()}
    _write_json(work / "rendered.json", render_bundle(results.spec, tasks, contents))
    return planned


def gate(assembled: dict[str, Any], ctx: FlowContext) -> dict[str, Any]:
    """Gate a rendered bundle (types, import, structure, smoke run); keep it with its
    manifest and report when it passes, reject it with a report when it does not."""
    if assembled["status"] != READY:
        return assembled
    work = ctx.work(assembled["environment"], assembled["pipeline"])
    results = _results(work)
    files: dict[str, str] = _read_json(work / "rendered.json")
    gates = gate_bundle(results.spec.name, files, ctx.settings())
    blocking = errors(gates.findings)
    if blocking:
        reason = f"bundle gates failed ({len(blocking)} findings)"
        return _reject(ctx, assembled, reason, results.report(reason, blocking, gates.smoke))
    files["manifest.json"] = build_manifest(
        results.spec.name,
        spec_sha256(results.spec),
        ctx.model_client().router,
        files,
        results.states,
        results.plan_attempts,
    )
    _write_json(work / "bundle.json", files)
    _write_json(work / "report.json", results.report(None, [], gates.smoke))
    return {**assembled, "bundle_uri": str(work / "bundle.json")}


def publish(assembled: dict[str, Any], ctx: FlowContext) -> dict[str, Any]:
    """Publish a gated bundle (files, then DAG, then manifest) with its report."""
    if assembled["status"] != READY:
        return assembled
    work = ctx.work(assembled["environment"], assembled["pipeline"])
    files = _read_json(work / "bundle.json")
    report = _read_json(work / "report.json")
    client = ctx.s3()
    report_files = {
        "report.json": json.dumps(report, indent=2, sort_keys=True) + "\n",
        "report.md": report_markdown(report),
    }
    report_uri = write_report(
        client, ctx.bucket, assembled["pipeline"], _report_name(ctx, assembled), report_files
    )
    result = publish_bundle(
        client, ctx.bucket, assembled["environment"], assembled["pipeline"], files, report_uri
    )
    published = {key: value for key, value in result.to_dict().items() if key != "uri"}
    status = PUBLISHED if result.published else UNCHANGED
    return {**assembled, **published, "bundle_uri": result.uri, "status": status}


def _plan_attempt(attempt: PlanAttempt) -> dict[str, Any]:
    return {
        "number": attempt.number,
        "answer": attempt.answer,
        "findings": [f.to_dict() for f in attempt.findings],
        "prompt_tokens": attempt.prompt_tokens,
        "completion_tokens": attempt.completion_tokens,
        "cached": attempt.cached,
    }


def _plan_attempt_from(data: dict[str, Any]) -> PlanAttempt:
    return PlanAttempt(**{**data, "findings": [Finding(**f) for f in data["findings"]]})


def _plan_totals(attempts: list[PlanAttempt]) -> dict[str, Any]:
    return _totals({}, attempts)


def _totals(
    states: Mapping[str, ArtifactState], plan_attempts: list[PlanAttempt]
) -> dict[str, Any]:
    answers = [a for s in states.values() for a in s.attempts]
    fresh = [a for a in answers if not a.cached] + [a for a in plan_attempts if not a.cached]
    return {
        "model_calls": len(fresh),
        "cache_hits": len(answers) + len(plan_attempts) - len(fresh),
        "prompt_tokens": sum(a.prompt_tokens for a in fresh),
        "completion_tokens": sum(a.completion_tokens for a in fresh),
        "cost_usd": 0.0,
        "seconds": round(sum(a.seconds for a in answers if not a.cached), 3),
    }
