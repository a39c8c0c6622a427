"""The monitor's arithmetic on plain data (p95, success rate, cost per run), its table,
and the executor-slot price catalog (the shipped example, first match, clear errors).
tests/integration/test_monitor_api.py reads the same figures from a real API server."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from airflow_llm.cli import main
from airflow_llm.config_files import ConfigError
from airflow_llm.monitoring.display import metrics_table
from airflow_llm.monitoring.metrics import (
    RunCost,
    RunRecord,
    TaskTry,
    compute_cost,
    dag_metrics,
    percentile,
)
from airflow_llm.monitoring.slots import SlotCatalog, SlotPrice
from airflow_llm.tables import usd_cell

REPO_ROOT = Path(__file__).resolve().parents[2]
SINCE = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
SLOTS = SlotCatalog(
    slots=[
        SlotPrice(name="gpu", queue="gpu", usd_per_hour=7.2),
        SlotPrice(name="celery", executor="CeleryExecutor", usd_per_hour=0.72),
        SlotPrice(name="workers", queue="default", usd_per_hour=0.36),
    ]
)


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [
        (list(range(1, 21)), 0.95, 19),  # rank ceil(0.95 * 20) = 19
        (list(range(1, 101)), 0.95, 95),
        ([3.0, 1.0, 2.0], 0.95, 3.0),  # rank ceil(2.85) = 3: the largest of three
        ([5.0], 0.95, 5.0),
        ([4.0, 1.0, 3.0, 2.0], 0.5, 2.0),
        ([], 0.95, None),
    ],
)
def test_percentile_is_the_nearest_rank(
    values: list[float], fraction: float, expected: float | None
) -> None:
    assert percentile(values, fraction) == expected


def test_percentile_refuses_a_fraction_outside_zero_to_one() -> None:
    with pytest.raises(ValueError, match="fraction"):
        percentile([1.0], 1.5)


def test_compute_cost_prices_each_try_at_its_slot() -> None:
    tries = [
        TaskTry("train", 30.0, "gpu", "CeleryExecutor"),  # gpu first: 30 s at $7.20/h
        TaskTry("load", 100.0, "etl", "CeleryExecutor"),  # celery: 100 s at $0.72/h
        TaskTry("load", 50.0, "default", None),  # workers: 50 s at $0.36/h
    ]
    assert compute_cost(tries, SLOTS) == (pytest.approx(0.06 + 0.02 + 0.005), [])


def test_compute_cost_is_unknown_when_no_slot_prices_a_try() -> None:
    tries = [TaskTry("a", 10.0, "default", None), TaskTry("b", 10.0, "batch", None)]
    assert compute_cost(tries, SLOTS) == (None, ["no slot price for queue 'batch', executor None"])


def _run(run_id: str, state: str, seconds: float | None, cost: RunCost) -> RunRecord:
    return RunRecord(run_id, state, seconds, cost)


def test_dag_metrics_over_finished_runs() -> None:
    records = [
        _run("r1", "success", 10.0, RunCost(0.01, 0.10)),
        _run("r2", "success", 30.0, RunCost(0.03, 0.20)),
        _run("r3", "failed", 20.0, RunCost(0.02, None, ("no price for model m",))),
        _run("r4", "running", None, RunCost(None, None)),
        _run("r5", "queued", None, RunCost(None, None)),
    ]
    metrics = dag_metrics("d", SINCE, records)
    assert (metrics.runs, metrics.succeeded, metrics.failed, metrics.unfinished) == (3, 2, 1, 2)
    assert metrics.success_rate == pytest.approx(2 / 3)
    assert metrics.mean_seconds == 20.0
    assert metrics.p95_seconds == 30.0
    assert metrics.priced_runs == 2
    assert metrics.cost_per_run_usd == pytest.approx((0.11 + 0.23) / 2)
    assert metrics.compute_usd_per_run == pytest.approx(0.02)
    assert metrics.model_usd_per_run == pytest.approx(0.15)
    assert metrics.unpriced == ("no price for model m",)


def test_dag_metrics_without_runs_have_no_figures() -> None:
    metrics = dag_metrics("d", SINCE, [])
    assert metrics.runs == 0
    assert metrics.success_rate is metrics.mean_seconds is metrics.p95_seconds is None
    assert metrics.cost_per_run_usd is None
    assert "success rate   -" in metrics_table(metrics)
    assert "cost per run   n/a" in metrics_table(metrics)


def test_the_table_says_what_is_unpriced() -> None:
    records = [
        _run("r1", "success", 12.0, RunCost(0.5, 0.25)),
        _run("r2", "failed", 8.0, RunCost(None, 0.0, ("no slot price for queue 'x'",))),
    ]
    table = metrics_table(dag_metrics("daily_totals", SINCE, records))
    assert table.splitlines()[0] == "measure        value"
    assert "dag            daily_totals" in table
    assert "since          2026-11-01T00:00:00+00:00" in table
    assert "runs           2 finished (1 succeeded, 1 failed), 0 unfinished" in table
    assert "success rate   50.0%" in table
    assert "mean run time  10.0 s" in table
    assert "p95 run time   12.0 s" in table
    expected = "cost per run   $0.7500 (compute $0.5000 + model $0.2500; 1 of 2 runs priced)"
    assert expected in table
    assert "unpriced       no slot price for queue 'x'" in table


def test_the_shipped_slot_catalog_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO_ROOT)
    monkeypatch.delenv("AIRFLOW_LLM_SLOT_PRICES", raising=False)
    catalog = SlotCatalog.load()
    assert catalog.slot_for("default", "LocalExecutor") is not None, "a catch-all slot"
    assert catalog.slot_for("gpu", None) is not catalog.slot_for("default", None)


def test_the_first_matching_slot_wins_and_an_unmatched_one_has_none() -> None:
    assert SLOTS.slot_for("gpu", "CeleryExecutor") == SLOTS.slots[0]
    assert SLOTS.slot_for("etl", "CeleryExecutor") == SLOTS.slots[1]
    assert SLOTS.slot_for("etl", "LocalExecutor") is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("slots: []\n", ":1: slots: List should have at least 1 item"),
        (
            "slots:\n  - name: a\n    usd_per_hour: -1\n",
            ":3: slots.0.usd_per_hour: Input should be greater than or equal to 0",
        ),
        (
            "slots:\n  - name: a\n    usd_per_hour: 1\n    queues: gpu\n",
            ":4: slots.0.queues: Extra inputs are not permitted",
        ),
        (
            "slots:\n  - {name: a, usd_per_hour: 1}\n  - {name: a, usd_per_hour: 2}\n",
            ":2: slots: Value error, slot names must be unique; repeated: a",
        ),
        ("slots: [\n", ":2: "),
    ],
)
def test_a_bad_slot_catalog_names_file_line_and_field(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = tmp_path / "slots.yml"
    path.write_text(text)
    with pytest.raises(ConfigError) as raised:
        SlotCatalog.load(path)
    assert str(raised.value).startswith(f"{path}{problem}")


def test_a_missing_slot_catalog_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"absent\.yml: No such file"):
        SlotCatalog.load(tmp_path / "absent.yml")


def test_monitor_without_credentials_says_what_to_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("AIRFLOW_LLM_API_TOKEN", "AIRFLOW_LLM_API_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AIRFLOW_LLM_STATE_DIR", str(tmp_path))  # no `up` password file
    slots = REPO_ROOT / "config" / "executor_slots.yml"
    argv = ["monitor", "d", "--api-url", "http://127.0.0.1:9", "--slot-prices", str(slots)]
    assert main(argv) == 1
    assert "set $AIRFLOW_LLM_API_TOKEN, or $AIRFLOW_LLM_API_PASSWORD" in capsys.readouterr().err


def test_monitor_refuses_a_since_it_cannot_read(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["monitor", "d", "--since", "last week"])
    assert exited.value.code == 2
    assert "not 7d, 12h, 30m or an ISO date: 'last week'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "n/a"),
        (0.0, "$0.0000"),
        (0.000037, "$0.000037"),
        (0.01, "$0.0100"),
        (12.34, "$12.3400"),
    ],
)
def test_amounts_under_a_cent_do_not_read_as_free(value: float | None, text: str) -> None:
    assert usd_cell(value) == text
