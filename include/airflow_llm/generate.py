"""Per-task generation and the bounded repair loop.

Each task gets one artifact (SQL script, Python function or expectation suite). The
first answer and every repair are validated (its kind's validator and policy, then a
secrets scan); findings that block go back to the model with the line-numbered code.
mypy runs once per round over all Python artifacts of the bundle. Every attempt is
recorded, and an artifact that still fails after the last attempt stays invalid: it
never reaches a bundle as valid.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from airflow_llm.bundle.render import artifact_file, ordered_tasks
from airflow_llm.llm.answers import extract_code_block, parse_json_object
from airflow_llm.llm.client import ChatRequest, ChatResponse, ModelClient
from airflow_llm.prompts import Prompt, budgeted_prompt, numbered, render_prompt
from airflow_llm.settings import GenerationSettings
from airflow_llm.spec import PipelineSpec, TaskSpec
from airflow_llm.validate.findings import Finding, errors, sha256_text
from airflow_llm.validate.mypy_batch import mypy_findings
from airflow_llm.validate.python_code import SIGNATURES, assemble_function
from airflow_llm.validate.python_policy import ALLOWED_IMPORTS
from airflow_llm.validate.quality import normalize_suite, suite_findings, suite_json, suite_schema
from airflow_llm.validate.secrets import secret_findings
from airflow_llm.validate.sql import SqlValidator, written_tables
from airflow_llm.validate.sql_execution import execution_findings


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

    def with_findings(self, extra: list[Finding]) -> Attempt:
        """The same attempt with more findings (mypy's, found for the whole bundle)."""
        return Attempt(
            self.number,
            self.content,
            self.findings + extra,
            self.prompt_tokens,
            self.completion_tokens,
            self.seconds,
            self.cached,
        )


@dataclass
class ArtifactState:
    """A task's artifact and every attempt at it."""

    task: TaskSpec
    file: str
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
    return task.kind if task.kind in ("sql", "quality") else "python"


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

    def generate_all(self) -> dict[str, ArtifactState]:
        """First answers, then repair rounds until all pass or attempts run out."""
        states: dict[str, ArtifactState] = {}
        for task in ordered_tasks(self.tasks):  # upstream first: quality sees their tables
            states[task.name] = self.first_attempt(task, states)
        states = {task.name: states[task.name] for task in self.tasks}
        self._repair_rounds(list(states.values()))
        return states

    def first_attempt(self, task: TaskSpec, upstream: dict[str, ArtifactState]) -> ArtifactState:
        """The first answer for ``task``; SQL already generated in ``upstream`` tells a
        quality suite which tables exist."""
        state = ArtifactState(task, artifact_file(task))
        state.attempts.append(self._attempt(state, self._first_prompt(task, state, upstream)))
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
            failing = [
                state
                for state in states
                if not state.valid and len(state.attempts) < self.settings.max_attempts
            ]
            if not failing:
                return
            for state in failing:
                state.attempts.append(self._attempt(state, self._repair_prompt(state)))

    def _first_prompt(
        self, task: TaskSpec, state: ArtifactState, upstream: dict[str, ArtifactState]
    ) -> Prompt:
        role = role_of(task)
        by_name = {t.name: t for t in self.tasks}
        context: dict[str, Any] = {
            "task": task,
            "upstream": [by_name[name] for name in task.depends_on],
        }
        if role == "quality":
            context["tables"] = self._known_tables(upstream)
            state.json_schema = suite_schema(context["tables"])
        if role == "python":
            context["signature"] = SIGNATURES[task.kind][1]
            allowed = ALLOWED_IMPORTS.union(self.spec.allowed_imports) - {"__future__"}
            context["allowed_imports"] = sorted(allowed)
        model = self.client.router.for_role(role).model
        return budgeted_prompt(role, self.spec, self.settings.prompt_budget(role), model, **context)

    def _known_tables(self, states: dict[str, ArtifactState]) -> list[str]:
        """Source tables and the tables SQL artifacts generated so far write."""
        tables = [table.name for table in self.spec.sources]
        for state in states.values():
            if state.attempts and state.task.kind == "sql":
                tables += written_tables(state.content, self.spec.dialect, self._sql_params())
        return sorted(set(tables))

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
        role = role_of(state.task)
        request = ChatRequest(
            role=role,
            messages=prompt.messages,
            prompt_version=prompt.version,
            max_tokens=self.settings.max_tokens[role],
            json_schema=state.json_schema,
        )
        response = self.client.complete(request)
        content, findings = self._validate(state, response)
        blocking = len(errors(findings))
        outcome = "passed" if not blocking else f"{blocking} blocking findings"
        source = "cache" if response.cached else f"{response.completion_tokens} tokens"
        self.progress(f"{state.task.name}: attempt {len(state.attempts) + 1} ({source}): {outcome}")
        return Attempt(
            number=len(state.attempts) + 1,
            content=content,
            findings=findings,
            prompt_tokens=response.prompt_tokens,
            completion_tokens=response.completion_tokens,
            seconds=response.seconds,
            cached=response.cached,
        )

    def _validate(self, state: ArtifactState, response: ChatResponse) -> tuple[str, list[Finding]]:
        validators: dict[str, Callable[[ArtifactState, str], tuple[str, list[Finding]]]] = {
            "sql": self._validate_sql,
            "quality": self._validate_suite,
        }
        validate = validators.get(state.task.kind, self._validate_python)
        try:
            content, findings = validate(state, response.content)
        except Exception as error:  # a validator bug must not sink the batch
            message = f"validator failed: {type(error).__name__}: {error}"[:300]
            crash = Finding(state.file, None, "validator.crash", message)
            content, findings = response.content, [crash]
        return content, findings + secret_findings(content, state.file)

    def _validate_sql(self, state: ArtifactState, answer: str) -> tuple[str, list[Finding]]:
        sql = extract_code_block(answer, ("sql",))
        if not sql.strip():
            return "", [Finding(state.file, None, "sql.empty", "the answer has no SQL")]
        sources = [table.name for table in self.spec.sources]
        params = self._sql_params()
        content, findings = self.sql.check(sql, state.file, self.spec.dialect, params, sources)
        if errors(findings):  # only SQL that passed the policy runs, even on sample data
            return content, findings
        dialect, tables = self.spec.dialect, self.spec.sources
        return content, findings + execution_findings(content, state.file, dialect, params, tables)

    def _validate_python(self, state: ArtifactState, answer: str) -> tuple[str, list[Finding]]:
        task = state.task
        built = assemble_function(
            answer, state.file, task.kind, task.name, task.description, self.spec.allowed_imports
        )
        return built.source, built.findings

    def _validate_suite(self, state: ArtifactState, answer: str) -> tuple[str, list[Finding]]:
        try:
            document = parse_json_object(answer)
        except ValueError as error:
            return answer, [Finding(state.file, None, "gx.json", str(error))]
        suite = normalize_suite(document, f"{self.spec.name}.{state.task.name}")
        return suite_json(suite), suite_findings(suite, state.file, self.spec)

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
