"""`airflow-llm generate / plan / validate` as a user runs them, against a scripted
OpenAI-compatible endpoint served over HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.scripted_endpoint import ScriptedModel
from tests.unit.test_cli import airflow_llm
from tests.unit.test_engine import GOOD, PLAN

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def served() -> Iterator[tuple[ScriptedModel, str]]:
    script = ScriptedModel(dict(GOOD))
    with script.serve() as base_url:
        yield script, base_url


def run_cli(base_url: str, work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "AIRFLOW_LLM_BASE_URL": base_url,
        "AIRFLOW_LLM_MODEL": "scripted",
        "AIRFLOW_LLM_WORK_DIR": str(work),
    }
    return airflow_llm(*args, env=env)


def test_generate_from_a_description_writes_the_seed_layout(
    served: tuple[ScriptedModel, str], tmp_path: Path
) -> None:
    script, base_url = served
    out = tmp_path / "out"
    result = run_cli(
        base_url,
        tmp_path / "work",
        "generate",
        "Copy order ids into totals.",
        "--name",
        "totals",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (out / "dags" / "totals.py").is_file()
    assert (out / "dags" / "resources" / "totals" / "build_totals.sql").is_file()
    assert (out / "manifest.json").is_file()
    assert f"valid bundle: {out / 'dags' / 'totals.py'}" in result.stdout
    assert "build_totals  sql" in result.stdout, "closing summary table"
    assert "cost n/a (no price for scripted)" in result.stdout, "no made-up $0"
    assert "build_totals: attempt 1" in result.stderr, "progress lines"
    assert script.roles() == ["plan", "sql", "quality", "python"]

    # the first run had the smoke run; the recheck and the rerun skip it (30 s each)
    recheck = run_cli(base_url, tmp_path / "work", "validate", "--no-smoke-run", str(out))
    assert recheck.returncode == 0, recheck.stdout + recheck.stderr

    again = run_cli(
        base_url,
        tmp_path / "work",
        "generate",
        "Copy order ids into totals.",
        "--name",
        "totals",
        "--out",
        str(out),
        "--no-smoke-run",
    )
    assert again.returncode == 0
    assert "model calls 0, cache hits 4" in again.stdout
    assert len(script.requests) == 4


def test_generate_exits_1_and_writes_only_reports_when_invalid(tmp_path: Path) -> None:
    script = ScriptedModel({**GOOD, "sql": ["DROP TABLE x"], "repair": ["DROP TABLE x"]})
    out = tmp_path / "out"
    with script.serve() as base_url:
        result = run_cli(
            base_url,
            tmp_path / "work",
            "generate",
            "Copy ids.",
            "--name",
            "totals",
            "--out",
            str(out),
        )
    assert result.returncode == 1
    assert "rejected: still invalid after repairs: build_totals" in result.stdout
    assert sorted(p.name for p in out.iterdir()) == ["report.json", "report.md"]


def test_plan_prints_the_task_table(served: tuple[ScriptedModel, str], tmp_path: Path) -> None:
    script, base_url = served
    result = run_cli(base_url, tmp_path / "work", "plan", "Copy order ids into totals.")
    assert result.returncode == 0, result.stderr
    assert script.roles() == ["plan"], "the model was asked for the plan, once"
    header, _, *rows = result.stdout.splitlines()
    assert header.split() == ["task", "kind", "depends", "on", "written", "by", "description"]
    answered = json.loads(PLAN)["tasks"]  # what the scripted model answered
    assert [row.split(maxsplit=4) for row in rows] == [
        [
            task["name"],
            task["kind"],
            " ".join(task["depends_on"]) or "-",
            "free-form",  # a description without sources: no table for a pattern to read
            task["description"],
        ]
        for task in answered
    ]


def test_generate_rejects_an_invalid_spec_with_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("name: Bad Name\ndescription: x\n")
    result = run_cli(
        "http://127.0.0.1:9/v1",
        tmp_path / "work",
        "generate",
        "--spec",
        str(bad),
        "--out",
        str(tmp_path / "o"),
    )
    assert result.returncode == 2
    assert f"{bad}:1: name: 'Bad Name' is not valid" in result.stderr
