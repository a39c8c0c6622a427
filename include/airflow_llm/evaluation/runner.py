"""Run the generator over a corpus and measure each spec against what its text states.

Per spec: the planned tasks and edges scored against the reference structure of the
description (specs that list their own tasks, or whose description states no steps,
have none and stay out of structure metrics), first-pass and after-repair validity per
artifact kind, whether the bundle passed every gate, model calls, tokens and seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_llm.engine import BundleResult, build_bundle, plan_only
from airflow_llm.evaluation.corpus import CorpusEntry
from airflow_llm.evaluation.matching import Edge, StructureScore, score_structure
from airflow_llm.evaluation.reference import ReferenceStructure, extract_reference
from airflow_llm.llm.client import ModelClient
from airflow_llm.settings import GenerationSettings
from airflow_llm.spec import PipelineSpec

USAGE_FIELDS = ("model_calls", "cache_hits", "prompt_tokens", "completion_tokens", "seconds")


@dataclass(frozen=True)
class ArtifactCounts:
    """Artifacts of one kind: how many, valid at the first answer, valid after repairs."""

    count: int = 0
    first_pass: int = 0
    after_repair: int = 0

    def __add__(self, other: ArtifactCounts) -> ArtifactCounts:
        return ArtifactCounts(
            self.count + other.count,
            self.first_pass + other.first_pass,
            self.after_repair + other.after_repair,
        )


@dataclass(frozen=True)
class SpecEvaluation:
    """What generating one corpus entry gave."""

    source: str
    corpus: str
    pipeline: str | None
    error: str | None
    """Why the spec did not load (nothing was generated), else None."""
    reference_note: str
    reference: ReferenceStructure | None
    planned_tasks: list[str] = field(default_factory=list)
    planned_edges: list[Edge] = field(default_factory=list)
    structure: StructureScore | None = None
    artifacts: dict[str, ArtifactCounts] = field(default_factory=dict)
    gate_pass: bool = False
    reason: str | None = None
    gate_findings: list[str] = field(default_factory=list)
    usage: dict[str, float] = field(default_factory=dict)
    """:data:`USAGE_FIELDS` from the generation report's totals."""
    unit_tests: tuple[int, int] = (0, 0)
    """The spec's unit tests that pass on the final artifacts, and how many it has."""
    patterns: list[str] = field(default_factory=list)
    """``task: pattern@version`` (or ``free-form``) of each artifact."""
    planning: str | None = None
    """How the tasks came about: ``hybrid`` or ``free`` (planned), ``failed`` (no valid
    plan), or None (the spec lists its tasks)."""
    smoke_ran: tuple[int, int] = (0, 0)
    """Tasks that really ran in the bundle's smoke run, and the tasks it reported
    (the others were marked, e.g. "not run: external")."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "source": self.source,
            "corpus": self.corpus,
            "pipeline": self.pipeline,
            "error": self.error,
            "reference": (
                self.reference.to_dict() if self.reference else {"note": self.reference_note}
            ),
            "planned": {
                "tasks": self.planned_tasks,
                "edges": [list(e) for e in self.planned_edges],
            },
            "structure": self.structure.to_dict() if self.structure else None,
            "artifacts": {kind: vars(counts) for kind, counts in sorted(self.artifacts.items())},
            "gate_pass": self.gate_pass,
            "reason": self.reason,
            "gate_findings": self.gate_findings,
            "unit_tests": {"passed": self.unit_tests[0], "total": self.unit_tests[1]},
            "patterns": self.patterns,
            "planning": self.planning,
            "smoke_ran": {"ran": self.smoke_ran[0], "tasks": self.smoke_ran[1]},
            **self.usage,
        }


def reference_for(spec: PipelineSpec) -> tuple[ReferenceStructure | None, str]:
    """The reference structure of ``spec`` and how it was found (or why there is none)."""
    if spec.tasks is not None:
        return None, "the spec lists its tasks: nothing is planned"
    reference = extract_reference(spec.description)
    if reference is None:
        return None, "the description states no numbered pipeline steps"
    return reference, reference.note


def evaluate_spec(
    entry: CorpusEntry,
    client: ModelClient,
    settings: GenerationSettings,
    progress: Callable[[str], None] = lambda message: None,
    planning_only: bool = False,
) -> SpecEvaluation:
    """Generate the bundle of one corpus entry and measure it (``planning_only``: plan
    it and measure the plan)."""
    if entry.spec is None:
        return SpecEvaluation(str(entry.path), entry.corpus, None, entry.error, "not loaded", None)
    reference, note = reference_for(entry.spec)
    try:
        if planning_only:
            result = plan_only(entry.spec, client, settings)
        else:
            result = build_bundle(entry.spec, client, settings, progress)
    except Exception as error:  # one crashing spec must not end a run of many
        crash = f"generation crashed: {type(error).__name__}: {error}"
        result = BundleResult(entry.spec.name, False, crash, report={"totals": {}})
    tasks = [task.name for task in result.tasks]
    edges = [(upstream, task.name) for task in result.tasks for upstream in task.depends_on]
    structure = None
    if reference is not None:
        structure = score_structure(tasks, edges, reference.tasks, reference.edges)
    return SpecEvaluation(
        source=str(entry.path),
        corpus=entry.corpus,
        pipeline=entry.spec.name,
        error=None,
        reference_note=note,
        reference=reference,
        planned_tasks=tasks,
        planned_edges=edges,
        structure=structure,
        artifacts=artifact_counts(result),
        gate_pass=result.valid,
        reason=result.reason,
        gate_findings=[f"{f['rule']}: {f['message']}" for f in result.report.get("gates", [])],
        usage={name: result.report["totals"].get(name, 0) for name in USAGE_FIELDS},
        unit_tests=unit_tests_passed(result),
        patterns=[
            f"{task['name']}: {task.get('pattern') or 'free-form'}"
            for task in result.report.get("tasks", [])
        ],
        planning=planning_method(entry.spec, result),
        smoke_ran=smoke_tasks_ran(result),
    )


def planning_method(spec: PipelineSpec, result: BundleResult) -> str | None:
    """``hybrid`` or ``free`` for a planned spec, ``failed`` when no plan was valid, None
    for a spec that lists its tasks."""
    if spec.tasks is not None:
        return None
    plan = result.report.get("plan") or []
    if not result.tasks or not plan:
        return "failed"
    return str(plan[-1].get("method", "free"))


def smoke_tasks_ran(result: BundleResult) -> tuple[int, int]:
    """(ran, reported) tasks of the bundle's smoke run; (0, 0) when it did not run."""
    smoke = result.report.get("smoke_run") or {}
    states = [task["state"] for task in smoke.get("tasks", [])]
    return sum(state == "success" for state in states), len(states)


def unit_tests_passed(result: BundleResult) -> tuple[int, int]:
    """(passed, total) of the spec's unit tests on the final artifacts: every test of a
    valid artifact passed (tests block); an invalid one's passed unless a finding of its
    last attempt names it, and only if the tests ran (no earlier check failed)."""
    reports = {task["name"]: task for task in result.report.get("tasks", [])}
    passed = total = 0
    for task in result.tasks:
        total += len(task.tests)
        report = reports.get(task.name)
        if not task.tests or report is None or not report["attempts"]:
            continue
        if report["valid"]:
            passed += len(task.tests)
            continue
        findings = report["attempts"][-1]["findings"]
        failed = sum(f["rule"] == "test.failed" for f in findings)
        blocked = any(f["severity"] == "error" and f["rule"] != "test.failed" for f in findings)
        passed += 0 if blocked else len(task.tests) - failed
    return passed, total


def artifact_counts(result: BundleResult) -> dict[str, ArtifactCounts]:
    """Per task kind: artifacts, valid first answers, and valid after repairs."""
    counts: dict[str, ArtifactCounts] = {}
    for task in result.report.get("tasks", []):
        attempts = task["attempts"]
        first_valid = bool(attempts) and not any(
            finding["severity"] == "error" for finding in attempts[0]["findings"]
        )
        one = ArtifactCounts(1, int(first_valid), int(task["valid"]))
        counts[task["kind"]] = counts.get(task["kind"], ArtifactCounts()) + one
    return counts


def evaluate_corpus(
    entries: Sequence[CorpusEntry],
    client: ModelClient,
    settings: GenerationSettings,
    progress: Callable[[str], None] = lambda message: None,
    planning_only: bool = False,
) -> list[SpecEvaluation]:
    """:func:`evaluate_spec` for every entry, in order."""
    evaluations = []
    for number, entry in enumerate(entries, 1):
        progress(f"[{number}/{len(entries)}] {entry.path}")
        evaluations.append(evaluate_spec(entry, client, settings, progress, planning_only))
    return evaluations
