"""The bundle's manifest (deterministic) and its generation report (JSON and Markdown)."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

from airflow_llm import __version__
from airflow_llm.gates import gates_run
from airflow_llm.generate import ArtifactState, role_of
from airflow_llm.llm.endpoints import ModelRouter
from airflow_llm.llm.pricing import PriceTable, total_cost
from airflow_llm.patterns import pattern_versions
from airflow_llm.patterns.reads import Read
from airflow_llm.plan import PlanAttempt
from airflow_llm.prompts import prompt_versions
from airflow_llm.settings import GenerationSettings
from airflow_llm.spec import SourceTable
from airflow_llm.table_words import is_inferred
from airflow_llm.tables import format_table
from airflow_llm.validate.findings import Finding, errors, sha256_text


def build_manifest(
    pipeline: str,
    spec_hash: str,
    router: ModelRouter,
    files: Mapping[str, str],
    states: Mapping[str, ArtifactState],
    plan_attempts: list[PlanAttempt],
    settings: GenerationSettings,
    prices: PriceTable,
    spec_source: str | None = None,
) -> str:
    """``manifest.json``: no timestamps or timings, so equal inputs give equal bytes.

    Besides what made the bundle (spec, generator, models, prompts, strategy and pattern
    versions) it records how each artifact was written and which gates the bundle
    passed (promotion refuses a bundle that skipped one), the spec it came from
    (``spec_source``, the spec's URI; None from a spec given directly): a spec elsewhere
    that claims the same name may not replace it, and what the bundle's tokens cost
    (``cost_usd``, see :func:`_token_cost`).
    """
    manifest = {
        "pipeline": pipeline,
        "spec_source": spec_source,
        "spec_sha256": spec_hash,
        "generator_version": __version__,
        "models": router.describe(),
        "prompt_versions": prompt_versions(),
        "strategy": settings.strategy,
        "pattern_versions": pattern_versions(),
        "gates": gates_run(settings),
        "artifacts": {
            name: {
                "strategy": state.strategy,
                "pattern": state.attempts[-1].pattern,
                "pattern_version": state.attempts[-1].pattern_version,
            }
            for name, state in sorted(states.items())
        },
        "files": {path: sha256_text(content) for path, content in sorted(files.items())},
        "validation": {
            "valid": True,
            "warnings": sum(
                len(state.attempts[-1].findings) - len(errors(state.attempts[-1].findings))
                for state in states.values()
            ),
        },
        "attempts": {name: len(state.attempts) for name, state in sorted(states.items())},
        "plan_attempts": len(plan_attempts),
        "token_usage": _token_usage(states, plan_attempts),
        "cost_usd": _token_cost(states, plan_attempts, router, prices),
    }
    return json.dumps(manifest, indent=2, sort_keys=True) + "\n"


def _pattern_of(state: ArtifactState) -> str | None:
    """``name@version`` of the pattern that wrote the latest attempt (None: free-form)."""
    last = state.attempts[-1] if state.attempts else None
    if last is None or last.pattern is None:
        return None
    return f"{last.pattern}@{last.pattern_version}"


def _token_usage(
    states: Mapping[str, ArtifactState], plan_attempts: list[PlanAttempt]
) -> dict[str, int]:
    prompt = sum(a.prompt_tokens for s in states.values() for a in s.attempts)
    completion = sum(a.completion_tokens for s in states.values() for a in s.attempts)
    prompt += sum(a.prompt_tokens for a in plan_attempts)
    completion += sum(a.completion_tokens for a in plan_attempts)
    return {"prompt": prompt, "completion": completion}


def _token_cost(
    states: Mapping[str, ArtifactState],
    plan_attempts: list[PlanAttempt],
    router: ModelRouter,
    prices: PriceTable,
) -> float | None:
    """USD of every answer the bundle took, cache hits priced as the calls they saved
    (so a rerun from the cache gives the same bytes), each at its role's model's price;
    None when one of those models has no price."""
    costs = [
        prices.cost(
            router.for_role(role_of(state.task)).model, a.prompt_tokens, a.completion_tokens
        )
        for state in states.values()
        for a in state.attempts
    ]
    plan_model = router.for_role("plan").model
    costs += [prices.cost(plan_model, a.prompt_tokens, a.completion_tokens) for a in plan_attempts]
    return total_cost(costs)


def build_report(
    pipeline: str,
    valid: bool,
    reason: str | None,
    states: Mapping[str, ArtifactState],
    plan_attempts: list[PlanAttempt],
    gate_findings: list[Finding],
    totals: Mapping[str, Any],
    smoke: Mapping[str, Any] | None = None,
    *,
    models: Mapping[str, str] | None = None,
    gate_seconds: float | None = None,
    bundle: Mapping[str, str] | None = None,
    sources: Sequence[SourceTable] = (),
    reads: Mapping[str, Sequence[Read]] | None = None,
) -> dict[str, Any]:
    """The generation report: per task attempts, findings, tokens, cost and seconds, and
    the smoke run's per-task results when it ran.

    ``models``: the model of each request role (``base_url|model``), so that tokens and
    cost can be told apart per model; ``gate_seconds``: the gates' wall seconds (None:
    not gated); ``bundle``: the ``version`` and ``sha256`` of the bundle a valid report
    is published with (a report then names the version it made, or found current);
    ``sources``: the spec's, of which the ones inferred from its words are listed;
    ``reads``: what each task reads, with its producer (as ``tasks.yml`` records it;
    None: the structure gate did not run).
    """
    return {
        "pipeline": pipeline,
        "valid": valid,
        "reason": reason,
        "models": dict(models or {}),
        "gate_seconds": gate_seconds,
        "bundle": dict(bundle) if bundle is not None else None,
        "inferred_sources": [
            {"name": s.name, "origin": s.description, "columns": [c.name for c in s.columns]}
            for s in sources
            if is_inferred(s)
        ],
        "plan": [
            {
                "attempt": a.number,
                "cached": a.cached,
                "prompt_tokens": a.prompt_tokens,
                "completion_tokens": a.completion_tokens,
                "cost_usd": a.cost_usd,
                "findings": [f.to_dict() for f in a.findings],
                "method": a.method,
                "origins": a.origins,
            }
            for a in plan_attempts
        ],
        "tasks": [
            {
                "name": name,
                "kind": state.task.kind,
                "file": state.file,
                "valid": state.valid,
                "strategy": state.strategy,
                "pattern": _pattern_of(state),
                "reads": (
                    [read.to_dict() for read in reads[name]]
                    if reads is not None and name in reads
                    else None
                ),
                "attempts": [
                    {
                        "attempt": a.number,
                        "strategy": a.strategy,
                        "pattern": a.pattern,
                        "pattern_version": a.pattern_version,
                        "parameters": a.parameters,
                        "cached": a.cached,
                        "prompt_tokens": a.prompt_tokens,
                        "completion_tokens": a.completion_tokens,
                        "cost_usd": a.cost_usd,
                        "seconds": round(a.seconds, 3),
                        "findings": [f.to_dict() for f in a.findings],
                    }
                    for a in state.attempts
                ],
            }
            for name, state in states.items()
        ],
        "gates": [f.to_dict() for f in gate_findings],
        "smoke_run": dict(smoke) if smoke is not None else None,
        "totals": dict(totals),
    }


TASK_TABLE_HEADERS = ("task", "kind", "attempts", "valid", "tokens", "seconds")


def task_rows(report: Mapping[str, Any]) -> list[tuple[object, ...]]:
    """One summary row per task of a report, under :data:`TASK_TABLE_HEADERS`."""
    return [
        (
            task["name"],
            task["kind"],
            len(task["attempts"]),
            "yes" if task["valid"] else "no",
            sum(a["prompt_tokens"] + a["completion_tokens"] for a in task["attempts"]),
            f"{sum(a['seconds'] for a in task['attempts']):.1f}",
        )
        for task in report["tasks"]
    ]


def report_markdown(report: Mapping[str, Any]) -> str:
    """The report for people: verdict, one row per task, what the smoke run did, then
    every blocking finding."""
    verdict = "valid" if report["valid"] else f"rejected: {report['reason']}"
    rows = task_rows(report)
    lines = [f"# {report['pipeline']}: {verdict}", ""]
    lines += _plan_lines(report["plan"])
    lines += _inferred_lines(report.get("inferred_sources", []))
    lines += [
        "```",
        format_table(TASK_TABLE_HEADERS, rows),
        "```",
    ]
    lines += _reads_lines(report["tasks"])
    lines += _smoke_lines(report.get("smoke_run"))
    problems = [
        f"- `{f['file']}:{f['line'] or '?'}` [{f['rule']}] {f['message']}"
        for task in report["tasks"]
        if not task["valid"] and task["attempts"]
        for f in task["attempts"][-1]["findings"]
        if f["severity"] == "error"
    ]
    problems += [f"- `{f['file']}` [{f['rule']}] {f['message']}" for f in report["gates"]]
    if report["plan"] and report["plan"][-1]["findings"]:
        problems += [f"- plan [{f['rule']}] {f['message']}" for f in report["plan"][-1]["findings"]]
    if problems:
        lines += ["", "## Blocking findings", "", *problems]
    totals = report["totals"]
    lines += [
        "",
        f"Model calls: {totals['model_calls']}, cache hits: {totals['cache_hits']}, "
        f"tokens: {totals['prompt_tokens']} in / {totals['completion_tokens']} out, "
        f"cost: {cost_text(totals)}, seconds: {totals['seconds']:.1f}",
    ]
    return "\n".join(lines) + "\n"


SMOKE_TABLE_HEADERS = ("task", "kind", "state", "wrote")


def _smoke_lines(smoke: Mapping[str, Any] | None) -> list[str]:
    """The smoke run's table: each task's state (``not run: external: <why>`` for what
    no stand-in stands for), what it wrote and the requests the HTTP stub answered it."""
    if not smoke:
        return []
    rows = []
    for task in smoke["tasks"]:
        wrote = [f"{table}: {count} rows" for table, count in task.get("rows", {}).items()]
        written = {**task.get("objects", {}), **task.get("reports", {})}
        wrote += [f"{where} ({size} bytes)" for where, size in written.items()]
        sent = task.get("http_requests", [])
        wrote += [f"sent {textwrap.shorten(request, 100, placeholder=' …')}" for request in sent]
        if task.get("expectations"):
            wrote.append(f"expectations {task['expectations']}")
        rows.append((task["name"], task["kind"], task["state"], "; ".join(wrote) or "-"))
    heading = f"## Smoke run ({smoke['environment']}; {smoke['note']})"
    return ["", heading, "", "```", format_table(SMOKE_TABLE_HEADERS, rows), "```"]


def _reads_lines(tasks: Sequence[Mapping[str, Any]]) -> list[str]:
    """What each task reads and what produces it, where the structure gate said."""
    listed = [(task["name"], task.get("reads")) for task in tasks]
    if not any(reads is not None for _, reads in listed):
        return []
    lines = ["", "## What each task reads", ""]
    for name, reads in listed:
        described = [Read.from_dict(read).describe() for read in reads or []]
        lines.append(f"- `{name}`: {'; '.join(described) or 'nothing'}")
    return lines


def _inferred_lines(sources: Sequence[Mapping[str, Any]]) -> list[str]:
    """The sources read from the description's words, and where each came from."""
    if not sources:
        return []
    lines = ["Sources inferred from the description's words (declare `sources:` to replace):", ""]
    lines += [f"- `{s['name']}`: {s['origin']}: {', '.join(s['columns'])}" for s in sources]
    return [*lines, ""]


def _plan_lines(plan: Sequence[Mapping[str, Any]]) -> list[str]:
    """How the tasks were planned: the attempts, and where each task came from."""
    if not plan:
        return []
    last = plan[-1]
    if last.get("method") != "hybrid":
        return [f"Planned by the model in {len(plan)} attempt(s).", ""]
    origins = last.get("origins", {})
    lines = [f"Planned from the description's steps in {len(plan)} attempt(s):", ""]
    lines += [f"- `{task}`: {origin}" for task, origin in origins.items()]
    return [*lines, ""]


def cost_text(totals: Mapping[str, Any]) -> str:
    """A report's cost for people: ``$0.0123``, or ``n/a (no price for <model>)`` when a
    model without a price answered (a self-hosted model: set ``AIRFLOW_LLM_PRICES``)."""
    cost = totals.get("cost_usd")
    if cost is not None:
        return f"${cost:.4f}"
    models = ", ".join(totals.get("unpriced_models") or []) or "a model"
    return f"n/a (no price for {models})"
