"""An evaluation run's totals (as rates), its tables, and its JSON and Markdown files.

Structure precision and recall are micro-averaged: matched names (edges) summed over
the specs that have a reference (with edges), divided by the planned or reference
names (edges) summed over the same specs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from airflow_llm.evaluation.matching import ratio
from airflow_llm.evaluation.runner import USAGE_FIELDS, ArtifactCounts, SpecEvaluation
from airflow_llm.evaluation.sql_accuracy import SqlAccuracy
from airflow_llm.tables import format_table

SPEC_HEADERS = (
    "spec",
    "ref tasks",
    "planned",
    "task P/R",
    "edge P/R",
    "first pass",
    "repaired",
    "gate",
    "calls",
    "tokens",
    "seconds",
)


@dataclass(frozen=True)
class EvaluationRun:
    """Everything one ``airflow-llm eval`` measured, and against what."""

    started_at: datetime
    finished_at: datetime
    endpoints: dict[str, str]
    """``role -> base_url|model`` (``ModelRouter.describe()``)."""
    settings: dict[str, Any]
    corpus: list[str]
    specs: list[SpecEvaluation]
    sql: SqlAccuracy | None

    def totals(self) -> dict[str, Any]:
        """Counts and rates over all specs, and the SQL execution accuracy."""
        loaded = [spec for spec in self.specs if spec.error is None]
        scores = [spec.structure for spec in loaded if spec.structure is not None]
        with_edges = [score for score in scores if score.reference_edges is not None]
        kinds: dict[str, ArtifactCounts] = {}
        for spec in loaded:
            for kind, counts in spec.artifacts.items():
                kinds[kind] = kinds.get(kind, ArtifactCounts()) + counts
        everything = sum(kinds.values(), ArtifactCounts())
        passed = sum(spec.gate_pass for spec in loaded)
        return {
            "specs": len(self.specs),
            "loaded": len(loaded),
            "gate_pass": passed,
            "gate_pass_rate": ratio(passed, len(loaded)),
            "structure": {
                "specs_with_reference": len(scores),
                "specs_with_reference_edges": len(with_edges),
                "task_precision": ratio(
                    sum(s.matched_tasks for s in scores), sum(s.planned_tasks for s in scores)
                ),
                "task_recall": ratio(
                    sum(s.matched_tasks for s in scores), sum(s.reference_tasks for s in scores)
                ),
                "edge_precision": ratio(
                    sum(s.matched_edges for s in with_edges),
                    sum(s.planned_edges for s in with_edges),
                ),
                "edge_recall": ratio(
                    sum(s.matched_edges for s in with_edges),
                    sum(s.reference_edges or 0 for s in with_edges),
                ),
            },
            "artifacts": {
                kind: _artifact_rates(counts)
                for kind, counts in [*sorted(kinds.items()), ("all", everything)]
            },
            **{name: round(sum(spec.usage[name] for spec in loaded), 3) for name in USAGE_FIELDS},
            "sql_execution_accuracy": self.sql.accuracy if self.sql else None,
        }

    def to_dict(self) -> dict[str, Any]:
        """The JSON document: when, against what, totals, then every spec and question."""
        return {
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
            "endpoints": self.endpoints,
            "settings": self.settings,
            "corpus": self.corpus,
            "totals": self.totals(),
            "specs": [spec.to_dict() for spec in self.specs],
            "sql_accuracy": self.sql.to_dict() if self.sql else None,
        }

    def spec_table(self) -> str:
        """One row per spec under :data:`SPEC_HEADERS`."""
        return format_table(SPEC_HEADERS, [_spec_row(spec) for spec in self.specs])

    def totals_table(self) -> str:
        """The totals as ``metric  value`` rows."""
        totals = self.totals()
        structure = totals["structure"]
        rows: list[tuple[str, str]] = [
            ("specs generated", f"{totals['loaded']} of {totals['specs']}"),
            ("gate pass (valid bundle)", _rate(totals["gate_pass_rate"], totals["gate_pass"])),
            (
                f"task precision / recall ({structure['specs_with_reference']} specs)",
                f"{_rate(structure['task_precision'])} / {_rate(structure['task_recall'])}",
            ),
            (
                f"edge precision / recall ({structure['specs_with_reference_edges']} specs)",
                f"{_rate(structure['edge_precision'])} / {_rate(structure['edge_recall'])}",
            ),
        ]
        for kind, rates in totals["artifacts"].items():
            rows.append(
                (
                    f"{kind} artifacts valid: first pass / after repair",
                    f"{_rate(rates['first_pass_rate'])} / {_rate(rates['after_repair_rate'])}"
                    f" of {rates['count']}",
                )
            )
        rows += [
            ("model calls (cache hits)", f"{totals['model_calls']} ({totals['cache_hits']})"),
            ("tokens in / out", f"{totals['prompt_tokens']} / {totals['completion_tokens']}"),
            ("generation seconds", f"{totals['seconds']:.0f}"),
        ]
        if self.sql is not None:
            sql = self.sql.to_dict()
            rows += [
                (
                    "SQL execution accuracy",
                    f"{_rate(sql['execution_accuracy'])} ({sql['correct']}/{sql['questions']};"
                    f" {sql['executed']} ran)",
                ),
                ("SQL model calls / seconds", f"{sql['model_calls']} / {sql['seconds']:.0f}"),
            ]
        rows.append(("endpoint", ", ".join(sorted(set(self.endpoints.values())))))
        return format_table(("metric", "value"), rows)

    def markdown(self) -> str:
        """The report for people: totals, per-spec table, what was left out and why."""
        lines = [
            f"# Evaluation of {self.started_at:%Y-%m-%d %H:%M} UTC",
            "",
            f"Endpoint: {', '.join(f'{r}: `{e}`' for r, e in self.endpoints.items())}.",
            f"Settings: {', '.join(f'{k}={v}' for k, v in self.settings.items())}.",
            f"Corpus: {', '.join(f'`{folder}`' for folder in self.corpus)}.",
            "",
            "```",
            self.totals_table(),
            "```",
        ]
        if self.specs:
            lines += ["", "## Specs", "", "```", self.spec_table(), "```", ""]
            lines += [f"- `{spec.source}`: {_verdict(spec)}" for spec in self.specs]
        if self.sql is not None:
            lines += ["", "## NL -> SQL questions answered wrongly", ""]
            lines += [
                f"- `{o.id}`: {o.error or 'wrong rows'}: `{_shortened(o.sql)}`"
                for o in self.sql.outcomes
                if not o.correct
            ] or ["None."]
        return "\n".join(lines) + "\n"


def write_results(run: EvaluationRun, out_dir: Path) -> tuple[Path, Path]:
    """Write ``<timestamp>.json`` and ``<timestamp>.md`` under ``out_dir``; return both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{run.started_at:%Y%m%dT%H%M%SZ}"
    json_path, md_path = out_dir / f"{stem}.json", out_dir / f"{stem}.md"
    json_path.write_text(json.dumps(run.to_dict(), indent=2) + "\n")
    md_path.write_text(run.markdown())
    return json_path, md_path


def _artifact_rates(counts: ArtifactCounts) -> dict[str, Any]:
    return {
        **vars(counts),
        "first_pass_rate": ratio(counts.first_pass, counts.count),
        "after_repair_rate": ratio(counts.after_repair, counts.count),
    }


def _rate(value: float | None, count: int | None = None) -> str:
    if value is None:
        return "-"
    return f"{value:.0%}" if count is None else f"{value:.0%} ({count})"


def _pair(left: float | None, right: float | None) -> str:
    return "-" if left is None and right is None else f"{_rate(left)}/{_rate(right)}"


def _spec_row(spec: SpecEvaluation) -> tuple[object, ...]:
    name = spec.pipeline or Path(spec.source).stem
    if spec.error is not None:
        return (name[:40], "-", "-", "-", "-", "-", "-", "not loaded", 0, 0, 0)
    score = spec.structure
    total = sum(spec.artifacts.values(), ArtifactCounts())
    return (
        name[:40],
        len(spec.reference.tasks) if spec.reference else "-",
        len(spec.planned_tasks),
        _pair(score.task_precision, score.task_recall) if score else "-",
        _pair(score.edge_precision, score.edge_recall) if score else "-",
        f"{total.first_pass}/{total.count}",
        f"{total.after_repair}/{total.count}",
        "pass" if spec.gate_pass else "fail",
        spec.usage["model_calls"],
        int(spec.usage["prompt_tokens"] + spec.usage["completion_tokens"]),
        f"{spec.usage['seconds']:.0f}",
    )


def _shortened(sql: str, limit: int = 160) -> str:
    """One line of at most ``limit`` characters (the JSON file has the whole query)."""
    line = " ".join(sql.split()) or "-"
    return line if len(line) <= limit else f"{line[: limit - 3]}..."


def _verdict(spec: SpecEvaluation) -> str:
    if spec.error is not None:
        return f"not loaded: {spec.error}"
    outcome = "valid bundle" if spec.gate_pass else f"rejected: {spec.reason}"
    return f"{outcome}; reference: {spec.reference_note}"
