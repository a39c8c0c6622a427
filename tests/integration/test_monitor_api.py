"""PerformanceMonitor against a real Airflow API server (REST API v2, simple auth manager,
JWT from /auth/token), over runs that dag.test() made in a private metadata database.

The DAG runs the generator's real ``summarize`` task, so model usage comes from a real
XCom; one run retries a task (its first try is billed too) and one fails before
``summarize`` pushed its usage. The server pages by 2, so every listing is paginated.
The expected figures come from what the metadata database recorded (read in the
subprocess that ran the DAG), not from the monitor's own arithmetic.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from airflow_llm.cli import main
from airflow_llm.embedded.config import free_port_block
from airflow_llm.monitoring import PerformanceMonitor
from airflow_llm.monitoring.monitor import MonitorError, api_client, api_token
from airflow_llm.monitoring.slots import SlotCatalog, SlotPrice
from tests.airflow_api_server import AIRFLOW, running_api_server

pytestmark = pytest.mark.integration
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "monitoring"
DAG_ID = "monitored_generator"
USER, PASSWORD = "monitor", "monitor-test-password"
SINCE = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
SLOTS = SlotCatalog(slots=[SlotPrice(name="workers", queue="default", usd_per_hour=3600.0)])
"""One USD per task-second, so a run's compute cost is its tries' seconds."""


def _row(pipeline: str, cost: float | None, unpriced: list[str]) -> dict[str, Any]:
    return {
        "uri": f"s3://bucket/specs/{pipeline}.yml",
        "environment": "dev",
        "pipeline": pipeline,
        "status": "published",
        "prompt_tokens": 1200,
        "completion_tokens": 300,
        "cost_usd": cost,
        "unpriced_models": unpriced,
    }


RUNS = [
    {"conf": {"rows": [_row("a", 0.25, []), _row("b", 0.5, [])]}},
    {"conf": {"flaky": True, "rows": [_row("a", 0.125, [])]}},
    {"conf": {"fail": True}},
    {"conf": {"rows": [_row("c", None, ["smollm2-135m-instruct"])]}},
    {"conf": {"rows": [_row("d", 9.0, [])]}, "run_after": "2020-01-01T00:00:00+00:00"},
]
"""Priced usage; a retried task; a failure before summarize; an unpriced model; a run
due before SINCE (left out)."""
MODEL_USD = [0.75, 0.125, None, None]


@dataclass(frozen=True)
class ApiServer:
    url: str
    runs: list[dict[str, Any]]
    """What the metadata database recorded for RUNS[:4] (the window's runs)."""


@pytest.fixture(scope="module")
def api_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    home = tmp_path_factory.mktemp("airflow-api")
    dags = home / "dags"
    dags.mkdir()
    shutil.copy(FIXTURES / "monitored_generator.py", dags)
    passwords = home / "passwords.json"
    passwords.write_text(json.dumps({USER: PASSWORD}))
    port = free_port_block(1)
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:viewer",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__API__MAXIMUM_PAGE_LIMIT": "2",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
    }
    subprocess.run([AIRFLOW, "db", "migrate"], env=env, check=True, capture_output=True)
    ran = subprocess.run(
        [sys.executable, str(FIXTURES / "run_dags.py"), json.dumps(RUNS)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    recorded = json.loads(ran.stdout.split("RUNS ", 1)[1])
    with running_api_server(env, port, home / "state") as url:
        yield ApiServer(url, recorded[:4])


def _compute_usd(run: dict[str, Any]) -> float:
    """Each try's seconds at one USD a second (every try ran in the default queue)."""
    assert {queue for _, _, queue, _ in run["tries"]} == {"default"}
    return sum(seconds for _, seconds, _, _ in run["tries"])


def test_the_monitor_reads_a_real_api_server(
    api_server: ApiServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """One test for the one server: `--dist loadgroup` does not keep a module on one
    worker under pytest 9.2 (pytest-xdist#1386), and the server costs 25 s to set up."""
    collect_dag_metrics_reads_runs_tries_and_model_usage(api_server)
    airflow_llm_monitor_prints_the_table(api_server, tmp_path, monkeypatch, capsys)
    refusals_are_clear_errors(api_server)


def collect_dag_metrics_reads_runs_tries_and_model_usage(api_server: ApiServer) -> None:
    token = api_token(api_server.url, USER, PASSWORD)
    with api_client(api_server.url, token) as api:
        monitor = PerformanceMonitor(api, SLOTS, generator_dags={DAG_ID})
        metrics = monitor.collect_dag_metrics(DAG_ID, since=SINCE)

    runs = api_server.runs
    assert [run["state"] for run in runs] == ["success", "success", "failed", "success"]
    assert len(runs[1]["tries"]) > len(runs[0]["tries"]), "the retried task's first try"
    seconds = sorted(run["seconds"] for run in runs)
    assert (metrics.runs, metrics.succeeded, metrics.failed, metrics.unfinished) == (4, 3, 1, 0)
    assert metrics.success_rate == 0.75
    assert metrics.mean_seconds == pytest.approx(sum(seconds) / 4, abs=1e-5)
    assert metrics.p95_seconds == pytest.approx(seconds[-1], abs=1e-5)  # nearest rank of 4
    totals = [
        _compute_usd(run) + model for run, model in zip(runs, MODEL_USD, strict=True) if model
    ]
    assert metrics.priced_runs == 2
    assert metrics.cost_per_run_usd == pytest.approx(sum(totals) / 2, abs=1e-5)
    assert metrics.model_usd_per_run == pytest.approx((0.75 + 0.125) / 2)
    failed = runs[2]["run_id"]
    assert metrics.unpriced == (
        "no price for model smollm2-135m-instruct (set $AIRFLOW_LLM_PRICES)",
        f"run {failed}: no model usage recorded (summarize did not push it)",
    )


def airflow_llm_monitor_prints_the_table(
    api_server: ApiServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A DAG outside the generator's calls no model: its cost is its slots' alone."""
    prices = tmp_path / "slots.yml"
    prices.write_text("slots:\n  - {name: workers, usd_per_hour: 3600}\n")
    monkeypatch.setenv("AIRFLOW_LLM_API_PASSWORD", PASSWORD)
    argv = ["monitor", DAG_ID, "--api-url", api_server.url, "--username", USER]
    code = main([*argv, "--since", "2024-01-01", "--slot-prices", str(prices)])
    out = capsys.readouterr().out
    assert code == 0, out
    compute = sum(_compute_usd(run) for run in api_server.runs) / 4
    assert "runs           4 finished (3 succeeded, 1 failed), 0 unfinished" in out
    assert "success rate   75.0%" in out
    assert f"cost per run   ${compute:.4f} (compute ${compute:.4f} + model $0.0000; " in out
    assert "4 of 4 runs priced" in out


def refusals_are_clear_errors(api_server: ApiServer) -> None:
    with pytest.raises(MonitorError, match="HTTP 401"):
        api_token(api_server.url, USER, "wrong")
    token = api_token(api_server.url, USER, PASSWORD)
    with api_client(api_server.url, token) as api, pytest.raises(MonitorError, match="404"):
        PerformanceMonitor(api, SLOTS).collect_dag_metrics("no_such_dag", since=SINCE)
