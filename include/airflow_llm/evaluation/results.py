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

from airflow_llm.engine import PLANNED_ONLY
from airflow_llm.evaluation.matching import ratio
from airflow_llm.evaluation.runner import USAGE_FIELDS, ArtifactCounts, SpecEvaluation
from airflow_llm.evaluation.sql_accuracy import SqlAccuracy
from airflow_llm.tables import format_table

SPEC_HEADERS = (
    "spec",
    "plan",
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
    "patterns",
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
    sql: dict[str, SqlAccuracy]
    """Execution accuracy per NL -> SQL question set (by folder name)."""
    strategy: str = "auto"

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
        planned = [spec for spec in loaded if spec.planning is not None]
        valid_plans = sum(spec.planning != "failed" for spec in planned)
        ran = sum(spec.smoke_ran[0] for spec in loaded)
        reported = sum(spec.smoke_ran[1] for spec in loaded)
        return {
            "specs": len(self.specs),
            "loaded": len(loaded),
            "gate_pass": passed,
            "gate_pass_rate": ratio(passed, len(loaded)),
            "plans": {
                "planned": len(planned),
                "valid": valid_plans,
                "valid_rate": ratio(valid_plans, len(planned)),
                "hybrid": sum(spec.planning == "hybrid" for spec in planned),
            },
            "smoke_ran": {"ran": ran, "tasks": reported, "rate": ratio(ran, reported)},
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
            "unit_tests": {
                "passed": sum(spec.unit_tests[0] for spec in loaded),
                "total": sum(spec.unit_tests[1] for spec in loaded),
            },
            "per_published_bundle": {
                name: (
                    round(sum(spec.usage[name] for spec in loaded) / passed, 1) if passed else None
                )
                for name in ("model_calls", "prompt_tokens", "completion_tokens", "seconds")
            },
            "tokens_per_artifact": (
                round(
                    sum(s.usage["prompt_tokens"] + s.usage["completion_tokens"] for s in loaded)
                    / everything.count
                )
                if everything.count
                else None
            ),
            "sql_execution_accuracy": {name: run.accuracy for name, run in self.sql.items()},
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
            "strategy": self.strategy,
            "specs": [spec.to_dict() for spec in self.specs],
            "sql_accuracy": {name: run.to_dict() for name, run in self.sql.items()},
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
        tests = totals["unit_tests"]
        rows.append(("spec unit tests passed", f"{tests['passed']} of {tests['total']}"))
        for name, run in self.sql.items():
            sql = run.to_dict()
            rows += [
                (
                    f"SQL execution accuracy ({name})",
                    f"{_rate(sql['execution_accuracy'])} ({sql['correct']}/{sql['questions']};"
                    f" {sql['executed']} ran)",
                ),
                (
                    f"SQL model calls / seconds ({name})",
                    f"{sql['model_calls']} / {sql['seconds']:.0f}",
                ),
            ]
        rows.append(("endpoint", ", ".join(sorted(set(self.endpoints.values())))))
        return format_table(("metric", "value"), rows)

    def markdown(self) -> str:
        """The report for people: totals, per-spec table, what was left out and why."""
        lines = [
            f"# Evaluation of {self.started_at:%Y-%m-%d %H:%M} UTC, strategy {self.strategy}",
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
        for name, run in self.sql.items():
            lines += ["", f"## NL -> SQL questions of {name} answered wrongly", ""]
            lines += [
                f"- `{o.id}`: {o.error or 'wrong rows'}: `{_shortened(o.sql)}`"
                for o in run.outcomes
                if not o.correct
            ] or ["None."]
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Comparison:
    """Runs of the same corpus and questions with different strategies, side by side
    (the Prompt2DAG comparison: free-form code against hybrid patterns)."""

    runs: list[EvaluationRun]

    @property
    def started_at(self) -> datetime:
        """When the first run started."""
        return self.runs[0].started_at

    def table(self) -> str:
        """One row per measure, one column per strategy."""
        totals = [run.totals() for run in self.runs]
        rows: list[list[str]] = [
            [
                "gate pass (valid bundles)",
                *(
                    _gated(run, _rate(t["gate_pass_rate"], t["gate_pass"]))
                    for run, t in zip(self.runs, totals, strict=True)
                ),
            ],
            [
                "spec unit tests passed",
                *(
                    _gated(run, f"{t['unit_tests']['passed']}/{t['unit_tests']['total']}")
                    for run, t in zip(self.runs, totals, strict=True)
                ),
            ],
            [
                "valid plans of specs planned",
                *(
                    f"{t['plans']['valid']} of {t['plans']['planned']} "
                    f"({t['plans']['hybrid']} hybrid)"
                    for t in totals
                ),
            ],
            [
                "smoke-run tasks that really ran",
                *(_rate(t["smoke_ran"]["rate"], t["smoke_ran"]["ran"]) for t in totals),
            ],
        ]
        kinds = sorted({kind for t in totals for kind in t["artifacts"]})
        for kind in kinds:
            rows.append(
                [f"{kind} valid: first pass / after repair"]
                + [_artifact_cell(t["artifacts"].get(kind)) for t in totals]
            )
        rows += [
            [
                "task precision / recall",
                *(
                    _pair(t["structure"]["task_precision"], t["structure"]["task_recall"])
                    for t in totals
                ),
            ],
            [
                "edge precision / recall",
                *(
                    _pair(t["structure"]["edge_precision"], t["structure"]["edge_recall"])
                    for t in totals
                ),
            ],
        ]
        for name in sorted({name for run in self.runs for name in run.sql}):
            rows.append(
                [f"NL -> SQL execution accuracy ({name})"]
                + [_sql_cell(run.sql.get(name)) for run in self.runs]
            )
        for corpus in dict.fromkeys(spec.corpus for run in self.runs for spec in run.specs):
            rows.append(
                [f"gate pass ({corpus})"]
                + [_gated(run, _corpus_gate_pass(run, corpus)) for run in self.runs]
            )
            rows.append(
                [f"sql+quality valid after repair ({corpus})"]
                + [_corpus_validity(run, corpus) for run in self.runs]
            )
            rows.append(
                [f"tokens per artifact ({corpus})"]
                + [_number(_corpus_tokens(run, corpus)) for run in self.runs]
            )
        per = [t["per_published_bundle"] for t in totals]
        rows += [
            ["model calls per published bundle", *(_number(p["model_calls"]) for p in per)],
            ["tokens per published bundle", *(_tokens(p) for p in per)],
            ["seconds per published bundle", *(_number(p["seconds"]) for p in per)],
            ["tokens per artifact", *(_number(t["tokens_per_artifact"]) for t in totals)],
        ]
        headers = ("measure", *(run.strategy for run in self.runs))
        return format_table(headers, [tuple(row) for row in rows])

    def to_dict(self) -> dict[str, Any]:
        """Every run, keyed by strategy."""
        return {"runs": {run.strategy: run.to_dict() for run in self.runs}}

    def markdown(self) -> str:
        """The side-by-side table, then each run's report."""
        lines = [
            f"# Strategies compared, {self.started_at:%Y-%m-%d %H:%M} UTC",
            "",
            "```",
            self.table(),
            "```",
        ]
        for run in self.runs:
            lines += ["", run.markdown().replace("# Evaluation", "## Evaluation", 1)]
        return "\n".join(lines) + "\n"


def write_results(comparison: Comparison, out_dir: Path) -> tuple[Path, Path]:
    """Write ``<timestamp>.json`` and ``<timestamp>.md`` under ``out_dir``; return both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{comparison.started_at:%Y%m%dT%H%M%SZ}"
    json_path, md_path = out_dir / f"{stem}.json", out_dir / f"{stem}.md"
    json_path.write_text(json.dumps(comparison.to_dict(), indent=2) + "\n")
    md_path.write_text(comparison.markdown())
    return json_path, md_path


def _corpus_specs(run: EvaluationRun, corpus: str) -> list[SpecEvaluation]:
    return [spec for spec in run.specs if spec.corpus == corpus and spec.error is None]


def _gated(run: EvaluationRun, cell: str) -> str:
    """A gate figure, or "not generated" for a run that only planned."""
    return "not generated" if run.settings.get("planning_only") else cell


def _corpus_gate_pass(run: EvaluationRun, corpus: str) -> str:
    specs = [spec for spec in _corpus_specs(run, corpus) if spec.error is None]
    passed = sum(spec.gate_pass for spec in specs)
    return f"{passed} of {len(specs)}"


def _corpus_validity(run: EvaluationRun, corpus: str) -> str:
    """SQL and quality artifacts of one corpus folder valid after repair."""
    counts = sum(
        (spec.artifacts.get(kind, ArtifactCounts()) for spec in _corpus_specs(run, corpus)
         for kind in ("sql", "quality")),
        ArtifactCounts(),
    )  # fmt: skip
    if not counts.count:
        return "-"
    return f"{_rate(ratio(counts.after_repair, counts.count))} of {counts.count}"


def _corpus_tokens(run: EvaluationRun, corpus: str) -> float | None:
    """Model tokens per artifact over one corpus folder."""
    specs = _corpus_specs(run, corpus)
    artifacts = sum(counts.count for spec in specs for counts in spec.artifacts.values())
    tokens = sum(spec.usage["prompt_tokens"] + spec.usage["completion_tokens"] for spec in specs)
    return round(tokens / artifacts) if artifacts else None


def _artifact_cell(rates: dict[str, Any] | None) -> str:
    if rates is None:
        return "-"
    first, repaired = _rate(rates["first_pass_rate"]), _rate(rates["after_repair_rate"])
    return f"{first} / {repaired} of {rates['count']}"


def _sql_cell(run: SqlAccuracy | None) -> str:
    if run is None:
        return "-"
    return f"{_rate(run.accuracy)} ({run.correct}/{len(run.outcomes)})"


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def _tokens(per: dict[str, Any]) -> str:
    if per["prompt_tokens"] is None:
        return "-"
    return f"{per['prompt_tokens'] + per['completion_tokens']:g}"


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
        return (name[:40], "-", "-", "-", "-", "-", "-", "-", "not loaded", 0, 0, 0, "-")
    score = spec.structure
    total = sum(spec.artifacts.values(), ArtifactCounts())
    return (
        name[:40],
        spec.planning or "spec",
        len(spec.reference.tasks) if spec.reference else "-",
        len(spec.planned_tasks),
        _pair(score.task_precision, score.task_recall) if score else "-",
        _pair(score.edge_precision, score.edge_recall) if score else "-",
        f"{total.first_pass}/{total.count}",
        f"{total.after_repair}/{total.count}",
        "-" if spec.reason == PLANNED_ONLY else "pass" if spec.gate_pass else "fail",
        spec.usage["model_calls"],
        int(spec.usage["prompt_tokens"] + spec.usage["completion_tokens"]),
        f"{spec.usage['seconds']:.0f}",
        _pattern_names(spec.patterns),
    )


def _pattern_names(patterns: list[str]) -> str:
    """The distinct patterns a bundle used (``aggregate, expectations, free-form``)."""
    names = {entry.partition(": ")[2].partition("@")[0] for entry in patterns}
    return ", ".join(sorted(names)) or "-"


def _shortened(sql: str, limit: int = 160) -> str:
    """One line of at most ``limit`` characters (the JSON file has the whole query)."""
    line = " ".join(sql.split()) or "-"
    return line if len(line) <= limit else f"{line[: limit - 3]}..."


def _verdict(spec: SpecEvaluation) -> str:
    if spec.error is not None:
        return f"not loaded: {spec.error}"
    outcome = "valid bundle" if spec.gate_pass else f"rejected: {spec.reason}"
    return f"{outcome}; reference: {spec.reference_note}"
