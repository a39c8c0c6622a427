"""The ``graphql_call`` pattern: one GraphQL operation a step's words describe, POSTed by
the http provider's ``HttpOperator`` to the GraphQL endpoint of an ``http`` connection.

The document is compiled by the project (:mod:`airflow_llm.patterns.graphql_document`)
from what the words state (:mod:`airflow_llm.patterns.graphql_words`), never written by
the model: the operation and its field, the arguments (values the words state; values an
upstream GraphQL step answered, from its XCom; secrets, from Airflow Variables
``<pipeline>_<name>``, so that no password sits in the bundle), the selected fields and a
Bearer token (an upstream step's, else a Variable's). An answer with GraphQL ``errors``
fails the task; else the task returns the operation's object, for the steps after it.
A step naming an in-house GraphQL operator (``AcmeGraphQLOperator``), which a bundle
cannot import, is this pattern's (see ``OperatorPattern.fits_named_operators``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from airflow_llm.patterns.base import ParameterError, StrictParameters, enum, narrowed, obj
from airflow_llm.patterns.containers import secret_variable
from airflow_llm.patterns.context import Relation, TaskContext
from airflow_llm.patterns.graphql_document import (
    NAME,
    PATH,
    Operation,
    document,
    literal,
    request_body,
)
from airflow_llm.patterns.graphql_words import StatedCall, speaks_graphql, stated_call
from airflow_llm.patterns.http import ENDPOINT, HTTP, stated_endpoints
from airflow_llm.patterns.operators import OperatorPattern, Setting
from airflow_llm.spec import PipelineSpec, TaskSpec

GRAPHQL_ENDPOINT = "/graphql"
"""Where GraphQL APIs listen by convention, when the words state no endpoint."""
CONN_ID = r"^[A-Za-z_][A-Za-z0-9_.-]*$"
_UPSTREAM = re.compile(rf"^(\w+)\.({PATH[1:-1]})$")
Source = Literal["stated", "variable", "upstream"]


class GraphqlArgument(StrictParameters):
    """One argument (a variable of the document) and where its value comes from: the
    words (``value``), an Airflow Variable, or an upstream task's answer (``value`` is
    ``<task>.<path>``)."""

    name: str = Field(pattern=NAME)
    source: Source
    value: str = ""

    @model_validator(mode="after")
    def _value_fits_source(self) -> GraphqlArgument:
        if self.source == "upstream" and not _UPSTREAM.match(self.value):
            raise ValueError(
                f"{self.name}: an upstream value is <task>.<field>, not {self.value!r}"
            )
        if self.source == "variable" and self.value:
            raise ValueError(f"{self.name}: a secret's value is an Airflow Variable's, not stated")
        return self


class GraphqlCallParameters(StrictParameters):
    """Call ``field`` with ``arguments`` (one ``input`` object's fields when
    ``input_object``) as a query or mutation, selecting ``selection``, with the ``bearer``
    token if any, through connection ``connection`` (None: the environment's config)."""

    operation: Operation
    field: str = Field(pattern=NAME)
    arguments: list[GraphqlArgument] = Field(default_factory=list)
    input_object: bool = False
    selection: list[str] = Field(default_factory=list)
    bearer: GraphqlArgument | None = None
    connection: str | None = Field(default=None, pattern=CONN_ID, max_length=250)
    endpoint: str = Field(default=GRAPHQL_ENDPOINT, pattern=ENDPOINT)

    @field_validator("arguments")
    @classmethod
    def _distinct(cls, arguments: list[GraphqlArgument]) -> list[GraphqlArgument]:
        names = [argument.name for argument in arguments]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"arguments repeated: {', '.join(repeated)}")
        return arguments

    @field_validator("selection")
    @classmethod
    def _paths(cls, selection: list[str]) -> list[str]:
        bad = [path for path in selection if not re.match(PATH, path)]
        if bad:
            raise ValueError(f"not field paths: {', '.join(bad)}")
        return selection


def _upstream_calls(ctx: TaskContext) -> dict[str, StatedCall]:
    """The task's direct upstream tasks that speak GraphQL, with what their words say."""
    return {
        task.name: stated_call(task.name, task.description)
        for task in ctx.spec.tasks or []
        if task.name in ctx.task.depends_on and speaks_graphql(task.description)
    }


def _mentions(text: str, name: str) -> bool:
    """Whether ``text`` names ``name``, alone or as the end of an identifier
    (``customer_email`` names ``email``)."""
    return re.search(rf"\b(?:\w+_)?{re.escape(name)}\b", text, re.IGNORECASE) is not None


def planned_arguments(ctx: TaskContext, call: StatedCall) -> list[dict[str, str]]:
    """The arguments: the top-level fields upstream GraphQL steps answer that the words
    name (the token a Bearer header carries aside), then the values the words state,
    then the secrets they only name."""
    found: dict[str, dict[str, str]] = {}
    for task, upstream in _upstream_calls(ctx).items():
        for path in upstream.selection:
            if "." in path or not _mentions(ctx.task.description, path):
                continue
            if (call.bearer and "token" in path.lower()) or path in call.passed:
                continue
            found.setdefault(path, {"name": path, "source": "upstream", "value": f"{task}.{path}"})
    for name in call.passed:
        if name in call.secrets:
            found[name] = {"name": name, "source": "variable", "value": ""}
        else:
            found[name] = {"name": name, "source": "stated", "value": call.values[name]}
    return list(found.values())


def planned_bearer(ctx: TaskContext, call: StatedCall) -> dict[str, str] | None:
    """The Bearer token, when the words authenticate with one: the first token an upstream
    GraphQL step answers, else an Airflow Variable's."""
    if not call.bearer:
        return None
    for task, upstream in _upstream_calls(ctx).items():
        token = next((path for path in upstream.selection if "token" in path.lower()), None)
        if token is not None:
            return {"name": "token", "source": "upstream", "value": f"{task}.{token}"}
    return {"name": "token", "source": "variable", "value": ""}


def _pulled(value: str) -> str:
    """The Jinja expression of an upstream answer's field (``task.path``)."""
    task, _, path = value.partition(".")
    keys = "".join(f"[{part!r}]" for part in path.split("."))
    return f"ti.xcom_pull(task_ids={task!r}){keys}"


def _expression(argument: GraphqlArgument, pipeline: str) -> str:
    """What renders the argument's value at run time (a Jinja expression, no braces)."""
    if argument.source == "upstream":
        return _pulled(argument.value)
    return f"var.value.{secret_variable(pipeline, argument.name)}"


class GraphqlCall(OperatorPattern[GraphqlCallParameters]):
    """One GraphQL query or mutation (``HttpOperator``); its answer's object goes to XCom."""

    name: ClassVar[str] = "graphql_call"
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "python"
    summary: ClassVar[str] = "call a GraphQL API (a query or mutation) and keep its answer"
    cues: ClassVar[tuple[str, ...]] = ("graphql", "mutation")
    parameters: ClassVar[type[BaseModel]] = GraphqlCallParameters
    calls: ClassVar[tuple[str, str] | None] = ("http", "endpoint")
    imports: ClassVar[tuple[str, ...]] = (
        "from airflow.providers.http.operators.http import HttpOperator",
    )
    requirements: ClassVar[tuple[str, ...]] = (HTTP,)
    module_template: ClassVar[str | None] = "graphql_call_module.py.j2"

    def applies(self, ctx: TaskContext) -> bool:
        """Words that speak of GraphQL and give the operation's field."""
        text = ctx.task.description
        return speaks_graphql(text) and bool(stated_call(ctx.task.name, text).fields)

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        """Nothing to read from the warehouse."""
        return obj({})

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """What the words state (:func:`stated_call`), one value each; the field's other
        candidates and the other operation when repairing."""
        text = ctx.task.description
        call = stated_call(ctx.task.name, text)
        other: Operation = "query" if call.operation == "mutation" else "mutation"
        endpoints = stated_endpoints(text) or [GRAPHQL_ENDPOINT]
        return obj(
            {
                "operation": enum(narrowed(ctx, [call.operation], [other])),
                "field": enum(narrowed(ctx, call.fields[:1], call.fields)),
                "arguments": {"enum": [planned_arguments(ctx, call)]},
                "input_object": enum([call.operation == "mutation" and len(call.values) > 1]),
                "selection": {"enum": [call.selection]},
                "bearer": {"enum": [planned_bearer(ctx, call)]},
                "connection": {"enum": [call.connections[0] if call.connections else None]},
                "endpoint": enum(endpoints[:1]),
            }
        )

    def check(self, params: GraphqlCallParameters, ctx: TaskContext) -> Relation | None:
        """Upstream values come from the task's direct upstream tasks."""
        taken = [*params.arguments, *([params.bearer] if params.bearer else [])]
        problems = [
            f"arguments.{argument.name}: {argument.value.split('.')[0]} is not a task "
            f"{ctx.task.name} depends on"
            for argument in taken
            if argument.source == "upstream"
            and argument.value.split(".")[0] not in ctx.task.depends_on
        ]
        if problems:
            raise ParameterError(problems)
        return None

    def settings(self, params: GraphqlCallParameters, task: TaskSpec) -> list[Setting]:
        """The API's connection (the one the words name, if any) and its GraphQL endpoint."""
        what = f"HTTP connection (the GraphQL API's host) {task.name} calls"
        return [
            Setting("http_conn_id", "http_conn_id", what, params.connection),
            Setting("endpoint", "endpoint", f"GraphQL endpoint {task.name} calls", params.endpoint),
        ]

    def arguments(
        self, params: GraphqlCallParameters, spec: PipelineSpec, task: TaskSpec
    ) -> dict[str, Any]:
        """The request body (the compiled document, the variables' values or the Jinja
        expressions rendering them) and the Authorization header's template."""
        query = document(
            params.operation,
            params.field,
            [argument.name for argument in params.arguments],
            params.selection,
            params.input_object,
        )
        values = {
            argument.name: (
                literal(argument.value)
                if argument.source == "stated"
                else f"{{{{ {_expression(argument, spec.name)} | tojson }}}}"
            )
            for argument in params.arguments
        }
        bearer = params.bearer
        authorization = (
            f"Bearer {{{{ {_expression(bearer, spec.name)} }}}}" if bearer is not None else None
        )
        return {
            "document": query,
            "body": request_body(query, values),
            "authorization": authorization,
        }

    def variables(self, params: GraphqlCallParameters, pipeline: str) -> list[str]:
        """The Variables of its secrets and Bearer token."""
        taken = [*params.arguments, *([params.bearer] if params.bearer else [])]
        return [secret_variable(pipeline, a.name) for a in taken if a.source == "variable"]
