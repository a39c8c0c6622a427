"""`airflow-llm eval` over a small corpus and the NL -> SQL set, with a scripted model."""

from __future__ import annotations

import json
import os
import re
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from airflow_llm.embedded.config import EmbeddedConfig
from airflow_llm.evaluation.corpus import load_corpus
from airflow_llm.evaluation.harness import model_processes, run_evaluation
from airflow_llm.evaluation.results import SPEC_HEADERS, write_results
from airflow_llm.evaluation.sql_questions import QuestionSet
from airflow_llm.llm.endpoints import Endpoint, ModelRouter
from airflow_llm.settings import GenerationSettings
from tests.scripted_endpoint import ScriptedModel
from tests.unit.test_cli import airflow_llm
from tests.unit.test_cli_generate import run_cli
from tests.unit.test_engine import GOOD, client

REPO_ROOT = Path(__file__).resolve().parents[2]
QUESTIONS = QuestionSet.load(REPO_ROOT / "eval" / "sql_accuracy")
SPEC = """---
name: totals
dialect: postgres
sources:
  - name: orders
    columns: {id: BIGINT, d: DATE}
---
# Totals

Copy order ids into totals, check them and count them, in a strictly sequential order.

Pipeline Steps:
1. build_totals
2. check_totals
3. count_total_rows
"""


def gold_for_every_other_question(questions: QuestionSet) -> Callable[[dict[str, Any]], str]:
    """Answers the gold query to questions 1, 3, 5... and ``SELECT -1`` to the others."""
    answers = {
        q.question: q.gold if number % 2 else "SELECT -1"
        for number, q in enumerate(questions.questions, 1)
    }

    def answer(body: dict[str, Any]) -> str:
        question = re.search(r"Question: (.*)", body["messages"][-1]["content"])
        assert question is not None
        return f"```sql\n{answers[question.group(1)]}\n```"

    return answer


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "totals.md").write_text(SPEC)
    (folder / "README.md").write_text("# What this folder holds\n")
    (folder / "broken.yml").write_text("name: [\n")
    return folder


def test_a_run_measures_each_spec_and_the_questions_and_writes_json_and_markdown(
    corpus: Path, tmp_path: Path
) -> None:
    entries = load_corpus([corpus])
    assert [entry.path.name for entry in entries] == ["broken.yml", "totals.md"]
    script = ScriptedModel({**GOOD, "*": [gold_for_every_other_question(QUESTIONS)]})
    settings = GenerationSettings(work_dir=tmp_path / "work", strategy="free")

    comparison = run_evaluation(
        entries, {"shop": QUESTIONS}, client(script), settings, [corpus], strategies=["free"]
    )
    json_path, md_path = write_results(comparison, tmp_path / "results")
    [run] = comparison.runs

    assert json_path.parent == md_path.parent == tmp_path / "results"
    assert json_path.stem == md_path.stem == f"{run.started_at:%Y%m%dT%H%M%SZ}"
    data = json.loads(json_path.read_text())["runs"]["free"]
    broken, totals = data["specs"]
    assert broken["error"] is not None
    assert broken["pipeline"] is None
    assert totals["reference"]["note"] == "steps in order (stated linear)"
    assert totals["planned"]["tasks"] == ["build_totals", "check_totals", "count_totals"]
    assert totals["structure"]["matches"]["count_totals"] == "count_total_rows"
    structure = data["totals"]["structure"]
    assert structure["specs_with_reference_edges"] == 1
    assert [structure[key] for key in ("task_precision", "task_recall")] == [1.0, 1.0]
    assert [structure[key] for key in ("edge_precision", "edge_recall")] == [1.0, 1.0]
    assert totals["artifacts"] == {
        kind: {"count": 1, "first_pass": 1, "after_repair": 1}
        for kind in ("python", "quality", "sql")
    }
    assert totals["gate_pass"] is True
    assert data["totals"]["artifacts"]["all"]["first_pass_rate"] == 1.0
    assert [data["totals"][key] for key in ("specs", "loaded", "gate_pass")] == [2, 1, 1]
    answered = (len(QUESTIONS.questions) + 1) // 2
    sql = data["sql_accuracy"]["shop"]
    assert (sql["questions"], sql["correct"], sql["executed"]) == (
        len(QUESTIONS.questions),
        answered,
        len(QUESTIONS.questions),
    )
    assert data["totals"]["sql_execution_accuracy"] == {"shop": answered / len(QUESTIONS.questions)}
    assert data["totals"]["model_calls"] == 4
    assert set(data["endpoints"].values()) == {"http://m.test/v1|m"}

    table = comparison.table()
    assert re.search(r"^sql\+quality valid after repair \(corpus\) +100% of 2$", table, re.M)
    assert re.search(r"^tokens per artifact \(corpus\) +\d+$", table, re.M)
    markdown = md_path.read_text()
    assert markdown.startswith("# Strategies compared")
    assert "## Evaluation of " in markdown
    assert f"- `{corpus / 'broken.yml'}`: not loaded: " in markdown
    assert "valid bundle; reference: steps in order (stated linear)" in markdown
    wrong = QUESTIONS.questions[1].id
    assert f"- `{wrong}`: wrong rows: `SELECT -1`" in markdown

    header, _, broken_row, totals_row = run.spec_table().splitlines()
    assert header.split() == " ".join(SPEC_HEADERS).split()
    assert broken_row.split()[:2] == ["broken", "-"]
    assert totals_row.split()[-1] == "free-form"  # the patterns the bundle used
    assert totals["planning"] == "free"
    assert totals["smoke_ran"]["ran"] == totals["smoke_ran"]["tasks"] > 0
    assert data["totals"]["plans"] == {"planned": 1, "valid": 1, "valid_rate": 1.0, "hybrid": 0}
    assert re.search(r"^valid plans of specs planned +1 of 1 \(0 hybrid\)$", table, re.M)
    assert re.search(r"^gate pass \(corpus\) +1 of 1$", table, re.M)
    assert totals_row.split()[:10] == [
        "totals",
        "free",
        "3",
        "3",
        "100%/100%",
        "100%/100%",
        "3/3",
        "3/3",
        "pass",
        "4",
    ]
    assert (
        f"{answered / len(QUESTIONS.questions):.0%} ({answered}/{len(QUESTIONS.questions)}; "
        f"{len(QUESTIONS.questions)} ran)"
    ) in run.totals_table()


@pytest.fixture
def one_question(tmp_path: Path) -> Path:
    questions = tmp_path / "questions"
    questions.mkdir()
    for name in ("schema.sql", "seed.sql"):
        (questions / name).write_text((REPO_ROOT / "eval" / "sql_accuracy" / name).read_text())
    (questions / "questions.yml").write_text(
        "questions:\n"
        "  - id: customers\n"
        "    question: How many customers are there?\n"
        "    gold: SELECT COUNT(*) FROM customers\n"
        "    expected: [[10]]\n"
    )
    return questions


ANSWER = {"*": ["```sql\nSELECT COUNT(*) FROM customers\n```"]}


def test_the_eval_command_prints_the_tables_and_writes_the_results(
    corpus: Path, one_question: Path, tmp_path: Path
) -> None:
    script = ScriptedModel({**GOOD, **ANSWER})
    out = tmp_path / "results"
    with script.serve() as base_url:
        result = run_cli(
            base_url,
            tmp_path / "work",
            "eval",
            str(corpus),
            "--limit",
            "1",  # broken.yml only: the test above measures generation
            "--sql-questions",
            str(one_question),
            "--strategy",
            "free",
            "--out",
            str(out),
        )
    assert result.returncode == 0, result.stdout + result.stderr
    assert script.roles() == ["?"]
    assert re.search(r"^broken +- +- +- +- +- +- +- +not loaded", result.stdout, re.MULTILINE)
    assert re.search(
        r"^NL -> SQL execution accuracy \(questions\) +100% \(1/1\)$", result.stdout, re.MULTILINE
    )
    written = sorted(path.suffix for path in out.iterdir())
    assert written == [".json", ".md"]
    assert f"results: {out}" in result.stdout


def test_the_eval_command_can_use_an_airflow_connection(one_question: Path, tmp_path: Path) -> None:
    script = ScriptedModel(dict(ANSWER))
    with script.serve() as base_url:
        connection = {"conn_type": "openai", "host": base_url, "extra": {"model": "from-conn"}}
        env = {**os.environ, "AIRFLOW_CONN_EVAL_MODEL": json.dumps(connection)}
        env.pop("AIRFLOW_LLM_BASE_URL", None)
        result = airflow_llm(
            "eval",
            "--sql-only",
            "--conn-id",
            "eval_model",
            "--sql-questions",
            str(one_question),
            "--strategy",
            "free",
            "--out",
            str(tmp_path / "results"),
            env=env,
        )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{base_url}|from-conn" in result.stdout
    assert script.roles() == ["?"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_the_embedded_model_is_started_only_for_a_router_that_uses_it(tmp_path: Path) -> None:
    config = EmbeddedConfig(state_dir=tmp_path, model_port=_free_port())
    embedded = ModelRouter(default=Endpoint(model="m", base_url=config.model_base_url))
    other = ModelRouter(default=Endpoint(model="m", base_url="http://m.test/v1"))
    routed = ModelRouter(default=other.default, routes={"sql": embedded.default})
    assert [process.name for process in model_processes(embedded, config)] == ["model-server"]
    assert [process.name for process in model_processes(routed, config)] == ["model-server"]
    assert model_processes(other, config) == []


def test_plan_only_measures_planning_without_generating(corpus: Path, tmp_path: Path) -> None:
    entries = load_corpus([corpus])
    script = ScriptedModel({"plan_step": ['{"kind": "sql"}']})
    settings = GenerationSettings(work_dir=tmp_path / "work")

    comparison = run_evaluation(
        entries, {}, client(script), settings, [corpus], ["auto"], planning_only=True
    )
    [run] = comparison.runs
    _, totals = run.specs
    assert totals.planning == "hybrid"
    assert totals.planned_tasks == ["build_totals", "check_totals", "count_total_rows"]
    assert totals.structure is not None
    assert totals.structure.task_recall == 1.0
    assert set(script.roles()) <= {"plan_step"}, "nothing but planning questions"
    table = comparison.table()
    assert re.search(r"^gate pass \(valid bundles\) +not generated$", table, re.M)
    assert re.search(r"^spec unit tests passed +not generated$", table, re.M)
    assert run.spec_table().splitlines()[-1].split()[8] == "-"  # the gate column
