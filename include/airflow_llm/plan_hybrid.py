"""Hybrid planning: the description's own steps become the tasks; the model only decides
what the text leaves open.

:mod:`airflow_llm.plan_steps` reads the candidate steps. Each becomes a task named from
its words. Its kind and its upstream steps are linked from the text where the text
states them (an operator or a word that names the kind; an earlier step named in its
text, or a later step named as what it feeds). What linking cannot decide is asked, one
step at a time, under a JSON schema whose enums are only the options left: the kinds the
step's words cue, and the earlier steps by index. A step nothing connects follows the
step before it (the order it is written in); the members of a group run side by side,
after what came before the group, and the next step waits for all of them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from airflow_llm.hybrid import forced_properties
from airflow_llm.llm.answers import parse_json_object
from airflow_llm.llm.client import ChatRequest, ChatResponse, ModelClient
from airflow_llm.patterns import operator_patterns
from airflow_llm.patterns.base import choices, enum, obj
from airflow_llm.patterns.operators import named_operators
from airflow_llm.plan_steps import StepCandidate
from airflow_llm.prompts import render_prompt
from airflow_llm.spec import RESERVED_TASK_NAMES, PipelineSpec, TaskKind
from airflow_llm.validate.findings import Finding

KINDS: tuple[TaskKind, ...] = ("sql", "python", "quality", "sensor", "branch", "llm")
KIND_MEANINGS = {
    "sql": "a query that writes a warehouse table",
    "python": "files, APIs, transfers, notifications or other code",
    "quality": "data checks on a table",
    "sensor": "waits for a file, partition, row or event",
    "branch": "chooses which of the next steps run",
    "llm": "asks a language model about each item",
}


def _cues(text: str) -> list[str]:
    return text.split("|")


KIND_CUES: dict[str, list[str]] = {
    "sensor": _cues("sensor|wait for|wait until|waits for|poke|poll|polls|polling|arrival"),
    "branch": _cues("branch|branches|decide|decides|choose|chooses|route|routes|routing"),
    "quality": _cues(
        "quality|expectation|expectations|validate|validates|validation|verify|verifies"
        "|assert|check|checks|check that|not null|unique|row count"
    ),
    "sql": _cues(
        "sql|query|queries|table|tables|insert|inserts|aggregate|aggregates|join|joins|merge"
        "|upsert|group by|per|count|counts|sum|warehouse|ctas|postgres|postgresql|snowflake"
        "|bigquery|redshift"
    ),
    "llm": _cues("llm|language model|gpt|sentiment|classify|classifies|openai|prompt"),
    "python": _cues(
        "python|api|apis|http|endpoint|endpoints|post to|webhook|graphql|csv|json|file|files"
        "|download|downloads|upload|uploads|email"
        "|notify|notification|slack|s3|ftp|sftp|bash|docker|kubernetes|spark|databricks"
        "|elasticsearch|empty|dummy"
        "|no-op|marker|synchronization point|start|end|begin|finish|complete"
    ),
}
"""Words that cue a kind (lower case, whole words); the step's title counts three times
its details."""
TITLE_WEIGHT = 3
DESCRIPTION_LIMIT = 1500
_FILE = re.compile(r"\b[\w{}*-]+\.(?:csv|json|jsonl|parquet|txt|xml|pdf|avro|orc|xlsx|sql)\b", re.I)
_INPUT_CLAUSE = re.compile(r"\b(?:inputs?|upstream)\s*:[^•\n]*?(?=\s[-•]\s|\n|$)", re.I)
"""A step's clause about what it takes in: an operator named there ("Input: SqlSensor
completion") is an upstream step's, not how this step runs."""
_XCOM_INPUT = re.compile(r"\b(?:inputs?|upstream)\s*:[^•\n]*?\bxcom\b", re.I)
"""An input clause taking another step's XCom values ("Input: XCom variables from
process_user"): a step that writes them with a SQL operator is a python task, as a SQL
task reads tables only and a Python load is what takes a step's values."""
_BESIDE = re.compile(r"parallel with|concurrently with|alongside|at the same time as", re.I)


@dataclass(frozen=True)
class PlannedStep:
    """A step as a task, with what decided each part of it."""

    step: StepCandidate
    name: str
    kind: str
    depends_on: tuple[str, ...]
    decided_by: str
    """``text`` when linking decided everything, ``model`` when the model answered."""

    def origin(self) -> str:
        """Where the task came from, for the report."""
        return f"description line {self.step.line} ({self.step.source}): {self.step.title}"

    def task(self) -> dict[str, Any]:
        """The task as the spec's ``tasks`` list holds it: the step's whole text is its
        description."""
        return {
            "name": self.name,
            "kind": self.kind,
            "description": self.step.text[:DESCRIPTION_LIMIT],
            "depends_on": list(self.depends_on),
        }


class HybridPlanner:
    """Turns a description's candidate steps into tasks (see the module docstring)."""

    def __init__(
        self, spec: PipelineSpec, steps: Sequence[StepCandidate], client: ModelClient
    ) -> None:
        self.spec = spec
        self.steps = list(steps)
        self.client = client
        self.names = unique_names(steps)
        self.responses: list[ChatResponse] = []

    def plan(self, findings: Sequence[Finding] = ()) -> list[PlannedStep]:
        """Every step as a task; ``findings`` of an earlier plan go into the questions."""
        upstream = linked_upstream(self.steps, self.names)
        planned: list[PlannedStep] = []
        for step in self.steps:
            cued = cued_kinds(step, [n for n in self.names if n != self.names[step.index]])
            schema = obj(
                {
                    "kind": enum(cued if cued else KINDS),
                    "depends_on": choices(upstream[step.index], *[len(upstream[step.index])] * 2),
                }
            )
            answer = forced_properties(schema)
            decided_by = "text"
            if "kind" not in answer:
                answer |= self._ask(step, {"kind": schema["properties"]["kind"]}, findings)
                decided_by = "model"
            planned.append(
                PlannedStep(
                    step,
                    self.names[step.index],
                    str(answer["kind"]),
                    tuple(self.names[i] for i in upstream[step.index]),
                    decided_by,
                )
            )
        return planned

    def _ask(
        self, step: StepCandidate, properties: dict[str, Any], findings: Sequence[Finding]
    ) -> dict[str, Any]:
        schema = obj(properties)
        offered = properties["kind"]["enum"]
        prompt = render_prompt(
            "plan_step",
            spec=self.spec,
            step=step,
            total=len(self.steps),
            kinds=[(kind, KIND_MEANINGS[kind]) for kind in offered],
            findings=findings,
        )
        request = ChatRequest(
            role="plan",
            messages=prompt.messages,
            prompt_version=prompt.version,
            max_tokens=24,
            json_schema=schema,
        )
        response = self.client.complete(request)
        self.responses.append(response)
        try:
            kind = parse_json_object(response.content).get("kind")
        except ValueError:
            kind = None
        return {"kind": kind if kind in offered else offered[0]}


def unique_names(steps: Sequence[StepCandidate]) -> list[str]:
    """One task name per step, from its words: reserved names get ``_task``, repeats a
    number (``copy_data``, ``copy_data_2``), a step without usable words its position."""
    names: list[str] = []
    for step in steps:
        base = step.name or f"step_{step.index + 1}"
        base = f"{base}_task" if base in RESERVED_TASK_NAMES else base
        name, number = base, 2
        while name in names:
            name, number = f"{base[:60]}_{number}", number + 1
        names.append(name)
    return names


def cued_kinds(step: StepCandidate, others: Sequence[str] = ()) -> Sequence[str]:
    """The kinds the step's words cue, strongest first; one when it clearly leads (twice
    the next one's score), none when nothing cues a kind. Operators the text names, and
    a container image it names (run by ``DockerOperator``), say how the step is done:
    when they all are one kind, that kind (a SQL operator taking another step's XCom
    values: python). The names of ``others``
    (the other steps) in the text are not the step's words."""
    text = step.text
    for name in others:
        text = re.sub(rf"(?<![\w]){re.escape(name)}(?![\w])", " ", text, flags=re.I)
    how = _INPUT_CLAUSE.sub(" ", text)
    operated = {kind for op in named_operators(how) for kind in operator_kinds(op)}
    if operated == {"sql"} and _XCOM_INPUT.search(text):
        return ["python"]
    if len(operated) == 1:
        return sorted(operated)
    scores = {
        kind: TITLE_WEIGHT * _count(step.title, cues) + _count(text, cues)
        for kind, cues in KIND_CUES.items()
    }
    ranked: list[str] = sorted((k for k in KINDS if scores[k]), key=lambda k: -scores[k])
    if len(ranked) > 1 and scores[ranked[0]] >= 2 * scores[ranked[1]]:
        return ranked[:1]
    return ranked


def operator_kinds(operator: str) -> list[str]:
    """The kinds an Airflow operator class is: every ``…Sensor`` waits, a ``Branch…``
    operator chooses, any other by the words before ``Operator`` (``SQLExecuteQuery``,
    ``Python``, ``Email``), else by the kind of the operator patterns that render it
    (``TriggerDagRunOperator``)."""
    if operator.endswith("Sensor"):
        return ["sensor"]
    if "Branch" in operator:
        return ["branch"]
    prefix = operator.removesuffix("Operator")
    cued = [kind for kind, cues in KIND_CUES.items() if _count(prefix, cues)]
    return cued or sorted(
        {p.kind for p in operator_patterns().values() if operator in p.operator_names}
    )


def _count(text: str, cues: Sequence[str]) -> int:
    """How often ``cues`` stand as words in ``text`` (``FileSensor`` reads as two words)."""
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text).replace("_", " ").lower()
    lowered = f" {' '.join(words.split())} "
    return sum(len(re.findall(rf"(?<![a-z]){re.escape(cue)}(?![a-z])", lowered)) for cue in cues)


def linked_upstream(steps: Sequence[StepCandidate], names: Sequence[str]) -> list[list[int]]:
    """Per step, the indexes of the earlier steps it depends on (see the module docstring):
    the steps it names or that name it, those that wrote a file it names, else by
    position (:func:`_by_position`)."""
    stated = [_stated(step.text) for step in steps]
    files = [set(_FILE.findall(text)) for text in stated]
    upstream: list[list[int]] = []
    for j, step in enumerate(steps):
        linked = {
            i
            for i in range(j)
            if _mentions(stated[j], steps[i], names[i]) or _mentions(stated[i], step, names[j])
        }
        for file in files[j]:
            writers = [i for i in range(j) if file in files[i]]
            linked.update(writers[-1:])
        upstream.append(sorted(linked) or _by_position(steps, names, upstream, j))
    return upstream


def _stated(text: str) -> str:
    """The text without the sentences that say what runs beside it (``Runs in parallel
    with copy_qa`` names a sibling, not an upstream)."""
    pieces = re.split(r"(?<=[.;])\s+|\s+[•*-]\s+", text)
    return " ".join(piece for piece in pieces if not _BESIDE.search(piece))


def _by_position(
    steps: Sequence[StepCandidate],
    names: Sequence[str],
    upstream: Sequence[Sequence[int]],
    j: int,
) -> list[int]:
    """What a step nothing in the text connects waits for: the step before it; with a
    sibling before it (a member of the same group, or a name of the same first word:
    ``ingest_eu`` after ``ingest_us``), what that sibling waits for; after a run of
    siblings, all of them."""
    if j == 0:
        return []
    if _siblings(steps, names, j, j - 1):
        return list(upstream[j - 1])
    first = j - 1
    while first > 0 and _siblings(steps, names, first, first - 1):
        first -= 1
    return list(range(first, j))


def _siblings(steps: Sequence[StepCandidate], names: Sequence[str], a: int, b: int) -> bool:
    if steps[a].group is not None and steps[a].group == steps[b].group:
        return True
    first, rest = names[a].partition("_")[::2]
    other_first, other_rest = names[b].partition("_")[::2]
    return bool(rest and other_rest) and first == other_first


def _mentions(text: str, step: StepCandidate, name: str) -> bool:
    """Whether ``text`` names ``step`` (its task name or its title as written; one-word
    names like ``load`` or ``end`` are too common to count)."""
    forms = {name, step.title.split(" (")[0].strip().strip("`")}
    return any(
        "_" in form and re.search(rf"(?<![\w]){re.escape(form)}(?![\w])", text, re.I)
        for form in forms
    )


def plan_record(planned: Sequence[PlannedStep], answers: Sequence[str]) -> str:
    """The plan as the report keeps it: tasks with their origins, and the model's answers."""
    return json.dumps(
        {
            "tasks": [
                p.task() | {"origin": p.origin(), "decided_by": p.decided_by} for p in planned
            ],
            "answers": list(answers),
        }
    )
