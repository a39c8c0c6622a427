"""Estimates and choices as the tables ``airflow-llm cost`` prints."""

from __future__ import annotations

from airflow_llm.cost.catalog import ComputeOption
from airflow_llm.cost.scheduler import (
    Constraints,
    CostAwareScheduler,
    Estimate,
    ResourceChoice,
    Targets,
)
from airflow_llm.tables import format_table, usd_cell

ESTIMATE_HEADERS = (
    "option",
    "model",
    "price",
    "spot",
    "pass rate",
    "cost",
    "time",
    "per published bundle",
    "fails",
)


def price_text(option: ComputeOption) -> str:
    """``$0.32/h``, or ``$0.15/$0.60 per 1M tokens``."""
    if option.usd_per_hour is not None:
        return f"${option.usd_per_hour:g}/h"
    return f"${option.usd_per_1m_input_tokens:g}/${option.usd_per_1m_output_tokens:g} per 1M tokens"


def duration_text(hours: float) -> str:
    """``42.5 min`` under an hour, ``3.25 h`` from there."""
    return f"{hours * 60:.1f} min" if hours < 1 else f"{hours:.2f} h"


def estimates_table(estimates: list[Estimate], targets: Targets, constraints: Constraints) -> str:
    """One row per option, with the targets and constraints it fails."""
    rows = []
    for estimate in estimates:
        option = estimate.option
        per_bundle = estimate.usd_per_published_bundle
        fails = CostAwareScheduler.failed_checks(estimate, targets, constraints)
        rows.append(
            (
                option.name,
                option.model,
                price_text(option),
                "yes" if option.spot else "no",
                f"{option.measured_pass_rate:.0%}",
                usd_cell(estimate.usd),
                duration_text(estimate.hours),
                "-" if per_bundle is None else usd_cell(per_bundle),
                ", ".join(fails) or "-",
            )
        )
    return format_table(ESTIMATE_HEADERS, rows)


def choice_text(choice: ResourceChoice) -> str:
    """The choice, its cost and time, and the saving over the baseline."""
    share = "" if choice.saving_share is None else f" ({choice.saving_share:.0%})"
    return (
        f"choice: {choice.choice.option.name} at {usd_cell(choice.choice.usd)} in "
        f"{duration_text(choice.choice.hours)}; baseline {choice.baseline.option.name} at "
        f"{usd_cell(choice.baseline.usd)}; saving {usd_cell(choice.saving_usd)}{share}"
    )
