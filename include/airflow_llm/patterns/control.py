"""Control-flow patterns: tasks that do no work but shape the run. ``marker``
(``EmptyOperator``) stands for a start, end or synchronization point; ``branch_on_date``
(``@task.branch``) picks the downstream tasks that run by a condition on the logical
date (weekend, a day of the week, the first day of the month...)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, timedelta
from typing import Any, ClassVar, Literal, get_args

from pydantic import BaseModel, Field

from airflow_llm.patterns.base import StrictParameters, choices, enum, narrowed, obj
from airflow_llm.patterns.common import require
from airflow_llm.patterns.context import Relation, TaskContext
from airflow_llm.patterns.linking import words
from airflow_llm.patterns.operators import OperatorPattern, Setting
from airflow_llm.spec import PipelineSpec, TaskSpec

STANDARD = "apache-airflow-providers-standard==1.21.0"

_EMPTY = ("emptyoperator", "dummyoperator", "coordination only")
"""Words that say a task is an empty one (whatever its words say of its neighbours)."""
_NO_OP = ("no-op", "noop", "does nothing")
"""Words that say a task does nothing (unless other words say it does something)."""
_POINT = re.compile(
    r"\b(?:(?:start|starting|begin|beginning|end|ending|finish|completion|join|merge|"
    r"convergence|synchronization|sync)\s+(?:point|marker)"
    r"|marks?\s+(?:the\s+)?(?:\w+\s+)?(?:start|beginning|end|completion|finish)"
    r"|(?:start|beginning|end|completion|finish)\s+of\s+(?:the\s+)?(?:workflow|pipeline|dag|run|process)"
    r"|(?:workflow|pipeline|dag)\s+(?:starter|start|end|completion|complete|finished))\b"
)
"""Phrases that name a start, end or synchronization point."""
_OTHER_OPERATOR = re.compile(r"\b(?!Empty|Dummy)[A-Z][A-Za-z0-9]*(?:Operator|Sensor)\b")
_TRIGGERS_DAG = re.compile(r"\btrigger\w*\s+(?:the\s+|a\s+|another\s+)?(?:\w+\s+)?dag\b")
_IDENTIFIER = re.compile(r"\b\w+_\w+\b")
_LEAD = re.compile(r"(?:^|[.:;•(]|\s-)\s*(?:\d+\.\s*)?([a-z]+)")
"""The first word of each sentence, clause or item: the verb of an instruction."""
"""``snake_case`` names (the task's own, other tasks'): not words about work."""
_WORK = (
    "load", "extract", "transform", "compute", "calculate", "aggregate", "send", "email",
    "notify", "upload", "download", "export", "import", "copy", "write", "insert", "update",
    "delete", "validate", "check", "verify", "execute", "call", "fetch", "query", "train",
    "clean", "parse", "generate", "publish", "transfer", "sleep", "poll", "scan", "read",
    "save", "store", "archive", "compress", "refresh", "rebuild", "dedupe", "filter", "sort",
    "convert", "compare", "consolidate", "reconcile", "ingest", "index", "normalize", "enrich",
    "route", "emit", "sent", "wrote", "written",
)  # fmt: skip
"""Verbs of real work: a task whose words use one is not a marker."""


def _inflections(verb: str) -> set[str]:
    stem = verb[:-1] if verb.endswith("e") else verb
    forms = {verb, f"{verb}s", f"{verb}es", f"{stem}ed", f"{stem}ing", f"{verb}d"}
    if verb.endswith("y"):
        forms |= {f"{verb[:-1]}ies", f"{verb[:-1]}ied"}
    return forms


_WORK_FORMS = frozenset(form for verb in _WORK for form in _inflections(verb))


def is_marker(text: str) -> bool:
    """Whether ``text`` describes a task that does nothing: it names an empty operator
    (and no other) and no sentence of it starts with a verb of work; or it says it does
    nothing or names a start, end or synchronization point, and its prose has no verb
    of work at all (``snake_case`` names, other tasks', are left out)."""
    lowered = text.lower()
    if _OTHER_OPERATOR.search(text):
        return False
    prose = _IDENTIFIER.sub(" ", lowered)
    if any(cue in lowered for cue in _EMPTY):
        return not any(lead in _WORK_FORMS for lead in _LEAD.findall(prose))
    works = any(word in _WORK_FORMS for word in words(prose)) or _TRIGGERS_DAG.search(lowered)
    said = any(cue in lowered for cue in _NO_OP) or _POINT.search(lowered)
    return bool(said) and not works


class MarkerParameters(StrictParameters):
    """Nothing to decide: a marker does no work."""


class Marker(OperatorPattern[MarkerParameters]):
    """A start, end or synchronization point: ``EmptyOperator``."""

    name: ClassVar[str] = "marker"
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "python"
    summary: ClassVar[str] = "a start, end or synchronization point that does no work"
    cues: ClassVar[tuple[str, ...]] = (
        "start", "end", "begin", "finish", "complete", "synchronization point", "join",
        "marker", "starting", "starter", "initialize", "completion", "entry point", "terminal",
        *_EMPTY, *_NO_OP,
    )  # fmt: skip
    parameters: ClassVar[type[BaseModel]] = MarkerParameters
    imports: ClassVar[tuple[str, ...]] = (
        "from airflow.providers.standard.operators.empty import EmptyOperator",
    )
    requirements: ClassVar[tuple[str, ...]] = (STANDARD,)

    def applies(self, ctx: TaskContext) -> bool:
        """Words that say the task does nothing (see :func:`is_marker`)."""
        return is_marker(ctx.task.description)

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        """Nothing to read."""
        return obj({})

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """Nothing to decide."""
        return obj({})

    def settings(self, params: MarkerParameters, task: TaskSpec) -> list[Setting]:
        """None."""
        return []

    def arguments(
        self, params: MarkerParameters, spec: PipelineSpec, task: TaskSpec
    ) -> dict[str, Any]:
        """None: after a branch, the DAG file gives it (as every task there) the join's
        trigger rule."""
        return {}


Condition = Literal[
    "weekday", "weekend", "monday", "tuesday", "wednesday", "thursday", "friday",
    "saturday", "sunday", "first_day_of_month", "last_day_of_month",
    "first_day_of_quarter", "first_day_of_year",
]  # fmt: skip
CONDITIONS: tuple[str, ...] = get_args(Condition)
_DAYS = CONDITIONS[2:9]


def _on_weekday(number: int) -> Callable[[date], bool]:
    return lambda day: day.weekday() == number


TESTS: dict[str, str] = {
    "weekday": "day.weekday() < 5",
    "weekend": "day.weekday() >= 5",
    **{name: f"day.weekday() == {number}" for number, name in enumerate(_DAYS)},
    "first_day_of_month": "day.day == 1",
    "last_day_of_month": "(day + timedelta(days=1)).day == 1",
    "first_day_of_quarter": "day.day == 1 and day.month in (1, 4, 7, 10)",
    "first_day_of_year": "day.day == 1 and day.month == 1",
}
"""Each condition as a Python test of the logical date ``day`` in the DAG file."""
HOLDS: dict[str, Callable[[date], bool]] = {
    "weekday": lambda day: day.weekday() < 5,
    "weekend": lambda day: day.weekday() >= 5,
    **{name: _on_weekday(number) for number, name in enumerate(_DAYS)},
    "first_day_of_month": lambda day: day.day == 1,
    "last_day_of_month": lambda day: (day + timedelta(days=1)).day == 1,
    "first_day_of_quarter": lambda day: day.day == 1 and day.month in (1, 4, 7, 10),
    "first_day_of_year": lambda day: day.day == 1 and day.month == 1,
}
"""The same tests here (a unit test holds them equal to :data:`TESTS`)."""
_STATED: dict[str, re.Pattern[str]] = {
    "weekday": re.compile(r"\bweek\s?days?\b|\bbusiness days?\b|\bmonday to friday\b"),
    "weekend": re.compile(r"\bweekends?\b"),
    **{name: re.compile(rf"\b{name}s?\b") for name in _DAYS},
    "first_day_of_month": re.compile(
        r"\bfirst (?:day )?of (?:the|each|every) month\b"
        r"|\b(?:month start|start of (?:the )?month)\b"
    ),
    "last_day_of_month": re.compile(
        r"\blast (?:day )?of (?:the|each|every) month\b|\b(?:month end|end of (?:the )?month)\b"
    ),
    "first_day_of_quarter": re.compile(
        r"\bfirst (?:day )?of (?:the|each|every|a) quarter\b|\bquarter start\b"
    ),
    "first_day_of_year": re.compile(
        r"\bfirst (?:day )?of (?:the|each|every|a) year\b|\bjan(?:uary)? 1(?!\d)"
    ),
}
"""How words state each condition."""
_YEAR = [date(2024, 1, 1) + timedelta(days=n) for n in range(366)]


def stated_conditions(text: str) -> list[str]:
    """The conditions ``text`` states, in the order it states them first."""
    lowered = text.lower()
    found = [(m.start(), name) for name, p in _STATED.items() for m in [p.search(lowered)] if m]
    return [name for _, name in sorted(found)]


def _can_meet(condition: str, outcome: bool, stated: str) -> bool:
    """Whether some date on which ``condition`` is ``outcome`` meets ``stated``."""
    return any(HOLDS[condition](day) == outcome and HOLDS[stated](day) for day in _YEAR)


class BranchOnDateParameters(StrictParameters):
    """Run ``when_true`` when ``condition`` holds on the logical date, else the other
    downstream tasks (``otherwise``)."""

    condition: Condition
    when_true: list[str] = Field(min_length=1)
    otherwise: list[str] = Field(min_length=1)


class BranchOnDate(OperatorPattern[BranchOnDateParameters]):
    """A branch by the logical date: ``@task.branch`` returning the downstream task ids
    whose condition holds."""

    name: ClassVar[str] = "branch_on_date"
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "branch"
    summary: ClassVar[str] = (
        "choose the downstream tasks by the logical date (weekday or weekend, a day of "
        "the week, the first or last day of the month)"
    )
    cues: ClassVar[tuple[str, ...]] = (
        "day", "date", "week", "weekday", "weekend", "month", "quarter", "year", *_DAYS,
    )  # fmt: skip
    parameters: ClassVar[type[BaseModel]] = BranchOnDateParameters
    imports: ClassVar[tuple[str, ...]] = ("from airflow.sdk import get_current_context, task",)
    requirements: ClassVar[tuple[str, ...]] = (STANDARD,)

    def applies(self, ctx: TaskContext) -> bool:
        """Two downstream tasks or more to choose from, and words that state a condition
        on the date."""
        return len(_children(ctx)) >= 2 and bool(stated_conditions(ctx.task.description))

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        """Nothing to read."""
        return obj({})

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The condition (the ones the words state first), and the downstream tasks that
        run when it holds (the ones whose words state it first)."""
        stated = stated_conditions(ctx.task.description)
        children = _children(ctx)
        first = stated[0] if stated else None
        ranked = sorted(children, key=lambda t: first not in stated_conditions(t.description))
        names = [t.name for t in ranked]
        return obj(
            {
                "condition": enum(narrowed(ctx, stated, CONDITIONS)),
                "when_true": choices(names, 1, len(names) - 1),
            }
        )

    def complete(self, answer: Mapping[str, Any], ctx: TaskContext) -> dict[str, Any]:
        """``otherwise``: the downstream tasks not in ``when_true`` (when not answered)."""
        chosen = list(answer.get("when_true") or [])
        rest = [t.name for t in _children(ctx) if t.name not in chosen]
        return {"otherwise": rest, **answer}

    def check(self, params: BranchOnDateParameters, ctx: TaskContext) -> Relation | None:
        """Both lists name downstream tasks, together all of them, not the same ones; a
        task's own words may not contradict the side it is on (``saturday`` tasks when
        it is a weekday)."""
        children = {t.name: t for t in _children(ctx)}
        chosen = [*params.when_true, *params.otherwise]
        unknown = sorted(set(chosen) - set(children))
        require(not unknown, f"not downstream of {ctx.task.name}: {', '.join(unknown)}")
        missing = [name for name in children if name not in chosen]
        require(not missing, f"never chosen (would always be skipped): {', '.join(missing)}")
        require(set(params.when_true) != set(params.otherwise), "when_true equals otherwise")
        for outcome, names in ((True, params.when_true), (False, params.otherwise)):
            for name in names:
                stated = stated_conditions(children[name].description)
                require(
                    not stated or any(_can_meet(params.condition, outcome, s) for s in stated),
                    f"{name} runs on {' or '.join(stated)} by its words, but would run when "
                    f"{params.condition} is {str(outcome).lower()}",
                )
        return None

    def settings(self, params: BranchOnDateParameters, task: TaskSpec) -> list[Setting]:
        """None."""
        return []

    def arguments(
        self, params: BranchOnDateParameters, spec: PipelineSpec, task: TaskSpec
    ) -> dict[str, Any]:
        """The date test of the condition."""
        return {"test": TESTS[params.condition]}


def _children(ctx: TaskContext) -> list[TaskSpec]:
    """The tasks right after ``ctx``'s task (a branch chooses among them)."""
    return [t for t in ctx.downstream if ctx.task.name in t.depends_on]
