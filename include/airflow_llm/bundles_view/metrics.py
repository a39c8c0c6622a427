"""Prometheus metrics of the bundles, computed from the bucket on each scrape.

Every figure comes from the catalog (manifests, versions and reports in the bucket), so
restarting Airflow loses nothing; the counters only fall when objects are deleted
(Prometheus then sees a counter reset). A collector of its own, in a registry of its
own: nothing here touches prometheus_client's global registry.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector, CollectorRegistry

from airflow_llm.bundles_view.catalog import Catalog, Report
from airflow_llm.bundles_view.source import CatalogUnavailableError
from airflow_llm.llm.endpoints import role_of_kind

CONTENT_TYPE = CONTENT_TYPE_LATEST
"""The exposition's content type (Prometheus text format)."""
SECONDS_BUCKETS = (1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
"""Upper bounds of the gate and smoke-run duration histograms."""
UNKNOWN_MODEL = "unknown"
"""The model label of answers whose report does not name its models (older reports)."""


class CatalogCollector(Collector):
    """Collects the metrics of the catalog that ``read()`` returns."""

    def __init__(self, read: Callable[[], Catalog]) -> None:
        self.read = read

    def collect(self) -> Iterator[Metric]:
        """``airflow_llm_catalog_up`` (0 when the bucket cannot be read), then the rest."""
        up = GaugeMetricFamily("airflow_llm_catalog_up", "Whether the bucket could be read")
        try:
            catalog = self.read()
        except CatalogUnavailableError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from catalog_metrics(catalog)


def registry_for(read: Callable[[], Catalog]) -> CollectorRegistry:
    """A registry holding only the catalog's collector."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(CatalogCollector(read))
    return registry


def exposition(registry: CollectorRegistry) -> bytes:
    """The registry's metrics in the Prometheus text format."""
    return generate_latest(registry)


def catalog_metrics(catalog: Catalog) -> list[Metric]:
    """Every metric of ``catalog``: bundles per environment, then the runs' reports."""
    return [*_bundle_metrics(catalog), *_RunTotals.of(catalog.reports).metrics(catalog)]


def _bundle_metrics(catalog: Catalog) -> list[Metric]:
    published = CounterMetricFamily(
        "airflow_llm_bundles_published",
        "Versions that became current: by a run of the generation flow, or by promotion",
        labels=["environment", "origin"],
    )
    rejected = CounterMetricFamily(
        "airflow_llm_bundles_rejected", "Runs that refused a spec", labels=["environment"]
    )
    unchanged = CounterMetricFamily(
        "airflow_llm_bundles_unchanged",
        "Runs whose valid bundle was the current one already",
        labels=["environment"],
    )
    current = GaugeMetricFamily(
        "airflow_llm_bundles_current", "Pipelines with a current bundle", labels=["environment"]
    )
    problems = GaugeMetricFamily(
        "airflow_llm_catalog_problems", "Objects of the bucket that could not be read"
    )
    kinds = Counter((event.environment, event.kind) for event in catalog.events)
    for environment in catalog.environments:
        generated = kinds[(environment, "published")] + kinds[(environment, "republished")]
        published.add_metric([environment, "generated"], generated)
        published.add_metric([environment, "promoted"], kinds[(environment, "promoted")])
        rejected.add_metric([environment], kinds[(environment, "rejected")])
        unchanged.add_metric([environment], kinds[(environment, "unchanged")])
        here = [b for b in catalog.bundles if b.environment == environment]
        current.add_metric([environment], len(here))
    problems.add_metric([], len(catalog.problems))
    return [published, rejected, unchanged, current, problems]


@dataclass
class _RunTotals:
    """What the runs' reports add up to."""

    attempts: Counter[tuple[str, str]] = field(default_factory=Counter)
    calls: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    cache_hits: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    tokens: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)
    cost: defaultdict[tuple[str, str, str], float] = field(
        default_factory=lambda: defaultdict(float)
    )
    gate_seconds: defaultdict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    gates: Counter[tuple[str, bool]] = field(default_factory=Counter)
    smoke_seconds: defaultdict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    smoke_runs: Counter[tuple[str, bool]] = field(default_factory=Counter)

    @classmethod
    def of(cls, reports: Sequence[Report]) -> _RunTotals:
        """The totals of ``reports``."""
        totals = cls()
        for report in reports:
            totals.add(report)
        return totals

    def add(self, report: Report) -> None:
        """Count one report: its answers, its gates and its smoke run."""
        environment, data = report.environment, report.data
        named = data.get("models")
        models: Mapping[str, Any] = named if isinstance(named, Mapping) else {}
        answers: list[tuple[str, Mapping[str, Any]]]
        answers = [("plan", attempt) for attempt in data.get("plan") or []]
        for task in data.get("tasks") or []:
            kind = str(task.get("kind"))
            answers += [(role_of_kind(kind), attempt) for attempt in task.get("attempts") or []]
        for role, attempt in answers:
            self._answer(environment, role, _model(models, role), attempt)
        gate_seconds = data.get("gate_seconds")
        if isinstance(gate_seconds, int | float):
            self.gate_seconds[environment].append(float(gate_seconds))
            self.gates[(environment, report.valid)] += 1
        smoke = data.get("smoke_run")
        if isinstance(smoke, Mapping) and isinstance(smoke.get("seconds"), int | float):
            self.smoke_seconds[environment].append(float(smoke["seconds"]))
            self.smoke_runs[(environment, smoke.get("passed") is True)] += 1

    def _answer(self, environment: str, role: str, model: str, attempt: Mapping[str, Any]) -> None:
        self.attempts[(environment, role)] += 1
        key = (environment, role, model)
        if attempt.get("cached"):
            self.cache_hits[key] += 1
            return
        self.calls[key] += 1
        for kind in ("prompt", "completion"):
            self.tokens[(*key, kind)] += int(attempt.get(f"{kind}_tokens") or 0)
        if attempt.get("cost_usd") is not None:
            self.cost[key] += float(attempt["cost_usd"])

    def metrics(self, catalog: Catalog) -> list[Metric]:
        """The metric families of these totals."""
        per_model = ["environment", "role", "model"]
        attempts = CounterMetricFamily(
            "airflow_llm_attempts",
            "Model answers written for artifacts and plans, cached or not",
            labels=["environment", "role"],
        )
        for labels, count in sorted(self.attempts.items()):
            attempts.add_metric(list(labels), count)
        calls = _counter(
            "airflow_llm_model_calls", "Answers the model wrote", per_model, self.calls
        )
        hits = _counter(
            "airflow_llm_cache_hits", "Answers from the response cache", per_model, self.cache_hits
        )
        tokens = _counter(
            "airflow_llm_tokens",
            "Tokens of the model's answers (type: prompt or completion)",
            [*per_model, "type"],
            self.tokens,
        )
        cost = _counter(
            "airflow_llm_cost_usd",
            "USD of the model's answers (answers of a model without a price add nothing)",
            per_model,
            self.cost,
        )
        return [
            attempts,
            calls,
            hits,
            tokens,
            cost,
            _histogram(
                "airflow_llm_gate_seconds", "Seconds of all gates of a bundle", self.gate_seconds
            ),
            _histogram(
                "airflow_llm_smoke_run_seconds", "Seconds of a smoke run", self.smoke_seconds
            ),
            *_outcomes("gate", "Bundles gated", self.gates, catalog.environments),
            *_outcomes("smoke_run", "Smoke runs", self.smoke_runs, catalog.environments),
        ]


def _model(models: Mapping[str, Any], role: str) -> str:
    """The model name of ``role``'s endpoint (``base_url|model``), or ``unknown``."""
    identity = models.get(role)
    return str(identity).rsplit("|", 1)[-1] if identity else UNKNOWN_MODEL


def _counter(
    name: str, documentation: str, labels: list[str], values: Mapping[Any, float]
) -> CounterMetricFamily:
    family = CounterMetricFamily(name, documentation, labels=labels)
    for key, value in sorted(values.items()):
        family.add_metric(list(key), value)
    return family


def _histogram(
    name: str, documentation: str, observed: Mapping[str, list[float]]
) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, documentation, labels=["environment"])
    for environment, values in sorted(observed.items()):
        buckets = [(str(bound), sum(v <= bound for v in values)) for bound in SECONDS_BUCKETS]
        buckets.append(("+Inf", len(values)))
        family.add_metric([environment], buckets, sum_value=sum(values))
    return family


def _outcomes(
    what: str, documentation: str, runs: Counter[tuple[str, bool]], environments: Sequence[str]
) -> list[Metric]:
    """``airflow_llm_<what>_runs_total{environment, outcome}`` and the pass ratio."""
    count = CounterMetricFamily(
        f"airflow_llm_{what}_runs", documentation, labels=["environment", "outcome"]
    )
    ratio = GaugeMetricFamily(
        f"airflow_llm_{what}_pass_ratio",
        f"{documentation}: the share that passed (absent before the first)",
        labels=["environment"],
    )
    for environment in environments:
        passed, failed = runs[(environment, True)], runs[(environment, False)]
        count.add_metric([environment, "passed"], passed)
        count.add_metric([environment, "failed"], failed)
        if passed + failed:
            ratio.add_metric([environment], passed / (passed + failed))
    return [count, ratio]
