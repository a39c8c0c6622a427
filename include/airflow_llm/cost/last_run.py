"""The model tokens a generation run used, read from its reports.

Reports live at ``reports/<pipeline>/<run>-<environment>[-<spec hash>].json`` (see
:func:`airflow_llm.publish.report_keys`), in the bucket or in a local copy of it
(``make demo`` copies them to ``demo_out/results/reports/``). A run's tokens are those
of every answer its reports list, cache hits included: on another model no answer
comes from the cache, so a regeneration there needs them all.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow.sdk import ObjectStoragePath

from airflow_llm.cost.scheduler import Workload

REPORT_NAME = re.compile(r"^(?P<run>.+?)-(?P<environment>[a-z][a-z0-9_]*)(?:-[0-9a-f]{8})?$")
"""A report's file stem: the run key, the environment, and a spec hash for reports
of specs refused without a name of their own."""
RUN_TIME = re.compile(r"__(\d{4}-\d\d-\d\dT\d\d_\d\d_\d\d)")
"""The time in an Airflow run id (``manual__2026-01-01T00:00:00+00:00``, made key-safe)."""


class NoReportsError(LookupError):
    """No generation report where one was looked for."""


@dataclass(frozen=True)
class RunTokens:
    """What one run's reports add up to."""

    run: str
    reports: int
    prompt_tokens: int
    completion_tokens: int

    def workload(self) -> Workload:
        """The same work again: a bulk regeneration of what the run generated."""
        return Workload(self.prompt_tokens, self.completion_tokens, self.reports)


def report_tokens(report: Mapping[str, Any]) -> tuple[int, int]:
    """Prompt and completion tokens of every answer a report lists (plan and tasks)."""
    answers = [
        *report.get("plan", []),
        *(a for t in report.get("tasks", []) for a in t["attempts"]),
    ]
    return (
        sum(int(a["prompt_tokens"]) for a in answers),
        sum(int(a["completion_tokens"]) for a in answers),
    )


def run_tokens(reports_root: ObjectStoragePath, run: str | None = None) -> RunTokens:
    """The tokens of run ``run`` (default: the last run) from the reports under
    ``reports_root``; raise :class:`NoReportsError`."""
    by_run: dict[str, list[ObjectStoragePath]] = defaultdict(list)
    times: dict[str, str] = {}
    for path in _report_files(reports_root):
        match = REPORT_NAME.match(path.stem)
        if match is None:
            continue
        key = match["run"]
        by_run[key].append(path)
        times[key] = max(times.get(key, ""), _run_time(key, path))
    if not by_run:
        raise NoReportsError(f"no generation reports under {reports_root}")
    chosen = run if run is not None else max(by_run, key=lambda key: (times[key], key))
    if chosen not in by_run:
        raise NoReportsError(f"no reports of run {chosen} under {reports_root}")
    prompt = completion = 0
    for path in by_run[chosen]:
        tokens = report_tokens(json.loads(path.read_text()))
        prompt, completion = prompt + tokens[0], completion + tokens[1]
    return RunTokens(chosen, len(by_run[chosen]), prompt, completion)


def _report_files(root: ObjectStoragePath) -> list[ObjectStoragePath]:
    if not root.exists():
        return []
    return [
        path
        for folder in root.iterdir()
        if folder.is_dir()
        for path in folder.iterdir()
        if path.suffix == ".json"
    ]


def _run_time(run: str, path: ObjectStoragePath) -> str:
    """When the run ran, comparable as text: the time in its run id, else the time the
    report was written."""
    found = RUN_TIME.search(run)
    if found:
        return found[1]
    written = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
    return written.strftime("%Y-%m-%dT%H_%M_%S")
