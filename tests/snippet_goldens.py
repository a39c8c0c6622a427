"""What the pattern tests that render a bundle and run its tasks share: the bundle
written to a folder, a task's snippet of the DAG file checked against its golden, and
the DAG module imported (its tasks' callables run in the test's process).

After an intended change of a snippet, rewrite the goldens with
``AIRFLOW_LLM_UPDATE_GOLDENS=1``.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType


def write_bundle(root: Path, files: Mapping[str, str]) -> None:
    """Write the bundle's ``files`` (relative path -> content) under ``root``."""
    for relative, content in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(content)


def snippet(dag: str, task: str) -> str:
    """A python task's lines of the DAG file: its comment to the call that makes it."""
    start = dag.index(f"    # {task} (python)")
    return dag[start : dag.index(f"    {task} = _task_{task}(")]


def check_golden(found: str, golden: Path) -> None:
    """``found`` is the golden's text (rewritten first when updating goldens)."""
    if os.environ.get("AIRFLOW_LLM_UPDATE_GOLDENS") == "1":
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(found)
    assert found == golden.read_text(), f"{golden} differs (intended? rewrite the goldens)"


def dag_module(dag_file: Path, name: str) -> ModuleType:
    """The DAG file imported as module ``name``."""
    found = importlib.util.spec_from_file_location(name, dag_file)
    assert found is not None
    assert found.loader is not None
    module = importlib.util.module_from_spec(found)
    found.loader.exec_module(module)
    return module
