"""Deployment configuration files (YAML, validated with pydantic): price catalogs and the
like. A bad file is refused with every problem as ``FILE:LINE: field: message``."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from airflow_llm.yaml_lines import YamlDocumentError, parse_yaml

Model = TypeVar("Model", bound=BaseModel)


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message names the file, line and field."""


def load_config(path: Path, model: type[Model]) -> Model:
    """The YAML file at ``path`` as ``model``; raise :class:`ConfigError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{path}: {error.strerror or error}") from None
    try:
        document = parse_yaml(text)
    except YamlDocumentError as error:
        lines = "\n".join(f"{path}:{p.line}: {p.message}" for p in error.problems)
        raise ConfigError(lines) from None
    try:
        return model.model_validate(document.data, context={"config_file": path})
    except ValidationError as error:
        problems = []
        for problem in error.errors():
            loc = tuple(problem["loc"])
            field = ".".join(str(part) for part in loc) or "(top level)"
            problems.append(f"{path}:{document.line_of(loc)}: {field}: {problem['msg']}")
        raise ConfigError("\n".join(problems)) from None


def require_unique(names: Iterable[str], what: str) -> None:
    """Raise ValueError (a validation error of the field) when a name repeats."""
    seen: set[str] = set()
    repeated: set[str] = set()
    for name in names:
        (repeated if name in seen else seen).add(name)
    if repeated:
        raise ValueError(f"{what} must be unique; repeated: {', '.join(sorted(repeated))}")
