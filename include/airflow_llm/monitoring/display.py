"""A DAG's metrics as the table ``airflow-llm monitor`` prints."""

from __future__ import annotations

from airflow_llm.monitoring.metrics import DagMetrics
from airflow_llm.tables import format_table, usd_cell


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def metrics_table(metrics: DagMetrics) -> str:
    """Two columns, measure and value; unknown costs say why."""
    rate = "-" if metrics.success_rate is None else f"{metrics.success_rate:.1%}"
    cost = usd_cell(metrics.cost_per_run_usd)
    if metrics.cost_per_run_usd is not None:
        compute, model = usd_cell(metrics.compute_usd_per_run), usd_cell(metrics.model_usd_per_run)
        priced = f"{metrics.priced_runs} of {metrics.runs} runs priced"
        cost += f" (compute {compute} + model {model}; {priced})"
    rows = [
        ("dag", metrics.dag_id),
        ("since", metrics.since.isoformat(timespec="seconds")),
        (
            "runs",
            f"{metrics.runs} finished ({metrics.succeeded} succeeded, {metrics.failed} failed), "
            f"{metrics.unfinished} unfinished",
        ),
        ("success rate", rate),
        ("mean run time", _seconds(metrics.mean_seconds)),
        ("p95 run time", _seconds(metrics.p95_seconds)),
        ("cost per run", cost),
        *(("unpriced", why) for why in metrics.unpriced),
    ]
    return format_table(("measure", "value"), rows)
