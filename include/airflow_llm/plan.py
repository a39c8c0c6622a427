"""The planner: a description becomes a checked task list (specs with tasks skip the model).

Two ways, chosen by the generation strategy. Hybrid (``hybrid`` and ``auto``, for a
description whose structure states its steps: numbered items, headings, bullets or
verb-led clauses): the steps become the tasks and the model only answers what the text
leaves open (:mod:`airflow_llm.plan_hybrid`). Free (``free``, and any description
without such structure): the model writes the whole task list through structured
output (a JSON schema); its answer is normalized (names snake-cased; references to
the task itself or to later tasks, which the prompt forbids, dropped with a warning),
then validated exactly like hand-written tasks:
unique names, known kinds, existing references, no cycles. Problems go back to the
model for another attempt; a plan still invalid after the last one is rejected.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from airflow_llm.llm.answers import parse_json_object
from airflow_llm.llm.client import ChatRequest, ModelClient
from airflow_llm.llm.pricing import total_cost
from airflow_llm.plan_hybrid import HybridPlanner, plan_record
from airflow_llm.plan_steps import StepCandidate, extract_steps
from airflow_llm.prompts import Prompt, budgeted_prompt, numbered, render_prompt
from airflow_llm.settings import GenerationSettings
from airflow_llm.spec import PipelineSpec, TaskSpec
from airflow_llm.spec_loading import snake_case_name
from airflow_llm.validate.findings import Finding

PLAN_KINDS = ["sql", "python", "quality", "sensor", "branch", "llm"]
PLAN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "tasks": {
            "type": "array",
            "minItems": 1,
            "maxItems": 12,
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "kind": {"type": "string", "enum": PLAN_KINDS},
                    "description": {"type": "string"},
                    "depends_on": {"type": "array", "items": {"type": "string"}},
                },
                "required": ["name", "kind", "description", "depends_on"],
            },
        }
    },
    "required": ["tasks"],
}


@dataclass(frozen=True)
class PlanAttempt:
    """One answer of the model and what was wrong with it."""

    number: int
    answer: str
    findings: list[Finding]
    prompt_tokens: int
    completion_tokens: int
    cached: bool
    cost_usd: float | None = None
    """USD of the answer; None when the model has no price (or it was not recorded)."""
    method: str = "free"
    """``free`` (the model wrote the task list) or ``hybrid`` (the text's steps)."""
    origins: dict[str, str] = field(default_factory=dict)
    """Per task, where in the description it came from (hybrid plans)."""


@dataclass(frozen=True)
class PlanResult:
    """The task list, and how it came about."""

    tasks: list[TaskSpec]
    by_model: bool
    attempts: list[PlanAttempt] = field(default_factory=list)


class PlanningError(ValueError):
    """The model's plan was still invalid after the last attempt."""

    def __init__(self, pipeline: str, attempts: list[PlanAttempt]) -> None:
        last = "; ".join(f.message for f in attempts[-1].findings) if attempts else "no attempt"
        super().__init__(f"{pipeline}: no valid plan after {len(attempts)} attempts: {last}")
        self.attempts = attempts


def plan_tasks(spec: PipelineSpec, client: ModelClient, settings: GenerationSettings) -> PlanResult:
    """The spec's tasks, or a plan from its description when the spec has none."""
    if spec.tasks is not None:
        return PlanResult(tasks=list(spec.tasks), by_model=False)
    steps = [] if settings.strategy == "free" else extract_steps(spec.description)
    if steps:
        return _hybrid_plan(spec, steps, client, settings)
    return _free_plan(spec, client, settings)


def _hybrid_plan(
    spec: PipelineSpec,
    steps: list[StepCandidate],
    client: ModelClient,
    settings: GenerationSettings,
) -> PlanResult:
    planner = HybridPlanner(spec, steps, client)
    attempts: list[PlanAttempt] = []
    findings: list[Finding] = []
    for number in range(1, settings.max_attempts + 1):
        asked = len(planner.responses)
        planned = planner.plan(findings)
        tasks, findings = check_tasks(spec, [step.task() for step in planned])
        answers = planner.responses[asked:]
        attempts.append(
            PlanAttempt(
                number,
                plan_record(planned, [a.content for a in answers]),
                findings,
                sum(a.prompt_tokens for a in answers),
                sum(a.completion_tokens for a in answers),
                bool(answers) and all(a.cached for a in answers),
                total_cost(a.cost_usd for a in answers),
                method="hybrid",
                origins={step.name: step.origin() for step in planned},
            )
        )
        if tasks is not None:
            return PlanResult(tasks=tasks, by_model=True, attempts=attempts)
    raise PlanningError(spec.name, attempts)


def _free_plan(spec: PipelineSpec, client: ModelClient, settings: GenerationSettings) -> PlanResult:
    prompt = budgeted_prompt(
        "plan", spec, settings.prompt_budget("plan"), client.router.for_role("plan").model
    )
    attempts: list[PlanAttempt] = []
    for number in range(1, settings.max_attempts + 1):
        response = client.complete(_plan_request(prompt, settings))
        tasks, findings = check_plan(spec, response.content)
        attempts.append(
            PlanAttempt(
                number,
                response.content,
                findings,
                response.prompt_tokens,
                response.completion_tokens,
                response.cached,
                response.cost_usd,
            )
        )
        if tasks is not None:
            return PlanResult(tasks=tasks, by_model=True, attempts=attempts)
        prompt = render_prompt(
            "repair",
            artifact="task plan JSON",
            fence=None,
            task={"name": "plan", "description": spec.description[:500]},
            numbered=numbered(response.content),
            findings=findings,
        )
    raise PlanningError(spec.name, attempts)


def _plan_request(prompt: Prompt, settings: GenerationSettings) -> ChatRequest:
    return ChatRequest(
        role="plan",
        messages=prompt.messages,
        prompt_version=prompt.version,
        max_tokens=settings.max_tokens["plan"],
        json_schema=PLAN_SCHEMA,
    )


def check_plan(spec: PipelineSpec, answer: str) -> tuple[list[TaskSpec] | None, list[Finding]]:
    """Parse and validate a plan answer: the tasks, or the findings that reject it."""
    try:
        document = parse_json_object(answer)
    except ValueError as error:
        return None, [Finding("plan", None, "plan.json", str(error))]
    raw_tasks = document.get("tasks")
    if not isinstance(raw_tasks, list) or not raw_tasks:
        return None, [Finding("plan", None, "plan.tasks", "the answer has no task list")]
    tasks = [_normalized(task) for task in raw_tasks if isinstance(task, dict)]
    warnings = _drop_forward_references(tasks)
    planned, findings = check_tasks(spec, tasks)
    return planned, findings + warnings


def check_tasks(
    spec: PipelineSpec, tasks: list[dict[str, Any]]
) -> tuple[list[TaskSpec] | None, list[Finding]]:
    """Validate a task list exactly like hand-written tasks: the tasks, or the findings
    that reject them (unique names, known kinds, existing references, no cycle)."""
    candidate = {**spec.model_dump(by_alias=True), "tasks": tasks}
    try:
        planned = PipelineSpec.model_validate(candidate)
    except ValidationError as error:
        return None, [_finding(item) for item in error.errors()]
    return list(planned.tasks or []), []


def _normalized(task: dict[str, Any]) -> dict[str, Any]:
    depends_on = task.get("depends_on") or []
    return {
        "name": snake_case_name(str(task.get("name", ""))),
        "kind": task.get("kind"),
        "description": str(task.get("description", "")).strip(),
        "depends_on": [snake_case_name(str(ref)) for ref in depends_on if isinstance(ref, str)],
    }


def _drop_forward_references(tasks: list[dict[str, Any]]) -> list[Finding]:
    """Remove references to the task itself or to tasks listed after it (in place)."""
    warnings = []
    later = {task["name"] for task in tasks}
    for index, task in enumerate(tasks):
        later.discard(task["name"])
        dropped = [ref for ref in task["depends_on"] if ref == task["name"] or ref in later]
        if dropped:
            task["depends_on"] = [ref for ref in task["depends_on"] if ref not in dropped]
            message = f"tasks.{index}.depends_on: dropped {dropped} (itself or a later task)"
            warnings.append(Finding("plan", None, "plan.forward_reference", message, "warning"))
    return warnings


def _finding(error: Any) -> Finding:
    loc = ".".join(str(part) for part in error["loc"])
    return Finding("plan", None, f"plan.{error['type']}", f"{loc}: {error['msg']}")
