"""``SelfHealingAgent``: from an incident to a diagnosis, and to a healed bundle where
regenerating the failing artifact can fix it.

The heal is the generation flow's own path, not a second one: the failing version's
artifacts go into a run's work prefix as the attempts they were, the failing one gets
the runtime error as a blocking finding, :meth:`ArtifactGenerator.repair` asks the model
to fix it with the failing code and the error (then validates it like any answer:
policy, dry run on sample data, unit tests), and :mod:`airflow_llm.stages` renders,
gates (types, import, structure, smoke run) and publishes it as a new version. It is
published only in the first environment; promotion (with its approval) takes it further.
Text taken from an error only ever reaches the model's prompt and the reports.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from botocore.exceptions import ClientError

from airflow_llm.bundle.render import BundleLayout, parse_tasks_document
from airflow_llm.generate import HYBRID, ArtifactGenerator, ArtifactState, Attempt
from airflow_llm.healing.classify import FIXABLE, MISSING_MODULE, Diagnosis, classify
from airflow_llm.healing.incidents import Incident, load_incident, store_analysis
from airflow_llm.llm.client import ModelClient, ModelError
from airflow_llm.promotion import PromotionError, load_version
from airflow_llm.publish import MANIFEST, current_manifest
from airflow_llm.spec import PipelineSpec, TaskSpec
from airflow_llm.spec_loading import SpecError, parse_spec
from airflow_llm.stages import (
    PUBLISHED,
    READY,
    FlowContext,
    ancestors,
    build,
    fingerprint,
    publish,
)
from airflow_llm.validate.findings import Finding

RUNTIME_RULE = "runtime.error"
"""The rule of the repair finding that carries the error a task failed with."""
REGENERATED, NOT_FIXABLE = "regenerated", "not_fixable"
SUPERSEDED, REFUSED = "superseded", "refused"


@dataclass(frozen=True)
class HealResult:
    """What the heal made of one incident (stored beside it as ``analysis.json``)."""

    incident_uri: str
    diagnosis: Diagnosis
    action: str
    """``regenerated`` (see ``status``), ``not_fixable``, ``superseded`` (the artifact
    changed since the failing version) or ``refused`` (the failing version cannot be
    healed: its files or spec are gone or altered)."""
    reason: str | None = None
    result: dict[str, Any] = field(default_factory=dict)
    """The publish stage's result of a regeneration: status (published, unchanged or
    rejected), environment, version, report_uri, bundle_uri."""
    proposal: dict[str, str] | None = None
    """A change for a person to make (a missing module: a ``requirements.txt`` line)."""

    @property
    def published(self) -> bool:
        """Whether a healed version was published."""
        return self.result.get("status") == PUBLISHED

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "incident": self.incident_uri,
            "diagnosis": self.diagnosis.to_dict(),
            "action": self.action,
            "reason": self.reason,
            "result": self.result,
            "proposal": self.proposal,
        }


@dataclass
class SelfHealingAgent:
    """Diagnoses incidents and applies what fixes them, within the promotion rules."""

    ctx: FlowContext
    environment: str
    """Where healed versions are published: the first environment (dev)."""

    def analyze_error(self, error: Mapping[str, Any], context: Mapping[str, Any]) -> Diagnosis:
        """The diagnosis of ``error`` (``types``: the exception's class names, most derived
        first; ``message``) raised by a task (``context``: its ``kind`` and ``artifact``)."""
        return classify(
            [str(name) for name in error.get("types", [])],
            str(error.get("message", "")),
            context.get("kind"),
            context.get("artifact"),
        )

    def heal(self, incident: Incident, incident_uri: str) -> HealResult:
        """Diagnose ``incident`` and apply the fix its diagnosis allows."""
        diagnosis = self.analyze_error(
            {"types": incident.error_types, "message": incident.message},
            {"kind": incident.task_kind, "artifact": incident.artifact},
        )
        return self.apply_fix(incident, incident_uri, diagnosis)

    def apply_fix(self, incident: Incident, incident_uri: str, diagnosis: Diagnosis) -> HealResult:
        """Regenerate the failing artifact as a new version in the first environment, for a
        fixable diagnosis; otherwise the advice, and a proposal for a missing module."""
        if diagnosis.category not in FIXABLE:
            proposal = None
            if diagnosis.category == MISSING_MODULE and diagnosis.requirement:
                proposal = {"file": "requirements.txt", "add": diagnosis.requirement}
            return HealResult(incident_uri, diagnosis, NOT_FIXABLE, diagnosis.summary, {}, proposal)
        try:
            files = self._failing_version(incident)
            spec, planned = self._spec(incident, files)
        except (PromotionError, SpecError, ClientError, ValueError) as error:
            return HealResult(incident_uri, diagnosis, REFUSED, str(error))
        changed = self._changed_since(incident, files)
        if changed:
            return HealResult(incident_uri, diagnosis, SUPERSEDED, changed)
        result = self._regenerate(incident, incident_uri, files, spec, planned)
        return HealResult(incident_uri, diagnosis, REGENERATED, result.get("reason"), result)

    def _failing_version(self, incident: Incident) -> dict[str, str]:
        """The failing version's files, checked against its manifest."""
        return load_version(
            self.ctx.s3(),
            self.ctx.bucket,
            incident.environment or self.environment,
            incident.pipeline,
            incident.bundle_version,
            incident.bundle_sha256,
        )

    def _spec(self, incident: Incident, files: dict[str, str]) -> tuple[PipelineSpec, PipelineSpec]:
        """The spec as it is now in the bucket, and the same with the failing version's
        tasks (the planner's, for a spec that only describes)."""
        if not incident.spec_source:
            raise ValueError(f"{incident.pipeline}: its manifest names no spec source")
        # boto3, not ObjectStoragePath: s3fs caches an object's ETag per process, and the
        # spec may have changed since this worker read it
        bucket, _, key = incident.spec_source.removeprefix("s3://").partition("/")
        data = self.ctx.s3().get_object(Bucket=bucket, Key=key)["Body"].read()
        spec = parse_spec(data, incident.spec_source)
        layout = BundleLayout(incident.pipeline)
        document = parse_tasks_document(files[layout.resource("tasks.yml")])
        planned = PipelineSpec.model_validate(
            {
                **spec.model_dump(by_alias=True),
                "tasks": [task.model_dump() for task in document.tasks],
            }
        )
        return spec, planned

    def _changed_since(self, incident: Incident, files: dict[str, str]) -> str | None:
        """Why not to heal: the failing artifact differs in the environment's current
        bundle (a newer version replaced it); None when it is the same."""
        current = current_manifest(
            self.ctx.s3(), self.ctx.bucket, self.environment, incident.pipeline
        )
        path = BundleLayout(incident.pipeline).resource(str(incident.artifact))
        failing = json.loads(files[MANIFEST])["files"].get(path)
        if current is not None and current["files"].get(path) != failing:
            return (
                f"{path} changed in {self.environment} since version {incident.bundle_version} "
                "failed: the current bundle has another artifact"
            )
        return None

    def _regenerate(
        self,
        incident: Incident,
        incident_uri: str,
        files: dict[str, str],
        parsed: PipelineSpec,
        spec: PipelineSpec,
    ) -> dict[str, Any]:
        """Repair the failing artifact in a run's work prefix, then the flow's stages."""
        work = self.ctx.work(self.environment, incident.pipeline)
        layout = BundleLayout(incident.pipeline)
        tasks = list(spec.tasks or [])
        document = yaml.safe_load(files[layout.resource("tasks.yml")])
        records = {task["name"]: task for task in document["tasks"]}
        states = {
            task.name: _published_state(task, records[task.name], files, layout) for task in tasks
        }
        failing = states[incident.task_id]
        error = Finding(
            failing.file,
            None,
            RUNTIME_RULE,
            f"failed in {incident.environment or self.environment} (incident {incident_uri}, "
            f"try {incident.try_number}): {incident.error_type}: {incident.message}",
        )
        failing.attempts[-1] = failing.attempts[-1].with_findings([error])
        client = ModelClient(
            self.ctx.router(), cache=self.ctx.response_cache(), prices=self.ctx.prices()
        )
        upstream = [states[name] for name in sorted(ancestors(spec, incident.task_id))]
        outputs = {s.task.name: s.output for s in upstream if s.output is not None}
        generator = ArtifactGenerator(spec, tasks, client, self.ctx.settings(), outputs=outputs)
        with contextlib.suppress(ModelError):  # the attempts so far stay: build rejects
            generator.repair(failing)
        (work / "spec.json").parent.mkdir(parents=True, exist_ok=True)
        (work / "spec.json").write_text(json.dumps(spec.model_dump(mode="json", by_alias=True)))
        for name, state in states.items():
            path = work / "artifacts" / f"{name}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(state.to_dict(), indent=2, sort_keys=True))
        item: dict[str, Any] = {
            "uri": incident.spec_source,
            "environment": self.environment,
            "pipeline": incident.pipeline,
            "status": READY,
            "fingerprint": fingerprint(parsed, self.ctx.router(), self.ctx.settings())
            | {"incident": incident_uri},
            "tasks": {task.name: task.kind for task in tasks},
            "replaces": self.ctx.replaces(self.environment, incident.pipeline),
        }
        gated = build(item, self.ctx)
        if gated["status"] == READY:
            report_path = work / "report.json"
            report = json.loads(report_path.read_text())
            report["healing"] = {"incident": incident_uri, "task": incident.task_id}
            report_path.write_text(json.dumps(report, indent=2, sort_keys=True))
        return publish(gated, self.ctx)


def _published_state(
    task: TaskSpec, record: dict[str, Any], files: dict[str, str], layout: BundleLayout
) -> ArtifactState:
    """A task's published artifact as the one attempt it was (no model call: cached)."""
    pattern = record.get("pattern") or {}
    attempt = Attempt(
        number=1,
        content=files[layout.resource(record["file"])],
        findings=[],
        prompt_tokens=0,
        completion_tokens=0,
        seconds=0.0,
        cached=True,
        strategy=record.get("strategy", HYBRID if pattern else "free"),
        pattern=pattern.get("name"),
        pattern_version=pattern.get("version"),
        parameters=pattern.get("parameters"),
        output=record.get("output"),
        cost_usd=0.0,
    )
    return ArtifactState(task, record["file"], [attempt])


def heal_incident(ctx: FlowContext, environment: str, incident_uri: str) -> HealResult:
    """Heal the incident stored at ``incident_uri`` and store what was done beside it."""
    client = ctx.s3()
    key = incident_uri.removeprefix(f"s3://{ctx.bucket}/")
    incident = load_incident(client, ctx.bucket, key)
    result = SelfHealingAgent(ctx, environment).heal(incident, incident_uri)
    store_analysis(client, ctx.bucket, incident, result.to_dict())
    return result
