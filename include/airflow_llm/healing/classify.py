"""What a task failure is, decided from the error's type and message alone.

Deterministic: exception class names (the whole MRO, so a driver's subclass of
``ProgrammingError`` or ``ConnectionError`` counts) and fixed message patterns, in a fixed
order. Nothing taken from an error is ever run, imported or installed: a module name is
read with a strict pattern and only ever written into a proposal for a person.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib.metadata import packages_distributions
from typing import Any

MISSING_MODULE, TRANSIENT, DATA_QUALITY = "missing_module", "transient", "data_quality"
SQL_ERROR, PYTHON_ERROR, UNKNOWN = "sql_error", "python_error", "unknown"
FIXABLE = (SQL_ERROR, PYTHON_ERROR)
"""Categories repaired by regenerating the task's artifact."""

_MODULE = re.compile(r"No module named '([A-Za-z_][A-Za-z0-9_]*)(?:\.[A-Za-z0-9_.]*)?'")
_TRANSIENT_TYPES = frozenset(
    {
        "TimeoutError",
        "ConnectionError",
        "AirflowTaskTimeout",
        "ReadTimeout",
        "ConnectTimeout",
        "ReadTimeoutError",
        "ConnectTimeoutError",
        "EndpointConnectionError",
        "ThrottlingException",
        "TooManyRequests",
    }
)
_TRANSIENT_MESSAGES = re.compile(
    r"timed? ?out|connection (?:refused|reset|aborted)|could not connect|"
    r"too many requests|\b429\b|throttl|rate.?limit|slow ?down|service unavailable|\b503\b|"
    r"temporarily unavailable|try again later",
    re.IGNORECASE,
)
_THROTTLING = re.compile(r"too many requests|\b429\b|throttl|rate.?limit|slow ?down", re.I)
_SQL_TYPES = frozenset({"DatabaseError", "ProgrammingError", "DataError", "IntegrityError"})
_SQL_SUFFIXES = ("BinderException", "CatalogException", "ParserException", "ConversionException")
_FAILED_EXPECTATIONS = re.compile(r"failed expectations?:\s*(.*)", re.IGNORECASE)
_EXPECTATION = re.compile(r"\bexpect_[a-z0-9_]+\b")
MESSAGE_LIMIT = 2000
"""Characters of an error message kept in an incident and a repair finding."""


@dataclass(frozen=True)
class Diagnosis:
    """What a failure is, whether regenerating its artifact can fix it, and what to do."""

    category: str
    auto_fixable: bool
    summary: str
    advice: list[str] = field(default_factory=list)
    requirement: str | None = None
    """The distribution to add to the image's ``requirements.txt`` (missing module)."""
    expectations: list[str] = field(default_factory=list)
    """The expectations that failed (data-quality failures)."""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "category": self.category,
            "auto_fixable": self.auto_fixable,
            "summary": self.summary,
            "advice": list(self.advice),
            "requirement": self.requirement,
            "expectations": list(self.expectations),
        }


def classify(
    error_types: list[str], message: str, kind: str | None, artifact: str | None
) -> Diagnosis:
    """The diagnosis of an error of class names ``error_types`` (the exception's MRO, most
    derived first) raised by a task of ``kind`` whose generated file is ``artifact``."""
    names = set(error_types)
    module = _MODULE.search(message)
    if "ModuleNotFoundError" in names or ("ImportError" in names and module):
        return _missing_module(module.group(1) if module else None)
    if names & _TRANSIENT_TYPES or _TRANSIENT_MESSAGES.search(message):
        return _transient(bool(_THROTTLING.search(message)))
    failed = _FAILED_EXPECTATIONS.search(message)
    if kind == "quality" or failed:
        found = _EXPECTATION.findall(failed.group(1) if failed else message)
        return _data_quality(sorted(set(found)))
    sql = names & _SQL_TYPES or any(name.endswith(_SQL_SUFFIXES) for name in names)
    if artifact is not None and artifact.endswith(".sql") and (kind == "sql" or sql):
        return Diagnosis(
            SQL_ERROR,
            True,
            f"the SQL of {artifact} failed in the warehouse",
            ["regenerate the artifact with the error as repair feedback, through every gate"],
        )
    if artifact is not None and artifact.endswith("_function.py"):
        return Diagnosis(
            PYTHON_ERROR,
            True,
            f"the function in {artifact} raised {error_types[0] if error_types else 'an error'}",
            ["regenerate the artifact with the error as repair feedback, through every gate"],
        )
    return Diagnosis(
        UNKNOWN,
        False,
        "the failure is not in a generated artifact",
        [
            "read the task's log; the incident has its tail",
            "operators, connections and settings come from the bundle's config.yml: check "
            "the environment's values there",
        ],
    )


def _missing_module(module: str | None) -> Diagnosis:
    if module is None:
        return Diagnosis(
            MISSING_MODULE, False, "an import failed", ["read the task's log for the module"]
        )
    distributions = packages_distributions().get(module, [])
    requirement = distributions[0] if distributions else module
    return Diagnosis(
        MISSING_MODULE,
        False,
        f"module {module!r} is not installed in the image",
        [
            f"add {requirement} to the image's requirements.txt (pinned) and rebuild the "
            "image; nothing is installed at run time",
            "if the module should not be needed, the spec's allowed_imports lists it: "
            "remove it there and regenerate",
        ],
        requirement=requirement,
    )


def _transient(throttled: bool) -> Diagnosis:
    advice = [
        "give the task retries with a retry_delay (the spec's task retries) so that a "
        "passing fault heals itself",
        "check the service's health: the task's code is not at fault",
    ]
    if throttled:
        advice.insert(0, "bound concurrent calls to the service with an Airflow pool")
    what = "the service throttled the task" if throttled else "a transient fault"
    return Diagnosis(TRANSIENT, False, what, advice)


def _data_quality(expectations: list[str]) -> Diagnosis:
    which = ", ".join(expectations) if expectations else "see the log"
    return Diagnosis(
        DATA_QUALITY,
        False,
        f"the data failed its expectations ({which})",
        [
            "the data, not the code, is at fault: look at the rows the upstream tasks wrote",
            "if the expectation is wrong, change the quality task's description in the "
            "spec and regenerate",
        ],
        expectations=expectations,
    )
