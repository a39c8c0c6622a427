"""Trigger patterns: tell the rest of the deployment that work is done, by triggering
another DAG (``trigger_dag``: ``TriggerDagRunOperator``) or by an event of an Asset that
DAGs may be scheduled on (``asset_event``: a task with the Asset as its outlet)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, Field, field_validator

from airflow_llm.patterns.base import StrictParameters, enum, narrowed, obj
from airflow_llm.patterns.common import NONE, none_as_null, relation_named, table_options
from airflow_llm.patterns.context import Relation, TaskContext
from airflow_llm.patterns.operators import OperatorPattern, Setting, lead, names_operator
from airflow_llm.spec import NAME_PATTERN, PipelineSpec, TaskSpec

STANDARD = "apache-airflow-providers-standard==1.21.0"
_TRIGGERING = re.compile(
    r"\b(?:trigger|triggers|triggering|kick off|kicks off|start|starts)\b(?:\W+\w+){0,6}?"
    r"\W+(?:dag|dags|pipeline|workflow)\b",
    re.IGNORECASE,
)


class TriggerParameters(StrictParameters):
    """Trigger a run of ``dag_id`` (None: the DAG id ``config.yml`` names)."""

    dag_id: str | None = Field(default=None, pattern=NAME_PATTERN)

    _nulls = field_validator("dag_id", mode="before")(none_as_null)


class TriggerDag(OperatorPattern[TriggerParameters]):
    """A run of another DAG, for the run's logical date (``TriggerDagRunOperator``)."""

    name: ClassVar[str] = "trigger_dag"
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "python"
    summary: ClassVar[str] = "trigger a run of another DAG of the deployment"
    cues: ClassVar[tuple[str, ...]] = ("trigger", "kick off")
    parameters: ClassVar[type[BaseModel]] = TriggerParameters
    imports: ClassVar[tuple[str, ...]] = (
        "from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator",
    )
    requirements: ClassVar[tuple[str, ...]] = (STANDARD,)

    def applies(self, ctx: TaskContext) -> bool:
        """A step whose point is another DAG's run: its words name
        ``TriggerDagRunOperator``, or its title and objective say to trigger (kick off)
        a DAG, pipeline or workflow. "Input: DAG trigger" is no such step."""
        text = ctx.task.description
        if names_operator(text, "TriggerDagRunOperator"):
            return True
        return super().applies(ctx) and bool(_TRIGGERING.search(lead(text)))

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        """Nothing to read."""
        return obj({})

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The DAG id the words write out (none of the pipeline's tasks or tables)."""
        taken = {task.name for task in ctx.spec.tasks or []} | {ctx.spec.name}
        taken |= {relation.short_name for relation in ctx.relations}
        stated = [name for name in ctx.text.identifiers() if name not in taken]
        return obj({"dag_id": enum(narrowed(ctx, stated, [NONE]))})

    def settings(self, params: TriggerParameters, task: TaskSpec) -> list[Setting]:
        """The DAG it triggers."""
        return [Setting("dag_id", "dag_id", f"DAG id {task.name} triggers", params.dag_id)]

    def arguments(
        self, params: TriggerParameters, spec: PipelineSpec, task: TaskSpec
    ) -> dict[str, Any]:
        """Nothing besides the settings."""
        return {}

    def external(self, params: TriggerParameters) -> str | None:
        """Another DAG's run is the deployment's: the smoke run does not start one."""
        return "triggers a run of another DAG of the deployment"


class AssetParameters(StrictParameters):
    """Emit an event of the Asset named after ``table``."""

    table: str


class AssetEvent(OperatorPattern[AssetParameters]):
    """An Asset event for a table the tasks before it wrote (a task with the Asset as its
    outlet): DAGs scheduled on that Asset run."""

    name: ClassVar[str] = "asset_event"
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "python"
    summary: ClassVar[str] = (
        "announce that a table is ready: an event of its Asset, which other DAGs may be "
        "scheduled on"
    )
    cues: ClassVar[tuple[str, ...]] = ("asset", "announce", "signal", "event", "ready")
    parameters: ClassVar[type[BaseModel]] = AssetParameters
    table_parameters: ClassVar[tuple[str, ...]] = ("table",)
    imports: ClassVar[tuple[str, ...]] = ("from airflow.sdk import Asset, task",)
    requirements: ClassVar[tuple[str, ...]] = ()

    def applies(self, ctx: TaskContext) -> bool:
        """A table to announce, and words that ask for an announcement."""
        return bool(ctx.relations) and super().applies(ctx)

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        """The table it announces."""
        return obj({"table": enum(table_options(ctx))})

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """Nothing else to decide."""
        return obj({})

    def check(self, params: AssetParameters, ctx: TaskContext) -> Relation | None:
        """The table must be one the task can read."""
        relation_named(ctx, params.table)
        return None

    def settings(self, params: AssetParameters, task: TaskSpec) -> list[Setting]:
        """None: an Asset's name is the same in every environment."""
        return []

    def arguments(
        self, params: AssetParameters, spec: PipelineSpec, task: TaskSpec
    ) -> dict[str, Any]:
        """Nothing besides the table."""
        return {}
