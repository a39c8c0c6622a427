"""Docker Compose's variable interpolation, for checking a Compose file offline.

``docker compose config`` substitutes variables in every string value of the file
before it validates the result; :func:`interpolate` does the same with the variables of
an env file (:func:`read_env_file`), following the Compose Specification's
interpolation rules: ``$VAR`` and ``${VAR}``, ``${VAR:-default}`` (unset or empty) and
``${VAR-default}`` (unset), ``${VAR:+other}`` and ``${VAR+other}``, ``${VAR:?error}``
(unset or empty) and ``${VAR?error}`` (unset) fail, ``$$`` is a literal ``$``. Keys are
not interpolated; nested expressions (``${A:-${B}}``) are refused rather than guessed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

_NAME = r"[_a-zA-Z][_a-zA-Z0-9]*"
_TOKEN = re.compile(
    rf"\$(?:(?P<escaped>\$)|(?P<named>{_NAME})"
    rf"|\{{(?P<braced>{_NAME})(?:(?P<operator>:?[-+?])(?P<argument>[^{{}}$]*))?\}}"
    r"|(?P<invalid>))"
)


class InterpolationError(ValueError):
    """A variable that is required and unset, or an expression Compose would refuse."""


def read_env_file(path: Path) -> dict[str, str]:
    """The ``NAME=value`` lines of a Compose env file; blank lines and ``#`` comments
    are skipped, and a value in matching single or double quotes loses them."""
    variables: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        name, separator, value = stripped.partition("=")
        if not separator or not re.fullmatch(_NAME, name):
            raise InterpolationError(f"{path}:{number}: not a NAME=value line: {line!r}")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        variables[name] = value
    return variables


def interpolate(document: Any, variables: Mapping[str, str], where: str = "") -> Any:
    """``document`` with every string value interpolated from ``variables``; an error
    names the path of the value (``services.redis.command[2]``) after ``where``."""
    if isinstance(document, Mapping):
        return {
            key: interpolate(value, variables, f"{where}.{key}" if where else str(key))
            for key, value in document.items()
        }
    if isinstance(document, list):
        return [
            interpolate(value, variables, f"{where}[{index}]")
            for index, value in enumerate(document)
        ]
    if isinstance(document, str):
        return _substitute(document, variables, where)
    return document


def _substitute(text: str, variables: Mapping[str, str], where: str) -> str:
    """One string value, interpolated."""

    def replace(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        if match["named"]:
            return variables.get(match["named"], "")
        name = match["braced"]
        if name is None:
            raise InterpolationError(f"{where}: invalid interpolation format in {text!r}")
        operator, argument = match["operator"] or "", match["argument"]
        value = variables.get(name)
        present = bool(value) if operator.startswith(":") else value is not None
        if operator.endswith("-"):
            return (value or "") if present else argument
        if operator.endswith("+"):
            return argument if present else ""
        if operator.endswith("?") and not present:
            raise InterpolationError(f"{where}: required variable {name} is missing: {argument}")
        return value or ""

    return _TOKEN.sub(replace, text)
