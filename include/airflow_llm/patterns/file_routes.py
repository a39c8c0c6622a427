"""What a branch over a file decides by, as words state it: conditions on the rows of
the file it reads (:class:`Route`), each choosing downstream tasks, and the tasks that
run when none holds.

Words state them in one of two ways:

- a comparison of a column with a number or a value ("risk_score > 0.8", "amount
  above 1000"): it chooses the downstream tasks whose own words agree with it (the same
  comparison, its value, or words of its direction: "high-risk" for ``>``); the others
  run otherwise. It holds when some row compares so, unless the words speak of every
  row, the average or the total;
- values of a column the branch's words name ("based on account type (international
  vs domestic)"), one per downstream task: a word the branch's words and that task's
  words share and no other downstream task's words have ("process international
  accounts"). A task runs when some row holds its value; when no row holds any, the
  tasks no value names run (else the last one: the "else" of the branch).

A task right after the branch that also runs after another of them (a merge that
depends on the branch and on its paths) runs whatever the rows.

The column is one the file's tasks name: the branch's words, the known columns of the
file, or the columns its writer's words write out (``headers (id, account_type)``).
The tasks on a path read the same file: :func:`path_filters` are the rows a path's
condition keeps (for a task that runs otherwise, the rows no other condition keeps).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import sqlglot.expressions as exp
from pydantic import Field

from airflow_llm.patterns.base import StrictParameters
from airflow_llm.patterns.context import TaskContext, context_for
from airflow_llm.patterns.file_cues import Candidates, stated_filters
from airflow_llm.patterns.file_operations import (
    Comparison,
    FilterRows,
    Name,
    Value,
    as_number,
    compare,
    compared,
    is_number,
)
from airflow_llm.patterns.file_steps import FileFacts, own_words
from airflow_llm.patterns.file_words import clauses, column_names
from airflow_llm.patterns.linking import Text, name_words, stem
from airflow_llm.spec import TaskSpec, reachable

Rows = Literal["any", "all", "avg", "sum"]
"""Over which rows a route's comparison holds: some row, every row, their average or
their total."""
NEGATED: dict[Comparison, Comparison] = {
    "=": "!=", "!=": "=", ">": "<=", ">=": "<", "<": ">=", "<=": ">",
}  # fmt: skip
_ROWS: dict[Rows, re.Pattern[str]] = {
    "avg": re.compile(r"\b(?:average|mean|avg)\b", re.IGNORECASE),
    "sum": re.compile(r"\b(?:total|sum)\b", re.IGNORECASE),
    "all": re.compile(
        r"\b(?:all|every|each)\s+(?:\w+\s+)?(?:rows?|records?|lines?|entries)\b", re.IGNORECASE
    ),
}
_UP = re.compile(
    r"\b(?:high\w*|above|over|exceed\w*|greater|larger?|big+\w*|maximum|top|upper)\b", re.I
)
_DOWN = re.compile(r"\b(?:low\w*|below|under|less|small\w*|minimum|bottom)\b", re.I)
_DIRECTIONS: dict[str, str] = {">": "up", ">=": "up", "<": "down", "<=": "down"}
_WORD = re.compile(r"(?<![\w-])[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*(?![\w-])")
"""A word (not a ``snake_case`` name: names are no values)."""
_NOT_VALUES = frozenset(
    {
        "the", "and", "for", "from", "with", "into", "based", "then", "else", "when",
        "only", "each", "all", "any", "via", "through", "task", "path", "route", "routing",
        "routed", "branch", "process", "processing", "data", "file", "row", "record",
        "value", "column", "type", "input", "output", "note", "objective", "detail",
        "technical", "operator", "mechanism", "integration", "parameter", "key", "xcom",
        "system", "step", "report", "result", "run", "runs",
    }
)  # fmt: skip
"""Words that are never a column's value (stems)."""
_NEAR = 3
"""How many words apart two values of a list may be ("international vs domestic")."""


class Route(StrictParameters):
    """Run ``tasks`` when ``column`` compares so with ``value`` in some row of the file
    (``any``), in every row (``all``), or by its average (``avg``) or total (``sum``)."""

    tasks: list[Name] = Field(min_length=1)
    column: Name
    rows: Rows = "any"
    comparison: Comparison
    value: Value

    def holds(self) -> exp.Expr:
        """Whether it holds over the file's rows, as one SQL value (false, never NULL,
        when no row has a value)."""
        if self.rows in ("avg", "sum"):
            measure = exp.Avg if self.rows == "avg" else exp.Sum
            verdict = compare(measure(this=as_number(self.column)), self.comparison, self.value)
        else:
            each = compared(self.column, self.comparison, self.value)
            verdict = exp.LogicalOr(this=each) if self.rows == "any" else exp.LogicalAnd(this=each)
        return exp.Coalesce(this=verdict, expressions=[exp.false()])

    def row_filter(self) -> FilterRows | None:
        """The rows of its path: those that compare so (None for an average or a total:
        the path takes every row)."""
        if self.rows in ("avg", "sum"):
            return None
        return FilterRows(column=self.column, comparison=self.comparison, value=self.value)

    def describe(self) -> str:
        """In words: ``route_x when some row's account_type = 'international'``."""
        rows = {"any": "some row's", "all": "every row's", "avg": "the average", "sum": "the total"}
        value = repr(self.value) if isinstance(self.value, str) else str(self.value)
        condition = f"{rows[self.rows]} {self.column} {self.comparison} {value}"
        return f"{', '.join(self.tasks)} when {condition}"


@dataclass(frozen=True)
class Routing:
    """The routes a branch's words state, the tasks that run when none holds, and the
    ones that run whatever the rows (:func:`joins`)."""

    routes: tuple[Route, ...]
    otherwise: tuple[str, ...]
    always: tuple[str, ...] = ()


def children(ctx: TaskContext) -> list[TaskSpec]:
    """The tasks right after ``ctx``'s task (a branch chooses among them)."""
    return [task for task in ctx.downstream if ctx.task.name in task.depends_on]


def joins(ctx: TaskContext) -> list[str]:
    """The tasks right after a branch that also run after another of them (a merge
    that depends on the branch and on its paths): no path of their own, they run
    whichever paths run (skipped, they would skip what comes after them)."""
    after = children(ctx)
    graph = {task.name: list(task.depends_on) for task in ctx.spec.tasks or []}
    others = {task.name for task in after}
    return [task.name for task in after if reachable(task.name, graph) & (others - {task.name})]


def route_candidates(ctx: TaskContext) -> Candidates:
    """The columns a branch over a file may test: the ones its words name, the known
    columns of the nearest upstream file, and the columns that the words of the tasks
    writing the upstream files write out (a file's columns pass from one file task to
    the next: ``headers (id, account_type)`` of the first)."""
    facts = FileFacts(ctx)
    writers = [relation.produced_by for relation in facts.upstream if relation.produced_by]
    found = facts.candidates(writers)
    tasks = {task.name: task for task in ctx.spec.tasks or []}
    stated = [
        name
        for relation in ctx.files
        if relation.produced_by in tasks
        for name in column_names(tasks[relation.produced_by].description, list(tasks))[0]
    ]
    return Candidates(found.named, [*found.known, *stated], found.common)


def stated_routing(ctx: TaskContext) -> Routing | None:
    """The routing a branch task's words and its downstream tasks' words state over the
    nearest upstream file, or None: no file, fewer than two downstream tasks, or words
    that state no condition on its rows (see the module's docstring)."""
    always = joins(ctx)
    paths = [task for task in children(ctx) if task.name not in always]
    if len(paths) < 2 or not FileFacts(ctx).upstream:
        return None
    candidates = route_candidates(ctx)
    words = FileFacts(ctx).own_words
    found = stated_filters(words, candidates)
    if found:
        routing = _compared(ctx, found[0], _rows(words, found[0]), paths, candidates)
    else:
        routing = _by_values(ctx, paths, candidates)
    return Routing(routing.routes, routing.otherwise, tuple(always)) if routing else None


def _rows(words: str, condition: FilterRows) -> Rows:
    """Over which rows the words compare: the clause's that states the comparison."""
    value = str(condition.value)
    clause = next((c for c in clauses(words) if condition.column in c and value in c), words)
    return next((rows for rows, cue in _ROWS.items() if cue.search(clause)), "any")


def _compared(
    ctx: TaskContext,
    condition: FilterRows,
    rows: Rows,
    after: Sequence[TaskSpec],
    candidates: Candidates,
) -> Routing | None:
    """One route, the comparison's: the downstream tasks whose words agree with it
    (else the one the branch's words name first of those whose words say nothing of
    it)."""
    sides = {task.name: _side(own_words(ctx.spec, task), condition, candidates) for task in after}
    chosen = [name for name, side in sides.items() if side is True]
    if not chosen:
        silent = [name for name, side in sides.items() if side is None]
        chosen = _first_named(ctx.task.description, silent)
    otherwise = tuple(task.name for task in after if task.name not in chosen)
    if not chosen or not otherwise:
        return None
    route = Route(
        tasks=chosen,
        column=condition.column,
        rows=rows,
        comparison=condition.comparison,
        value=condition.value,
    )
    return Routing((route,), otherwise)


def _first_named(text: str, names: Sequence[str]) -> list[str]:
    """The one of ``names`` that ``text`` names first (a word of it), if any."""
    lowered = text.lower()
    found = [
        (match.start(), name)
        for name in names
        for word in {name, *name_words(name)}
        if (match := re.search(rf"\b{re.escape(word)}", lowered))
    ]
    return [min(found)[1]] if found else []


def _side(words: str, condition: FilterRows, candidates: Candidates) -> bool | None:
    """Whether a downstream task's words put it where ``condition`` holds (True), where
    it does not (False), or say nothing of it (None): a comparison of the same column,
    the value itself (a text), else words of the comparison's direction."""
    stated = [f for f in stated_filters(words, candidates) if f.column == condition.column]
    if stated:
        direction = _DIRECTIONS.get(stated[0].comparison)
        if direction is not None and direction == _DIRECTIONS.get(condition.comparison):
            return True
        return stated[0].comparison == condition.comparison and stated[0].value == condition.value
    if not is_number(condition.value):
        named = str(condition.value).lower() in {w.lower() for w in _WORD.findall(words)}
        return (condition.comparison == "=") == named if named else None
    up, down = bool(_UP.search(words)), bool(_DOWN.search(words))
    if up == down:
        return None
    return _DIRECTIONS.get(condition.comparison) == ("up" if up else "down")


def _by_values(
    ctx: TaskContext, after: Sequence[TaskSpec], candidates: Candidates
) -> Routing | None:
    """One route per downstream task whose words name a value of the column the
    branch's words name."""
    words = FileFacts(ctx).own_words
    column = _value_column(words, candidates)
    if column is None:
        return None
    values = _values(words, [own_words(ctx.spec, task) for task in after], name_words(column))
    routes = tuple(
        Route(tasks=[task.name], column=column, comparison="=", value=value)
        for task, value in zip(after, values, strict=True)
        if value is not None
    )
    if not routes:
        return None
    unvalued = [task.name for task, value in zip(after, values, strict=True) if value is None]
    return Routing(routes, tuple(unvalued or [routes[-1].tasks[0]]))


def _value_column(words: str, candidates: Candidates) -> str | None:
    """The column whose values the words route by: every word of its name in the words
    (the most words first); no key column (an id is no category)."""
    text = Text(words)
    names = [
        name
        for name in candidates.all
        if text.mentions(name) >= 2 and not re.search(r"(?:^|_)(?:id|key)$", name, re.I)
    ]
    ranked = sorted(names, key=lambda name: (-text.mentions(name), -len(name_words(name))))
    return ranked[0] if ranked else None


def _values(branch: str, others: Sequence[str], column_words: Sequence[str]) -> list[str | None]:
    """Per downstream task (``others``: their words), the value its words name: a word
    of the branch's words that its words have and no other task's; the words the
    branch lists together (a few words apart) first, else a task's only such word."""
    tokens = [(m.group(), stem(m.group())) for m in _WORD.finditer(branch)]
    stems = [{stem(w) for w in _WORD.findall(words)} for words in others]
    skip = _NOT_VALUES | set(column_words)
    found: list[list[int]] = []
    for position, own in enumerate(stems):
        rest = set().union(*(s for n, s in enumerate(stems) if n != position))
        found.append(
            [
                at
                for at, (word, root) in enumerate(tokens)
                if root in own and root not in rest and root not in skip and len(word) > 2
            ]
        )
    listed = [
        [at for at in mine if any(_near(at, theirs) for n, theirs in enumerate(found) if n != own)]
        for own, mine in enumerate(found)
    ]
    if any(listed):
        return [tokens[mine[0]][0] if mine else None for mine in listed]
    return [
        tokens[mine[0]][0] if len({tokens[a][1] for a in mine}) == 1 else None for mine in found
    ]


def _near(position: int, others: Sequence[int]) -> bool:
    """Whether a word is a few words from one of ``others`` (listed with it)."""
    return any(abs(position - other) <= _NEAR for other in others)


def path_filters(ctx: TaskContext) -> list[FilterRows]:
    """The rows a task right after a branch over a file keeps by the branch's words: its
    route's (one route of some or every row); for a task that runs otherwise, the rows
    none of the routes keeps. None when it follows no such branch."""
    tasks = {task.name: task for task in ctx.spec.tasks or []}
    files = {relation.produced_by: relation for relation in ctx.files if relation.produced_by}
    for name in ctx.task.depends_on:
        branch = tasks.get(name)
        if branch is None or branch.kind != "branch":
            continue
        routing = stated_routing(context_for(ctx.spec, branch, files))
        if routing is None or ctx.task.name in routing.always:
            continue
        mine = [route for route in routing.routes if ctx.task.name in route.tasks]
        if mine:
            kept = mine[0].row_filter() if len(mine) == 1 else None
            return [kept] if kept is not None else []
        if ctx.task.name in routing.otherwise:
            return [
                FilterRows(
                    column=kept.column, comparison=NEGATED[kept.comparison], value=kept.value
                )
                for route in routing.routes
                if (kept := route.row_filter()) is not None
            ]
    return []
