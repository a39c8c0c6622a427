"""report.md shows what the smoke run did per task, the tasks it could not run with why."""

from __future__ import annotations

from airflow_llm.report import report_markdown


def test_the_smoke_table_shows_states_writes_requests_and_what_did_not_run() -> None:
    report = {
        "pipeline": "p",
        "valid": True,
        "reason": None,
        "plan": [],
        "tasks": [],
        "gates": [],
        "totals": {
            "model_calls": 0, "cache_hits": 0, "prompt_tokens": 0, "completion_tokens": 0,
            "cost_usd": 0.0, "seconds": 0.0,
        },
        "smoke_run": {
            "environment": "dev",
            "note": "SQL ran as written",
            "tasks": [
                {"name": "stage", "kind": "sql", "state": "success", "rows": {"s.t": 5}},
                {
                    "name": "export",
                    "kind": "python",
                    "state": "success",
                    "objects": {"s3://b/k.parquet": 4548},
                },
                {
                    "name": "tell_team",
                    "kind": "python",
                    "state": "success",
                    "http_requests": ["POST /services/ops: *p* (tell_team, 2024-01-31): " + "done " * 30],
                },
                {
                    "name": "start_reporting",
                    "kind": "python",
                    "state": "not run: external: triggers a run of another DAG",
                },
            ],
        },
    }  # fmt: skip
    text = report_markdown(report)
    assert "## Smoke run (dev; SQL ran as written)" in text
    table = text.split("## Smoke run")[1]
    assert "stage            sql     success" in table
    assert "s.t: 5 rows" in table
    assert "s3://b/k.parquet (4548 bytes)" in table
    assert "sent POST /services/ops: *p* (tell_team, 2024-01-31): done done" in table
    assert "done …" in table, "a long message is shortened"
    assert "start_reporting  python  not run: external: triggers a run of another DAG  -" in table
