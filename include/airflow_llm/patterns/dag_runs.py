"""Patterns about other DAGs' runs: wait until one has completed (``external_task_sensor``:
the standard provider's ``ExternalTaskSensor``, deferrable), a whole DAG run or one of
its tasks, for the same logical date or one the words shift it by ("the previous day's
run", ``execution_delta=timedelta(days=1)``).

The DAG id is the one the words write out (``external_dag_id='…'``, a quoted name after
"DAG", a ``snake_case`` name before it); "this DAG" or the pipeline's own name is the
generated DAG's id, which must then look back in time. Otherwise ``config.yml`` holds a
placeholder per environment. The smoke run does not run it: another DAG's runs are the
deployment's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, Field, field_validator

from airflow_llm.patterns.base import StrictParameters, enum, narrowed, obj
from airflow_llm.patterns.common import NONE, none_as_null, require
from airflow_llm.patterns.context import Relation, TaskContext
from airflow_llm.patterns.control import STANDARD
from airflow_llm.patterns.files import POKE_INTERVAL, TIMEOUT, stated_seconds
from airflow_llm.patterns.operators import (
    GENERIC_OPERATORS,
    OperatorPattern,
    Setting,
    lead,
    named_operators,
)
from airflow_llm.spec import PipelineSpec, TaskSpec

DAG_ID = r"^[A-Za-z0-9_.-]{1,250}$"
"""An Airflow DAG or task id."""
_ID = r"[A-Za-z0-9_.-]{1,250}"
_QUOTE = "['\"`]"
_DAG_IDS = [
    re.compile(rf"\bexternal_dag_id\s*=\s*{_QUOTE}({_ID}){_QUOTE}"),
    re.compile(rf"\bDAGs?\s+{_QUOTE}({_ID}){_QUOTE}", re.IGNORECASE),
    re.compile(rf"{_QUOTE}({_ID}){_QUOTE}\s+DAG\b", re.IGNORECASE),
    re.compile(r"\b([A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+)\s+DAG\b", re.IGNORECASE),
]
"""How words write the id of the DAG to wait for."""
_TASK_IDS = [
    re.compile(rf"\bexternal_task_id\s*=\s*{_QUOTE}({_ID}){_QUOTE}"),
    re.compile(rf"\btask\s+{_QUOTE}({_ID}){_QUOTE}", re.IGNORECASE),
    re.compile(rf"{_QUOTE}({_ID}){_QUOTE}\s+task\b", re.IGNORECASE),
    re.compile(rf"\bDAG\s+{_QUOTE}{_ID}{_QUOTE}\s+(\w+)\s+task\b", re.IGNORECASE),
]
"""How words write the id of the task to wait for (none: the whole DAG run)."""
_SELF = re.compile(r"\b(?:this|the same|its own)\s+(?:dag|pipeline|workflow)\b", re.IGNORECASE)
_UNITS = {"weeks": 604800, "days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}
_DELTA = re.compile(r"\bexecution_delta\s*=\s*timedelta\(([^)]*)\)")
_DELTA_PART = re.compile(r"\b(weeks|days|hours|minutes|seconds)\s*=\s*(\d+)")
_PREVIOUS = {
    86400: re.compile(r"\b(?:previous|prior|last)\s+day\b|\byesterday\b|\bday before\b", re.I),
    3600: re.compile(r"\b(?:previous|prior|last)\s+hour\b|\bhour before\b", re.I),
    604800: re.compile(r"\b(?:previous|prior|last)\s+week\b|\bweek before\b", re.I),
}
"""Words that shift the awaited run back by so many seconds."""
_WAITING = re.compile(
    r"\b(?:wait|waits|waiting|until|ensure|ensures|gate|gates|block|blocks|depends?\s+on)\b",
    re.IGNORECASE,
)
_OTHER_RUN = re.compile(
    r"\b(?:another|other|external|upstream|parent)\s+(?:\w+\s+){0,2}?(?:dag|workflow|pipeline)s?\b"
    r"|\b(?:dag|workflow)\s+(?:\S+\s+)?(?:to\s+|has\s+)?(?:complete|finish|succeed)"
    r"|\b(?:previous|prior|last)\s+(?:day|hour|week)'?s?\s+(?:\w+\s+){0,2}?"
    r"(?:run|runs|completion|execution|dag|workflow|pipeline)\b",
    re.IGNORECASE,
)
"""Another DAG's run, or an earlier run, in a step's title and objective."""
_DONE = re.compile(
    r"\b(?:complete[sd]?|completion|finish(?:es|ed)?|succeed(?:s|ed)?|success(?:ful(?:ly)?)?"
    r"|done|runs?)\b",
    re.IGNORECASE,
)
"""Words of a run that has completed."""
_SHORTHANDS = {604800: "weeks", 86400: "days", 3600: "hours", 60: "minutes", 1: "seconds"}


def stated_dag_ids(text: str) -> list[str]:
    """The DAG ids ``text`` writes out, in the order of :data:`_DAG_IDS`."""
    found = [match.group(1) for pattern in _DAG_IDS for match in pattern.finditer(text)]
    return list(dict.fromkeys(found))


def stated_task_ids(text: str) -> list[str]:
    """The task ids ``text`` writes out as the one to wait for."""
    found = [match.group(1) for pattern in _TASK_IDS for match in pattern.finditer(text)]
    return list(dict.fromkeys(found))


def stated_delta(text: str) -> list[int]:
    """How far back the awaited run is, in seconds: ``execution_delta=timedelta(…)``,
    else "the previous day" (hour, week)."""
    found = [
        sum(_UNITS[unit] * int(number) for unit, number in _DELTA_PART.findall(match.group(1)))
        for match in _DELTA.finditer(text)
    ]
    found += [seconds for seconds, pattern in _PREVIOUS.items() if pattern.search(text)]
    return [seconds for seconds in dict.fromkeys(found) if seconds > 0]


def timedelta_source(seconds: int) -> str:
    """``seconds`` as the Python an engineer writes: ``timedelta(days=1)``."""
    unit = next(size for size in _SHORTHANDS if seconds % size == 0)
    return f"timedelta({_SHORTHANDS[unit]}={seconds // unit})"


class ExternalTaskParameters(StrictParameters):
    """Wait for ``external_task_id`` (None: the whole run) of ``external_dag_id`` (None:
    the DAG ``config.yml`` names), at the logical date less ``execution_delta`` seconds."""

    external_dag_id: str | None = Field(default=None, pattern=DAG_ID)
    external_task_id: str | None = Field(default=None, pattern=DAG_ID)
    execution_delta: int | None = Field(default=None, ge=1)
    poke_interval: int = Field(default=60, ge=1)
    timeout: int | None = Field(default=None, ge=1)
    """Seconds to wait in all; None: the task's timeout."""

    _nulls = field_validator("*", mode="before")(none_as_null)


class ExternalTaskSensorPattern(OperatorPattern[ExternalTaskParameters]):
    """Another DAG's run, or one of its tasks, completed: ``ExternalTaskSensor``,
    deferrable."""

    name: ClassVar[str] = "external_task_sensor"
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "sensor"
    summary: ClassVar[str] = (
        "wait until another DAG's run (or one of its tasks, or the previous day's run) "
        "has completed"
    )
    cues: ClassVar[tuple[str, ...]] = ("dag", "external", "previous", "completion", "workflow")
    parameters: ClassVar[type[BaseModel]] = ExternalTaskParameters
    imports: ClassVar[tuple[str, ...]] = (
        "from airflow.providers.standard.sensors.external_task import ExternalTaskSensor",
    )
    requirements: ClassVar[tuple[str, ...]] = (STANDARD,)

    def applies(self, ctx: TaskContext) -> bool:
        """Words that name ``ExternalTaskSensor`` and no other operator (a step that
        names another one, its input's sensor say, is that operator's), or a title and
        objective that wait until another DAG's (or an earlier) run has completed."""
        text = ctx.task.description
        head = lead(text)
        cued = (_WAITING.search(head), _OTHER_RUN.search(head), _DONE.search(head))
        named = named_operators(text) - GENERIC_OPERATORS
        return named == {"ExternalTaskSensor"} or all(cued)

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        """Nothing to read."""
        return obj({})

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The DAG and task ids, the shift back in time, poke interval and timeout the
        words state; the DAG's own id for "this DAG" or its name."""
        text = ctx.task.description
        own = ctx.spec.name
        dags = [own if d.lower() == own else d for d in stated_dag_ids(text)]
        dags += [own] if _SELF.search(text) else []
        tasks = [t for t in stated_task_ids(text) if t not in dags]
        return obj(
            {
                "external_dag_id": enum(narrowed(ctx, dags, [NONE])),
                "external_task_id": enum(narrowed(ctx, tasks, [NONE])),
                "execution_delta": enum(stated_delta(text) or [NONE]),
                "poke_interval": enum(stated_seconds(text, POKE_INTERVAL) or [60]),
                "timeout": enum(stated_seconds(text, TIMEOUT) or [NONE]),
            }
        )

    def check(self, params: ExternalTaskParameters, ctx: TaskContext) -> Relation | None:
        """A DAG waiting for its own run looks back in time (else it waits for itself),
        for one of its own tasks."""
        if params.external_dag_id != ctx.spec.name:
            return None
        require(
            params.execution_delta is not None,
            f"{ctx.spec.name} would wait for its own run: an execution_delta is needed",
        )
        tasks = [task.name for task in ctx.spec.tasks or []]
        require(
            params.external_task_id is None or params.external_task_id in tasks,
            f"{ctx.spec.name} has no task {params.external_task_id!r} to wait for",
        )
        return None

    def settings(self, params: ExternalTaskParameters, task: TaskSpec) -> list[Setting]:
        """The DAG it waits for."""
        what = f"DAG id whose run {task.name} waits for"
        return [Setting("external_dag_id", "dag_id", what, params.external_dag_id)]

    def arguments(
        self, params: ExternalTaskParameters, spec: PipelineSpec, task: TaskSpec
    ) -> dict[str, Any]:
        """The shift back in time as Python, and how long it waits in all: the words'
        timeout, else the task's."""
        delta = params.execution_delta
        return {
            "execution_delta": timedelta_source(delta) if delta else None,
            "timeout": params.timeout or task.timeout,
        }

    def external(self, params: ExternalTaskParameters) -> str | None:
        """DAG runs are the deployment's: the smoke run has none to wait for."""
        return "waits for a DAG run of the deployment (another DAG's, or an earlier one)"
