"""A branch whose words state no condition a pattern can test (``branch_func``, "based on
conditional logic"): ``branch_on_run_conf`` (``@task.branch``) takes the paths a manual
run's conf names under the branch's task id (``{"<task>": "<path>"}`` or a list of
paths), else its default paths, the first path the words list unless they call another
the default. A branch on the date, a table's numbers or a file's rows is the other
branch patterns': this one is a fallback, for words that leave the choice to whoever
runs it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from airflow_llm.patterns.base import StrictParameters, choices, narrowed, obj
from airflow_llm.patterns.common import require
from airflow_llm.patterns.context import Relation, TaskContext
from airflow_llm.patterns.control import STANDARD, stated_conditions
from airflow_llm.patterns.operators import OperatorPattern, Setting
from airflow_llm.spec import PipelineSpec, TaskSpec

_IDENTIFIER = re.compile(r"\b\w+_\w+\b")
"""``snake_case`` names (tasks', callables'): not words about a condition."""
_TESTED = re.compile(
    r"\b(?:threshold|exceeds?|exceeding|greater|less|more than|fewer|above|below|at least"
    r"|at most|equals?|count|rows?|records?|empty|exists?|missing|size|files?|tables?"
    r"|amount|score|status|flag)\b|[<>]=?|==",
    re.IGNORECASE,
)
"""Words of a condition on data or state, which another branch pattern (or free-form
code) tests."""
_DEFAULT = re.compile(r"\bdefault\b", re.IGNORECASE)


def untested_choice(text: str) -> bool:
    """Whether ``text`` leaves a branch's choice untested: it states no condition on the
    date and no words of a condition on data (task and callable names left out)."""
    prose = _IDENTIFIER.sub(" ", text)
    return not stated_conditions(text) and not _TESTED.search(prose)


class BranchOnRunConfParameters(StrictParameters):
    """Run the paths the run's conf names, else ``default``."""

    default: list[str] = Field(min_length=1)


class BranchOnRunConf(OperatorPattern[BranchOnRunConfParameters]):
    """A branch the person who runs the pipeline decides (the run's conf), with a
    default: ``@task.branch``."""

    name: ClassVar[str] = "branch_on_run_conf"
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "branch"
    summary: ClassVar[str] = (
        "choose the downstream tasks a manual run's conf names, else the default ones (a "
        "branch whose words state no condition to test)"
    )
    cues: ClassVar[tuple[str, ...]] = (
        "conditional logic", "callable", "branch function", "manual", "manually", "conf",
        "parameter", "selected", "chosen", "default", "path",
    )  # fmt: skip
    parameters: ClassVar[type[BaseModel]] = BranchOnRunConfParameters
    imports: ClassVar[tuple[str, ...]] = ("from airflow.sdk import get_current_context, task",)
    requirements: ClassVar[tuple[str, ...]] = (STANDARD,)
    fallback: ClassVar[bool] = True

    def applies(self, ctx: TaskContext) -> bool:
        """Two downstream tasks or more, and words that test nothing (see
        :func:`untested_choice`); offered only when no branch pattern that tests what
        the words state can serve the task."""
        return len(paths(ctx)) >= 2 and untested_choice(ctx.task.description)

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        """Nothing to read."""
        return obj({})

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The default paths: the ones whose words (or the branch's words about them) say
        default, else the first one listed; every path when repairing."""
        names = paths(ctx)
        said = [
            name
            for name in names
            if _called_default(ctx.task.description, name)
            or _DEFAULT.search(_task(ctx, name).description)
        ]
        offered = narrowed(ctx, said or names[:1], names)
        return obj({"default": choices(offered, 1, len(names) - 1)})

    def check(self, params: BranchOnRunConfParameters, ctx: TaskContext) -> Relation | None:
        """The default paths are downstream of the branch, and not all of them (a branch
        that always takes every path chooses nothing)."""
        names = paths(ctx)
        unknown = sorted(set(params.default) - set(names))
        require(not unknown, f"not downstream of {ctx.task.name}: {', '.join(unknown)}")
        require(set(params.default) != set(names), "default: every path (nothing to choose)")
        return None

    def settings(self, params: BranchOnRunConfParameters, task: TaskSpec) -> list[Setting]:
        """None."""
        return []

    def arguments(
        self, params: BranchOnRunConfParameters, spec: PipelineSpec, task: TaskSpec
    ) -> dict[str, Any]:
        """The paths a run's conf may name."""
        return {"paths": [t.name for t in spec.tasks or [] if task.name in t.depends_on]}


def paths(ctx: TaskContext) -> list[str]:
    """The tasks right after ``ctx``'s task (a branch chooses among them)."""
    return [t.name for t in ctx.spec.tasks or [] if ctx.task.name in t.depends_on]


def _task(ctx: TaskContext, name: str) -> TaskSpec:
    return next(t for t in ctx.spec.tasks or [] if t.name == name)


def _called_default(text: str, name: str) -> bool:
    """Whether ``text`` calls the path ``name`` the default ("by default to x", "x (the
    default)", "x is the default")."""
    path = re.escape(name)
    return bool(
        re.search(rf"\bdefault\s+(?:\w+\s+){{0,2}}?{path}\b", text, re.IGNORECASE)
        or re.search(rf"\b{path}\s*(?:\(|,|is)?\s*(?:the\s+|as\s+)?default\b", text, re.IGNORECASE)
    )
