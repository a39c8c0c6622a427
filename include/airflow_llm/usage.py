"""Model usage of generation: tokens and USD per bundle (a summary row) and per run.

Every spec and environment that got a report carries its report's totals into the
run's summary; the ``summarize`` task pushes the run's sum under the XCom key
:data:`USAGE_KEY`, which ``airflow-llm monitor`` reads through the REST API.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from airflow_llm.llm.pricing import total_cost

USAGE_KEY = "usage"
"""XCom key of a run's usage on its ``summarize`` task."""
NO_USAGE: dict[str, Any] = {
    "prompt_tokens": 0,
    "completion_tokens": 0,
    "cost_usd": 0.0,
    "unpriced_models": [],
}
"""The usage of an item that made no model call (its published bundle was up to date)."""


def report_usage(totals: Mapping[str, Any]) -> dict[str, Any]:
    """A report's tokens and cost (its fresh model calls; a cache hit costs nothing),
    with the models that had no price when the cost is unknown (None)."""
    return {
        "prompt_tokens": int(totals["prompt_tokens"]),
        "completion_tokens": int(totals["completion_tokens"]),
        "cost_usd": totals["cost_usd"],
        "unpriced_models": list(totals.get("unpriced_models") or []),
    }


def item_usage(item: Mapping[str, Any]) -> dict[str, Any]:
    """The usage a flow item carries (:data:`NO_USAGE` when it made no model call)."""
    return {key: item.get(key, default) for key, default in NO_USAGE.items()}


def run_usage(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The sum of the rows' usage; the cost is None when any row's is unknown."""
    usages = [item_usage(row) for row in rows]
    return {
        "prompt_tokens": sum(usage["prompt_tokens"] for usage in usages),
        "completion_tokens": sum(usage["completion_tokens"] for usage in usages),
        "cost_usd": total_cost(usage["cost_usd"] for usage in usages),
        "unpriced_models": sorted({m for usage in usages for m in usage["unpriced_models"]}),
    }
