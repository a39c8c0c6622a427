"""A step that validates the run's parameters (``validate_params``: ``@task``): the
parameters the words name ("the color parameter", "DAG parameters (color, region)",
``params.color``), read from the DAG's params and the run's conf. Each given value must
be one value (a string, number or boolean, not a list or an object) and, where the
words list the values allowed ("color must be one of blue, green"), one of them; when
the words say the parameters are required, a run without them fails. The values go to
XCom for the tasks after it. Where the words state no rule, the check is only that a
given value is a single value: what they leave unsaid is not invented.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from pydantic import BaseModel, Field, field_validator

from airflow_llm.patterns.base import StrictParameters, enum, narrowed, obj
from airflow_llm.patterns.common import require
from airflow_llm.patterns.context import Relation, TaskContext
from airflow_llm.patterns.control import STANDARD
from airflow_llm.patterns.operators import OperatorPattern, Setting
from airflow_llm.spec import PipelineSpec, TaskSpec

NAME = r"^[a-z_][a-z0-9_]{0,62}$"
VALUE = r"^[\w.:@/-]{1,100}$"
_PARAM = r"(?:param|params|parameter|parameters)"
_NAMED = [
    re.compile(rf"\bthe\s+([a-z_]\w*)\s+(?:run\s+|dag\s+)?{_PARAM}\b", re.IGNORECASE),
    re.compile(rf"\b{_PARAM}\s*\(\s*([a-z_]\w*(?:\s*,\s*[a-z_]\w*)*)\s*\)", re.IGNORECASE),
    re.compile(r"\bparams\.([a-z_]\w*)|\bparams\[['\"]([a-z_]\w*)['\"]\]", re.IGNORECASE),
    re.compile(rf"\b{_PARAM}\s*:\s*([a-z_]\w*(?:\s*,\s*[a-z_]\w*)*)", re.IGNORECASE),
]
_LABEL = re.compile(rf"\b(?:key|main|other)\s+{_PARAM}\s*:", re.IGNORECASE)
_NOT_NAMES = frozenset(
    {"dag", "run", "input", "key", "the", "a", "an", "each", "all", "this", "its", "other",
     "these", "those", "validation", "manual", "trigger", "job", "task", "pipeline", "same",
     "required", "optional", "default", "given", "following", "parameter", "parameters"}
)  # fmt: skip
_VALIDATES = re.compile(
    rf"\b(?:validat\w*|check\w*|verif\w*|ensur\w*)\b(?:[^.\n]|\.(?=\S)){{0,80}}?\b{_PARAM}\b"
    rf"|\b{_PARAM}\b(?:[^.\n]|\.(?=\S)){{0,80}}?\b(?:validat\w*|check\w*|verif\w*)",
    re.IGNORECASE,
)
_REQUIRED = re.compile(
    r"\b(?:required|mandatory|must be (?:set|given|provided|passed|present))\b", re.IGNORECASE
)
_ITEM = r"['\"`]?[\w.:@/-]+['\"`]?"
_ALLOWED = (
    rf"\b(?:one of|either|among|in)\s*[\[({{]?\s*"
    rf"((?:{_ITEM}\s*(?:,\s*(?:or\s+)?|\bor\b\s*|\|\s*))+{_ITEM})"
)


def _without_labels(text: str) -> str:
    """``text`` without its "Key Parameters:" labels (a list of a step's settings, not
    words about run parameters)."""
    return _LABEL.sub(" ", text)


def stated_parameters(text: str) -> list[str]:
    """The run parameters ``text`` names, in order."""
    found: list[str] = []
    for pattern in _NAMED:
        for match in pattern.finditer(_without_labels(text)):
            group = next(g for g in match.groups() if g)
            found += [name.strip().lower() for name in group.split(",")]
    return [n for n in dict.fromkeys(found) if re.match(NAME, n) and n not in _NOT_NAMES]


def stated_values(text: str, name: str, others: Sequence[str] = ()) -> list[str]:
    """The values ``text`` allows parameter ``name`` ("color must be one of blue, green");
    none where another of the parameters ``others`` stands between the name and them."""
    gap = r"((?:[^.\n]){0,40}?)"
    phrase = re.compile(rf"{re.escape(name)}\b{gap}{_ALLOWED}", re.IGNORECASE)
    starts = [m.start() for m in re.finditer(rf"\b{re.escape(name)}\b", text, re.IGNORECASE)]
    found = [m for m in (phrase.match(text, start) for start in starts) if m]
    between = [m for m in found if not any(re.search(rf"\b{o}\b", m.group(1)) for o in others)]
    if not between:
        return []
    values = re.split(r"\s*(?:,|\bor\b|\|)\s*", between[0].group(2))
    cleaned = [value.strip("'\"` ").rstrip(".,;:") for value in values]
    return [value for value in dict.fromkeys(cleaned) if re.match(VALUE, value)]


class ValidateParamsParameters(StrictParameters):
    """Check the run's parameters ``names``: given ones are single values, among
    ``allowed`` (a parameter's values, where stated); missing ones fail when
    ``required``."""

    names: list[str] = Field(min_length=1, max_length=20)
    allowed: dict[str, list[str]] = Field(default_factory=dict)
    required: bool = False

    @field_validator("names")
    @classmethod
    def _names(cls, names: list[str]) -> list[str]:
        bad = [name for name in names if not re.match(NAME, name)]
        if bad:
            raise ValueError(f"not parameter names: {', '.join(bad)}")
        return names

    @field_validator("allowed")
    @classmethod
    def _allowed(cls, allowed: dict[str, list[str]]) -> dict[str, list[str]]:
        bad = [v for values in allowed.values() for v in values if not re.match(VALUE, v)]
        if bad or not all(allowed.values()):
            raise ValueError(f"not plain values: {bad or 'an empty list'}")
        return allowed


class ValidateParams(OperatorPattern[ValidateParamsParameters]):
    """The run's parameters checked before the rest runs (``@task``)."""

    name: ClassVar[str] = "validate_params"
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "python"
    summary: ClassVar[str] = (
        "check the run's parameters the words name (single values, the values allowed, "
        "required ones) and pass them on"
    )
    cues: ClassVar[tuple[str, ...]] = ("parameter", "parameters", "params", "param", "conf")
    parameters: ClassVar[type[BaseModel]] = ValidateParamsParameters
    imports: ClassVar[tuple[str, ...]] = ("from airflow.sdk import get_current_context, task",)
    requirements: ClassVar[tuple[str, ...]] = (STANDARD,)

    def applies(self, ctx: TaskContext) -> bool:
        """Words that validate parameters and name them."""
        text = ctx.task.description
        return bool(_VALIDATES.search(_without_labels(text))) and bool(stated_parameters(text))

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        """Nothing to read."""
        return obj({})

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The parameters, their allowed values and whether they are required: all the
        words' (nothing to ask)."""
        text = ctx.task.description
        names = stated_parameters(text)
        allowed = {name: stated_values(text, name, names) for name in names}
        required = bool(_REQUIRED.search(text))
        return obj(
            {
                "names": {"enum": [names]},
                "allowed": {"enum": [{n: v for n, v in allowed.items() if v}]},
                "required": enum(narrowed(ctx, [required], [required, not required])),
            }
        )

    def check(self, params: ValidateParamsParameters, ctx: TaskContext) -> Relation | None:
        """Allowed values only for the parameters it checks."""
        unknown = sorted(set(params.allowed) - set(params.names))
        require(not unknown, f"allowed: values of parameters not checked: {', '.join(unknown)}")
        return None

    def settings(self, params: ValidateParamsParameters, task: TaskSpec) -> list[Setting]:
        """None."""
        return []

    def arguments(
        self, params: ValidateParamsParameters, spec: PipelineSpec, task: TaskSpec
    ) -> dict[str, Any]:
        """What its docstring says it checks."""
        rules = [f"{n} one of {', '.join(v)}" for n, v in params.allowed.items()]
        required = "required" if params.required else "optional"
        checks = "; ".join([f"{', '.join(params.names)} {required}, single values", *rules])
        return {"summary": f"Check the run's parameters ({checks}); returns their values."}
