"""The operator and sensor classes Airflow's installed providers define.

A class the words name that none of them defines is an in-house one (say, a company's
``AcmeGraphQLOperator``): a generated bundle cannot import it. The classes are read from
the providers' ``operators``, ``sensors`` and ``transfers`` modules as text (found
without importing Airflow, which takes a second), once per process.
"""

from __future__ import annotations

import importlib.util
import os
import re
from functools import lru_cache
from pathlib import Path

_CLASS = re.compile(r"^class (\w+(?:Operator|Sensor))\b", re.MULTILINE)
_MODULE_FOLDERS = frozenset({"operators", "sensors", "transfers"})
_SKIPPED = frozenset({"__pycache__", "hooks", "triggers", "tests", "example_dags", "static"})


@lru_cache(maxsize=1)
def installed_operator_classes() -> frozenset[str]:
    """The names of the operator and sensor classes the installed providers define."""
    spec = importlib.util.find_spec("airflow")
    locations = (spec.submodule_search_locations if spec is not None else None) or []
    roots = [Path(root) / "providers" for root in locations]
    names: set[str] = set()
    for root in roots:
        for folder, subfolders, files in os.walk(root):
            subfolders[:] = [name for name in subfolders if name not in _SKIPPED]
            if Path(folder).name not in _MODULE_FOLDERS:
                continue
            for file in files:
                if file.endswith(".py"):
                    names.update(_CLASS.findall(Path(folder, file).read_text(errors="replace")))
    return frozenset(names)
