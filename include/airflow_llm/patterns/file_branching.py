"""Branching on a file: ``branch_on_file`` (``@task.branch``) reads the file an upstream
task wrote with DuckDB in memory and returns the downstream tasks whose condition on
its rows holds (:mod:`~airflow_llm.patterns.file_routes`: a column's value some row
holds, or a column compared with a number), else the ones that run otherwise: it
always returns at least one downstream task. The tasks after both paths run although
one was skipped (the DAG gives every task after a branch the join's trigger rule)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import sqlglot.expressions as exp
from pydantic import BaseModel, Field

from airflow_llm.patterns.base import StrictParameters, array, choices, enum, narrowed, obj
from airflow_llm.patterns.common import require
from airflow_llm.patterns.context import Relation, TaskContext
from airflow_llm.patterns.file_operations import Name, Use, identifier, is_number, reader
from airflow_llm.patterns.file_routes import (
    Route,
    children,
    joins,
    route_candidates,
    stated_routing,
)
from airflow_llm.patterns.file_steps import (
    FileFacts,
    FileInput,
    FilePattern,
    arguments_of,
    check_source,
    is_task,
)
from airflow_llm.patterns.file_words import FileFormat
from airflow_llm.patterns.operators import Setting
from airflow_llm.spec import NAME_PATTERN, PipelineSpec, TaskSpec


class BranchOnFileParameters(StrictParameters):
    """Read ``source``'s file (``input_format``); run the tasks of every route that holds
    over its rows, else ``otherwise``; and ``always`` in any case."""

    source: str = Field(pattern=NAME_PATTERN)
    input_format: FileFormat
    routes: list[Route] = Field(min_length=1, max_length=8)
    otherwise: list[Name] = Field(min_length=1)
    always: list[Name] = Field(default_factory=list)


class BranchOnFile(FilePattern[BranchOnFileParameters]):
    """A branch by the rows of an upstream task's file (DuckDB in ``@task.branch``)."""

    name: ClassVar[str] = "branch_on_file"
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "branch"
    summary: ClassVar[str] = (
        "choose the downstream tasks by the rows of the upstream task's file: the values "
        "of a column some row holds (one task per value), or a column compared with a "
        "number (in some row, every row, on average or in total)"
    )
    cues: ClassVar[tuple[str, ...]] = (
        "file", "csv", "json", "parquet", "row", "column", "value", "threshold", "score",
        "type", "based on", "route", "routing", "xcom",
    )  # fmt: skip
    parameters: ClassVar[type[BaseModel]] = BranchOnFileParameters
    imports: ClassVar[tuple[str, ...]] = ("from airflow.sdk import task",)
    writes_file: ClassVar[bool] = False

    def applies(self, ctx: TaskContext) -> bool:
        """An upstream file, words a file pattern may serve, and a condition on the file's
        rows that the words of the branch and of its downstream tasks state."""
        return FileFacts(ctx).usable and stated_routing(ctx) is not None

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        """The file it reads: the nearest upstream file (any upstream file when repairing)."""
        facts = FileFacts(ctx)
        options = [source for source in facts.source_options() if is_task(source)]
        return obj({"source": enum(narrowed(ctx, options[:1], options))})

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The routes the words state (all of them: nothing to ask), and the downstream
        tasks that run when none holds (the ones the words give no condition of)."""
        routing = stated_routing(ctx)
        routes = [route.model_dump() for route in routing.routes] if routing else []
        otherwise = list(routing.otherwise) if routing else []
        names = [task.name for task in children(ctx) if task.name not in joins(ctx)]
        offered = narrowed(ctx, otherwise, names)
        least = 1 if ctx.repairing else len(offered)
        return obj(
            {
                "routes": array({"enum": routes}, len(routes), len(routes)),
                "otherwise": choices(offered, least, len(offered)),
            }
        )

    def complete(self, answer: Mapping[str, Any], ctx: TaskContext) -> dict[str, Any]:
        """The format of the file it reads; the tasks after both it and its paths (they
        run in any case: nothing to ask)."""
        source = answer.get("source")
        found = FileFacts(ctx).input_format(str(source) if source is not None else None)
        return {"always": joins(ctx), **answer, "input_format": found}

    def check(self, params: BranchOnFileParameters, ctx: TaskContext) -> Relation | None:
        """An upstream task's file; routes of downstream tasks over columns the file's
        tasks name, compared as they can be (text only equal or not, an average or a
        total only with a number); every downstream task chosen somewhere."""
        check_source(FileFacts(ctx), params.source)
        require(is_task(params.source), f"{params.source!r} is no upstream task")
        after = [task.name for task in children(ctx)]
        chosen = [name for route in params.routes for name in route.tasks]
        named = chosen + params.otherwise + params.always
        unknown = sorted(set(named) - set(after))
        require(not unknown, f"not downstream of {ctx.task.name}: {', '.join(unknown)}")
        never = [name for name in after if name not in named]
        require(not never, f"never chosen (would always be skipped): {', '.join(never)}")
        columns = route_candidates(ctx).all
        for route in params.routes:
            require(route.column in columns, f"no column {route.column!r} named for the file")
            text = not is_number(route.value)
            require(
                not text or route.comparison in ("=", "!="),
                f"{route.column} {route.comparison} {route.value!r}: text is only = or !=",
            )
            require(not text or route.rows in ("any", "all"), f"no {route.rows} of text")
        return None

    def file_inputs(self, params: BranchOnFileParameters) -> list[FileInput]:
        """The upstream task's file."""
        return [FileInput(params.input_format, upstream=params.source)]

    def reads(self, params: BranchOnFileParameters) -> dict[str, Use]:
        """The routes' columns: numbers where compared with one, else text."""
        uses: dict[str, Use] = {}
        for route in params.routes:
            if is_number(route.value) or route.column not in uses:
                uses[route.column] = "number" if is_number(route.value) else "text"
        return uses

    def settings(self, params: BranchOnFileParameters, task: TaskSpec) -> list[Setting]:
        """None: the upstream task gives the file's path."""
        return []

    def arguments(
        self, params: BranchOnFileParameters, spec: PipelineSpec, task: TaskSpec
    ) -> dict[str, Any]:
        """The query (one flag per route), the routes' tasks and what it does, in a line."""
        flags = [
            exp.alias_(route.holds(), identifier(f"route_{n}"))
            for n, route in enumerate(params.routes, 1)
        ]
        query = exp.select(*flags).from_(reader(params.input_format, 1))
        summary = "; ".join(route.describe() for route in params.routes)
        summary = f"Run {summary}; else {', '.join(params.otherwise)}."
        if params.always:
            summary = f"{summary} Always {', '.join(params.always)}."
        found = arguments_of(self.file_inputs(params), query.sql(dialect="duckdb"), summary, task)
        return {**found, "routes": [route.tasks for route in params.routes]}
