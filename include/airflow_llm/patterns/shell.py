"""Shell patterns: a step run as a shell command (``bash_command``: the standard
provider's ``BashOperator``), when its words name ``BashOperator`` or a shell command.

The command is the one the words write out (``bash_command='…'``, or a command in
backticks after "run", "runs" or "command"); otherwise ``config.yml`` holds a
placeholder per environment that ``airflow-llm validate`` lists and promotion refuses,
since no model writes shell for a deployment. The smoke run does not run it: what a
command needs (tools, hosts, files) lives on the deployment's workers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, Field, field_validator

from airflow_llm.patterns.base import StrictParameters, enum, narrowed, obj
from airflow_llm.patterns.common import NONE, none_as_null
from airflow_llm.patterns.context import TaskContext
from airflow_llm.patterns.control import STANDARD
from airflow_llm.patterns.operators import OperatorPattern, Setting, names_operator
from airflow_llm.spec import PipelineSpec, TaskSpec

COMMAND = r"^[^\n\r]{1,500}$"
"""One line of shell."""
_STATED = [
    re.compile(r"\bbash_command\s*=\s*(['\"])(.+?)\1"),
    re.compile(r"\b(?:run|runs|running|execute|executes|command|script)\W{0,3}`([^`\n]+)`", re.I),
]
_SHELL = re.compile(r"\b(?:bash|shell)\s+(?:command|script)s?\b", re.IGNORECASE)


def stated_commands(text: str) -> list[str]:
    """The shell commands ``text`` writes out, in order."""
    found = []
    for pattern in _STATED:
        found += [match.groups()[-1].strip() for match in pattern.finditer(text)]
    return [command for command in dict.fromkeys(found) if re.match(COMMAND, command)]


class BashParameters(StrictParameters):
    """Run ``command`` (None: the one ``config.yml`` gives)."""

    command: str | None = Field(default=None, pattern=COMMAND)

    _nulls = field_validator("command", mode="before")(none_as_null)


class BashCommand(OperatorPattern[BashParameters]):
    """A shell command (``BashOperator``)."""

    name: ClassVar[str] = "bash_command"
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "python"
    summary: ClassVar[str] = "run a shell command on the worker (BashOperator)"
    cues: ClassVar[tuple[str, ...]] = ("bash", "shell", "command", "script")
    parameters: ClassVar[type[BaseModel]] = BashParameters
    runs_code: ClassVar[bool] = True
    imports: ClassVar[tuple[str, ...]] = (
        "from airflow.providers.standard.operators.bash import BashOperator",
    )
    requirements: ClassVar[tuple[str, ...]] = (STANDARD,)

    def applies(self, ctx: TaskContext) -> bool:
        """Words that name ``BashOperator`` or a bash or shell command or script."""
        text = ctx.task.description
        return names_operator(text, "BashOperator") or bool(_SHELL.search(text))

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        """Nothing to read from the warehouse."""
        return obj({})

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The command the words write out, else the environment's config."""
        stated = stated_commands(ctx.task.description)
        return obj({"command": enum(narrowed(ctx, stated, [NONE]))})

    def settings(self, params: BashParameters, task: TaskSpec) -> list[Setting]:
        """The command."""
        return [
            Setting("bash_command", "command", f"shell command {task.name} runs", params.command)
        ]

    def arguments(
        self, params: BashParameters, spec: PipelineSpec, task: TaskSpec
    ) -> dict[str, Any]:
        """Nothing besides the settings."""
        return {}

    def external(self, params: BashParameters) -> str | None:
        """What a command needs lives on the deployment's workers."""
        return "runs a shell command whose tools live on the deployment's workers"
