"""The figures README.md and the pages of docs/ state match the tree, where checking them
is cheap: fixture case counts, NL -> SQL question sets, the CLI's subcommands, the
Prompt2DAG reference counts, and the environment variables the code reads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from airflow_llm.cli import _parser
from airflow_llm.evaluation.reference import extract_reference
from airflow_llm.evaluation.sql_questions import QuestionSet
from airflow_llm.spec_loading import load_spec
from tests.unit.test_eval_corpus import DESCRIPTIONS, require_corpus
from tests.unit.test_policies import cases
from tests.unit.test_spec_fixtures import _cases

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCS = "\n".join(
    path.read_text()
    for path in [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").rglob("*.md"))]
)
"""README.md and every page of docs/, one after another."""
TEXT = " ".join(DOCS.split())
"""The docs with every run of whitespace (line breaks too) as one space."""


def stated(pattern: str) -> tuple[str, ...]:
    """The groups of the one place ``pattern`` matches the docs' text."""
    found = re.findall(pattern, TEXT)
    assert len(found) == 1, f"the docs state {pattern!r} {len(found)} times"
    return found[0] if isinstance(found[0], tuple) else (found[0],)


def test_policy_cases() -> None:
    (count,) = stated(r"\*\*Policies on generated code\*\* \((\d+) data-driven cases")
    run = sum(len(cases(name)) for name in ("python", "sql", "secrets"))
    assert int(count) == run


def test_bad_spec_cases() -> None:
    (count,) = stated(r"\*\*Bad specs\*\* \((\d+) cases in `tests/fixtures/specs/invalid/`")
    assert int(count) == len(_cases("invalid"))


def test_nl_to_sql_questions_per_set() -> None:
    sets = sorted((REPO_ROOT / "eval").glob("sql_accuracy*/questions.yml"))
    actual = {path.parent.name: len(QuestionSet.load(path.parent).questions) for path in sets}
    found = re.findall(r"`eval/(sql_accuracy\w*)/`[^0-9`]{0,12}(\d+) questions", TEXT)
    assert {name: int(count) for name, count in found} == actual
    assert len(found) == len(actual), "each set is stated once"


def test_cli_subcommands() -> None:
    row = next(
        line for line in DOCS.splitlines() if line.startswith("| `include/airflow_llm/cli.py` |")
    )
    listed = [name.removeprefix("airflow-llm ") for name in re.findall(r"`([^`]+)`", row)[1:]]
    actions = _parser()._subparsers._group_actions  # type: ignore[union-attr]
    assert sorted(listed) == sorted(actions[0].choices)


def test_prompt2dag_reference_counts() -> None:
    require_corpus()
    total, complete, tasks_only = stated(
        r"Of the (\d+) Prompt2DAG descriptions, (\d+) state a complete graph and (\d+) state "
        "tasks only"
    )
    references = [extract_reference(load_spec(path).description) for path in DESCRIPTIONS]
    assert int(total) == len(DESCRIPTIONS)
    assert int(complete) == sum(r is not None and r.edges is not None for r in references)
    assert int(tasks_only) == sum(r is not None and r.edges is None for r in references)


READ = re.compile(r"""(?:environ\.get|environ\[|getenv)\(?\s*["'](AIRFLOW_LLM_\w+)["']""")


@pytest.mark.parametrize(
    "name",
    sorted(
        {
            name
            for path in [*(REPO_ROOT / "include").rglob("*.py"), *(REPO_ROOT / "dags").glob("*.py")]
            for name in READ.findall(path.read_text())
        }
    ),
)
def test_every_variable_the_code_reads_is_named(name: str) -> None:
    assert f"`{name}" in DOCS
