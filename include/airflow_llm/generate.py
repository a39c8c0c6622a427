"""Per-task generation and the bounded repair loop, free-form or hybrid.

Each task gets one artifact (SQL script, Python function, expectation suite, or the
parameters of a provider operator), written one of two ways
(``GenerationSettings.strategy``):

- **hybrid**: the model picks a pattern of the catalog and fills its typed parameters
  (:mod:`airflow_llm.hybrid`); the project renders the artifact;
- **free-form**: the model writes the artifact, which is then repaired.

``auto`` (the default) is hybrid wherever a pattern serves the task's kind, free-form
where the model answers ``custom`` or no pattern serves the kind, and hybrid again for
a free-form artifact that fails all its repairs. Either way the first answer and every
repair are validated alike (its kind's validator and policy, the DuckDB dry run and the
task's unit tests, then a secrets scan); findings that block go back to the model.
mypy runs once per round over all Python artifacts of the bundle. Every attempt is
recorded with its strategy and pattern, and an artifact that still fails after the last
attempt stays invalid: it never reaches a bundle as valid.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from airflow_llm.bundle.render import artifact_file, ordered_tasks
from airflow_llm.hybrid import HybridAnswer, HybridWriter, hybrid_serves
from airflow_llm.llm.answers import extract_code_block, parse_json_object
from airflow_llm.llm.client import ChatRequest, ModelClient
from airflow_llm.llm.endpoints import role_of_kind
from airflow_llm.llm.pricing import total_cost
from airflow_llm.patterns import (
    CUSTOM,
    Relation,
    TaskContext,
    context_for,
    operator_patterns,
    ranked_pattern_names,
)
from airflow_llm.patterns.operators import operator_findings
from airflow_llm.prompts import Prompt, budgeted_prompt, numbered, render_prompt
from airflow_llm.settings import GenerationSettings
from airflow_llm.spec import PipelineSpec, TaskSpec
from airflow_llm.validate.findings import Finding, errors, sha256_text
from airflow_llm.validate.mypy_batch import mypy_findings
from airflow_llm.validate.python_code import SIGNATURES, assemble_function
from airflow_llm.validate.python_policy import ALLOWED_IMPORTS
from airflow_llm.validate.quality import normalize_suite, suite_findings, suite_json, suite_schema
from airflow_llm.validate.secrets import secret_findings
from airflow_llm.validate.sql import SqlValidator
from airflow_llm.validate.sql_execution import execution_findings, written_relation
from airflow_llm.validate.unit_tests import suite_test_findings, unit_test_findings

FREE, HYBRID = "free", "hybrid"


@dataclass(frozen=True)
class Attempt:
    """One model answer for one artifact, as validated."""

    number: int
    content: str
    findings: list[Finding]
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    cached: bool
    strategy: str = FREE
    """``free`` (the model wrote the artifact) or ``hybrid`` (a pattern rendered it)."""
    pattern: str | None = None
    pattern_version: int | None = None
    parameters: dict[str, Any] | None = None
    """The pattern's parameters as the model answered them (hybrid)."""
    output: dict[str, Any] | None = None
    """The table the artifact writes, with its columns (:meth:`Relation.to_dict`)."""
    cost_usd: float | None = None
    """USD of the answer (the sum of a hybrid answer's questions); None when a model
    without a price answered (or the cost was not recorded)."""

    def with_findings(self, extra: list[Finding]) -> Attempt:
        """The same attempt with more findings (mypy's, found for the whole bundle)."""
        return replace(self, findings=self.findings + extra)


@dataclass
class ArtifactState:
    """A task's artifact and every attempt at it."""

    task: TaskSpec
    file: str
    """The resource file of the latest attempt (an operator pattern's differs)."""
    attempts: list[Attempt] = field(default_factory=list)
    json_schema: dict[str, Any] | None = None
    """Structured-output schema of every request for this artifact (quality suites)."""

    @property
    def content(self) -> str:
        """The latest attempt's content."""
        return self.attempts[-1].content

    @property
    def valid(self) -> bool:
        """True when the latest attempt has no blocking finding."""
        return bool(self.attempts) and not errors(self.attempts[-1].findings)

    @property
    def is_python(self) -> bool:
        """Whether mypy checks this artifact."""
        return self.file.endswith(".py")

    @property
    def output(self) -> Relation | None:
        """The table the latest attempt writes (its pattern's output, or what the dry run
        of free-form SQL wrote), for the tasks after it."""
        if not self.attempts or self.attempts[-1].output is None:
            return None
        return Relation.from_dict(self.attempts[-1].output)

    @property
    def strategy(self) -> str:
        """How the latest attempt was written."""
        return self.attempts[-1].strategy if self.attempts else FREE

    def count(self, strategy: str) -> int:
        """Attempts made with ``strategy``."""
        return sum(attempt.strategy == strategy for attempt in self.attempts)

    def record(self) -> dict[str, Any]:
        """How the artifact was made, for ``tasks.yml``: the strategy, the pattern with its
        version and parameters, and the table it writes."""
        last = self.attempts[-1]
        record: dict[str, Any] = {"strategy": last.strategy}
        if last.pattern is not None:
            record["pattern"] = {
                "name": last.pattern,
                "version": last.pattern_version,
                "parameters": last.parameters,
            }
        if last.output is not None:
            record["output"] = last.output
        return record

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, for the work prefix between mapped Airflow tasks."""
        return {
            "task": self.task.model_dump(mode="json"),
            "file": self.file,
            "json_schema": self.json_schema,
            "attempts": [
                {**asdict(attempt), "findings": [f.to_dict() for f in attempt.findings]}
                for attempt in self.attempts
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ArtifactState:
        """The inverse of :meth:`to_dict`."""
        attempts = [
            Attempt(**{**item, "findings": [Finding(**f) for f in item["findings"]]})
            for item in data["attempts"]
        ]
        return cls(
            TaskSpec.model_validate(data["task"]), data["file"], attempts, data["json_schema"]
        )


def role_of(task: TaskSpec) -> str:
    """The request role (and so the routed model) that writes ``task``'s artifact."""
    return role_of_kind(task.kind)


@dataclass
class ArtifactGenerator:
    """Generates and repairs the artifacts of one pipeline."""

    spec: PipelineSpec
    tasks: list[TaskSpec]
    client: ModelClient
    settings: GenerationSettings
    sql: SqlValidator = field(default_factory=SqlValidator)
    progress: Callable[[str], None] = field(default=lambda message: None)
    """Called with one line per attempt, for progress displays."""
    outputs: dict[str, Relation] = field(default_factory=dict)
    """Tables written by tasks generated before (by task name), for the tasks after them."""

    def generate_all(self) -> dict[str, ArtifactState]:
        """First answers, then repair rounds until all pass or attempts run out."""
        states: dict[str, ArtifactState] = {}
        for task in ordered_tasks(self.tasks):  # upstream first: later tasks read their tables
            states[task.name] = self.first_attempt(task, states)
        states = {task.name: states[task.name] for task in self.tasks}
        self._repair_rounds(list(states.values()))
        return states

    def first_attempt(self, task: TaskSpec, upstream: dict[str, ArtifactState]) -> ArtifactState:
        """The first answer for ``task``; the tables the tasks in ``upstream`` write are
        the ones it may read besides the sources."""
        self.outputs.update(
            {name: state.output for name, state in upstream.items() if state.output is not None}
        )
        state = ArtifactState(task, artifact_file(task))
        ctx = self._context(task)
        if self.settings.strategy != FREE and hybrid_serves(ctx):
            attempt, custom = self._hybrid_attempt(state, ctx, self.settings.strategy == "auto")
            if attempt is not None:
                state.attempts.append(attempt)
                return state
            spent = custom.decisions if custom else []
        else:
            spent = []
        attempt = self._attempt(state, self._first_prompt(task, state, ctx))
        state.attempts.append(_with_decisions(attempt, spent))
        return state

    def repair(self, state: ArtifactState) -> ArtifactState:
        """Repair one artifact (mypy on it alone) until it passes or attempts run out."""
        self._repair_rounds([state])
        return state

    def _repair_rounds(self, states: list[ArtifactState]) -> None:
        """mypy over the Python artifacts, then one repair per failing artifact; again,
        until all pass or every failing artifact has used its attempts."""
        while True:
            self._add_mypy_findings(states)
            failing = [state for state in states if not state.valid and self._can_retry(state)]
            if not failing:
                return
            for state in failing:
                state.attempts.append(self._next_attempt(state))
                if state.output is not None:
                    self.outputs[state.task.name] = state.output

    def _can_retry(self, state: ArtifactState) -> bool:
        """Attempts left: ``max_attempts`` per strategy; in ``auto``, free-form that used
        its attempts may still fall back to hybrid."""
        limit = self.settings.max_attempts
        if state.strategy == HYBRID:
            return state.count(HYBRID) < limit
        if state.count(FREE) < limit:
            return True
        fallback = self.settings.strategy == "auto" and state.count(HYBRID) == 0
        return fallback and hybrid_serves(self._context(state.task))

    def _next_attempt(self, state: ArtifactState) -> Attempt:
        """A repair of the latest attempt, in its strategy (or the hybrid fallback)."""
        ctx = dataclasses.replace(self._context(state.task), repairing=True)
        last = state.attempts[-1]
        if last.strategy == FREE:
            if state.count(FREE) < self.settings.max_attempts:
                return self._attempt(state, self._repair_prompt(state))
            fresh = self._context(state.task)  # the hybrid fallback starts anew
            attempt, _ = self._hybrid_attempt(state, fresh, allow_custom=False)
            assert attempt is not None
            return attempt
        tried = [a.pattern for a in state.attempts if a.strategy == HYBRID and a.pattern]
        last_chance = state.count(HYBRID) + 1 >= self.settings.max_attempts
        if last_chance and len(set(tried)) < len(ranked_pattern_names(ctx)):
            attempt, _ = self._hybrid_attempt(state, ctx, allow_custom=False, exclude=tried)
        else:
            previous = HybridAnswer(str(last.pattern), dict(last.parameters or {}))
            findings = errors(last.findings)
            attempt, _ = self._hybrid_attempt(state, ctx, False, previous, findings)
        assert attempt is not None
        return attempt

    def _context(self, task: TaskSpec) -> TaskContext:
        return context_for(self.spec, task, self.outputs)

    def _hybrid_attempt(
        self,
        state: ArtifactState,
        ctx: TaskContext,
        allow_custom: bool,
        previous: HybridAnswer | None = None,
        findings: list[Finding] | None = None,
        exclude: list[str] | None = None,
    ) -> tuple[Attempt | None, HybridAnswer | None]:
        """One hybrid answer, rendered and validated; None when the model chose ``custom``."""
        writer = HybridWriter(self.client, role_of(state.task))
        answer = writer.answer(ctx, allow_custom, previous, findings or [], exclude or [])
        if answer.pattern == CUSTOM:
            return None, answer
        state.file = artifact_file(state.task, answer.pattern in operator_patterns())
        output = None
        if answer.rendered is None:
            content = json.dumps(answer.parameters, indent=2, sort_keys=True) + "\n"
            found = [Finding(state.file, None, "pattern.parameters", p) for p in answer.problems]
        else:
            content, found = self._validate_content(state, answer.rendered.content, ctx)
            output = answer.rendered.output.to_dict() if answer.rendered.output else None
        attempt = Attempt(
            number=len(state.attempts) + 1,
            content=content,
            findings=found,
            prompt_tokens=sum(d.prompt_tokens for d in answer.decisions),
            completion_tokens=sum(d.completion_tokens for d in answer.decisions),
            seconds=sum(d.seconds for d in answer.decisions),
            cached=all(d.cached for d in answer.decisions),
            cost_usd=total_cost(d.cost_usd for d in answer.decisions),
            strategy=HYBRID,
            pattern=answer.pattern,
            pattern_version=answer.version,
            parameters=answer.parameters,
            output=output,
        )
        self._report(state, attempt, f"hybrid {answer.pattern}")
        return attempt, answer

    def _first_prompt(self, task: TaskSpec, state: ArtifactState, ctx: TaskContext) -> Prompt:
        role = role_of(task)
        by_name = {t.name: t for t in self.tasks}
        context: dict[str, Any] = {
            "task": task,
            "upstream": [by_name[name] for name in task.depends_on],
        }
        if role == "quality":
            context["tables"] = sorted(relation.name for relation in ctx.relations)
            state.json_schema = suite_schema(context["tables"])
        if role == "python":
            context["signature"] = SIGNATURES[task.kind][1]
            allowed = ALLOWED_IMPORTS.union(self.spec.allowed_imports) - {"__future__"}
            context["allowed_imports"] = sorted(allowed)
        model = self.client.router.for_role(role).model
        return budgeted_prompt(role, self.spec, self.settings.prompt_budget(role), model, **context)

    def _sql_params(self) -> dict[str, Any]:
        environment = next(iter(self.spec.environments.values()))
        return {"schema": environment.schema_, "bucket": environment.bucket, **environment.vars}

    def _repair_prompt(self, state: ArtifactState) -> Prompt:
        kind = state.task.kind
        artifact, fence = {
            "sql": (f"{self.spec.dialect} SQL script", "sql"),
            "quality": ("expectation suite JSON", None),
        }.get(kind, (f"Python function `{SIGNATURES.get(kind, ('run', ''))[0]}`", "python"))
        return render_prompt(
            "repair",
            artifact=artifact,
            fence=fence,
            task=state.task,
            numbered=numbered(state.content),
            findings=errors(state.attempts[-1].findings)[:12],
        )

    def _attempt(self, state: ArtifactState, prompt: Prompt) -> Attempt:
        state.file = artifact_file(state.task)
        role = role_of(state.task)
        request = ChatRequest(
            role=role,
            messages=prompt.messages,
            prompt_version=prompt.version,
            max_tokens=self.settings.max_tokens[role],
            json_schema=state.json_schema,
        )
        response = self.client.complete(request)
        ctx = self._context(state.task)
        content, findings = self._validate_content(state, response.content, ctx)
        output = None
        if state.task.kind == "sql" and not errors(findings):
            relation = written_relation(
                content, state.task.name, self.spec.dialect, self._sql_params(), ctx.relations
            )
            output = relation.to_dict() if relation is not None else None
        attempt = Attempt(
            number=len(state.attempts) + 1,
            content=content,
            findings=findings,
            prompt_tokens=response.prompt_tokens,
            completion_tokens=response.completion_tokens,
            seconds=response.seconds,
            cached=response.cached,
            output=output,
            cost_usd=response.cost_usd,
        )
        self._report(state, attempt, "cache" if response.cached else "free-form")
        return attempt

    def _report(self, state: ArtifactState, attempt: Attempt, how: str) -> None:
        blocking = len(errors(attempt.findings))
        outcome = "passed" if not blocking else f"{blocking} blocking findings"
        tokens = attempt.prompt_tokens + attempt.completion_tokens
        self.progress(
            f"{state.task.name}: attempt {attempt.number} ({how}, {tokens} tokens): {outcome}"
        )

    def _validate_content(
        self, state: ArtifactState, answer: str, ctx: TaskContext
    ) -> tuple[str, list[Finding]]:
        validators: dict[
            str, Callable[[ArtifactState, str, TaskContext], tuple[str, list[Finding]]]
        ] = {
            "sql": self._validate_sql,
            "quality": self._validate_suite,
        }
        validate = validators.get(state.task.kind, self._validate_python)
        if state.file == artifact_file(state.task, operator=True):
            validate = self._validate_operator
        try:
            content, findings = validate(state, answer, ctx)
        except Exception as error:  # a validator bug must not sink the batch
            message = f"validator failed: {type(error).__name__}: {error}"[:300]
            crash = Finding(state.file, None, "validator.crash", message)
            content, findings = answer, [crash]
        return content, findings + secret_findings(content, state.file)

    def _validate_sql(
        self, state: ArtifactState, answer: str, ctx: TaskContext
    ) -> tuple[str, list[Finding]]:
        sql = extract_code_block(answer, ("sql",))
        if not sql.strip():
            return "", [Finding(state.file, None, "sql.empty", "the answer has no SQL")]
        sources = [table.name for table in self.spec.sources]
        params = self._sql_params()
        content, findings = self.sql.check(sql, state.file, self.spec.dialect, params, sources)
        if errors(findings):  # only SQL that passed the policy runs, even on sample data
            return content, findings
        dialect, tables = self.spec.dialect, self.spec.sources
        findings += execution_findings(content, state.file, dialect, params, tables)
        if errors(findings):
            return content, findings
        tests = unit_test_findings(content, state.file, state.task, ctx.relations, dialect, params)
        return content, findings + tests

    def _validate_python(
        self, state: ArtifactState, answer: str, ctx: TaskContext
    ) -> tuple[str, list[Finding]]:
        task = state.task
        built = assemble_function(
            answer, state.file, task.kind, task.name, task.description, self.spec.allowed_imports
        )
        return built.source, built.findings

    def _validate_operator(
        self, state: ArtifactState, answer: str, ctx: TaskContext
    ) -> tuple[str, list[Finding]]:
        return answer, operator_findings(answer, state.file, state.task, operator_patterns())

    def _validate_suite(
        self, state: ArtifactState, answer: str, ctx: TaskContext
    ) -> tuple[str, list[Finding]]:
        try:
            document = parse_json_object(answer)
        except ValueError as error:
            return answer, [Finding(state.file, None, "gx.json", str(error))]
        suite = normalize_suite(document, f"{self.spec.name}.{state.task.name}")
        findings = suite_findings(suite, state.file, self.spec, ctx.relations)
        if errors(findings):
            return suite_json(suite), findings
        tests = suite_test_findings(
            suite, state.file, state.task, ctx.relations, self.spec.dialect, self._sql_params()
        )
        return suite_json(suite), findings + tests

    def _add_mypy_findings(self, states: list[ArtifactState]) -> None:
        """One mypy call over every Python artifact that passed its own checks."""
        checkable = [s for s in states if s.is_python and s.valid]
        if not checkable:
            return
        names = "-".join(sorted(state.task.name for state in checkable))
        with self.settings.scratch_dir(f"mypy-{self.spec.name}-{sha256_text(names)[:12]}") as root:
            for state in checkable:
                (root / state.file).write_text(state.content)
            found = mypy_findings(
                [root / s.file for s in checkable], self.settings.work_dir / "mypy-cache", root
            )
        for state in checkable:
            mine = [finding for finding in found if finding.file == state.file]
            if mine:
                state.attempts[-1] = state.attempts[-1].with_findings(mine)


def _with_decisions(attempt: Attempt, decisions: list[Any]) -> Attempt:
    """``attempt`` with the tokens of the pattern question answered ``custom`` before it."""
    if not decisions:
        return attempt
    return replace(
        attempt,
        prompt_tokens=attempt.prompt_tokens + sum(d.prompt_tokens for d in decisions),
        completion_tokens=attempt.completion_tokens + sum(d.completion_tokens for d in decisions),
        cost_usd=total_cost([attempt.cost_usd, *(d.cost_usd for d in decisions)]),
    )
