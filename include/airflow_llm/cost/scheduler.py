"""Choose where to run generation: the cheapest option of the catalog that meets the
targets (run time, pass rate) and the constraints (budget, spot capacity).

Per option, for a workload of prompt and completion tokens:

- hours = completion tokens / ``tokens_per_second`` / 3600;
- USD = hours x ``usd_per_hour`` (compute), or prompt tokens x the input price +
  completion tokens x the output price, per million (an endpoint);
- USD per published bundle = USD / (bundles x pass rate).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from airflow_llm.cost.catalog import ComputeCatalog, ComputeOption
from airflow_llm.tables import usd_cell


@dataclass(frozen=True)
class Workload:
    """What is to be generated (the requirements): tokens and bundles."""

    prompt_tokens: int
    completion_tokens: int
    bundles: int = 1


@dataclass(frozen=True)
class Targets:
    """What the run must achieve; None: no target."""

    max_hours: float | None = None
    min_pass_rate: float | None = None


@dataclass(frozen=True)
class Constraints:
    """What the deployment allows; None: no limit."""

    budget_usd: float | None = None
    allow_spot: bool = True


@dataclass(frozen=True)
class Estimate:
    """One option's cost and time for a workload."""

    option: ComputeOption
    usd: float
    hours: float
    bundles: int

    @property
    def usd_per_published_bundle(self) -> float | None:
        """USD over the bundles expected to pass (None when none would)."""
        passing = self.bundles * self.option.measured_pass_rate
        return round(self.usd / passing, 6) if passing else None


@dataclass(frozen=True)
class ResourceChoice:
    """The cheapest option that meets everything, against the baseline."""

    choice: Estimate
    baseline: Estimate
    estimates: list[Estimate]
    """Every option, cheapest first."""

    @property
    def saving_usd(self) -> float:
        """Baseline cost minus the choice's (negative: the baseline fails a target and
        meeting it costs more)."""
        return round(self.baseline.usd - self.choice.usd, 6)

    @property
    def saving_share(self) -> float | None:
        """The saving as a share of the baseline cost (None for a free baseline)."""
        return self.saving_usd / self.baseline.usd if self.baseline.usd else None


@dataclass(frozen=True)
class Check:
    """One target or constraint: its label, the test, and how to show an option's value."""

    label: str
    passes: Callable[[Estimate], bool]
    value: Callable[[Estimate], str]
    best: Callable[[Estimate], float]
    """Sort key: the option closest to meeting it sorts first."""


class NothingMeetsError(ValueError):
    """No option meets the targets and constraints; ``unmet`` says which."""

    def __init__(self, unmet: list[str], estimates: list[Estimate]) -> None:
        super().__init__("; ".join(unmet))
        self.unmet = unmet
        self.estimates = estimates


class CostAwareScheduler:
    """Estimates and choices over one catalog."""

    def __init__(self, catalog: ComputeCatalog) -> None:
        self.catalog = catalog

    @staticmethod
    def estimate(option: ComputeOption, workload: Workload) -> Estimate:
        """What ``workload`` costs and takes on ``option``."""
        hours = workload.completion_tokens / option.tokens_per_second / 3600
        if option.usd_per_hour is not None:
            usd = hours * option.usd_per_hour
        else:
            usd = (
                workload.prompt_tokens * (option.usd_per_1m_input_tokens or 0.0)
                + workload.completion_tokens * (option.usd_per_1m_output_tokens or 0.0)
            ) / 1_000_000
        return Estimate(option, round(usd, 6), round(hours, 6), workload.bundles)

    def estimates(self, workload: Workload) -> list[Estimate]:
        """Every option's estimate, cheapest first (then fastest, then by name)."""
        found = [self.estimate(option, workload) for option in self.catalog.options]
        return sorted(found, key=lambda e: (e.usd, e.hours, e.option.name))

    def optimize_resources(
        self, requirements: Workload, targets: Targets, constraints: Constraints
    ) -> ResourceChoice:
        """The cheapest option meeting ``targets`` and ``constraints`` for
        ``requirements``, its saving over the baseline; raise :class:`NothingMeetsError`
        naming each check no option meets (or, when each is met by some option, what
        every option fails)."""
        estimates = self.estimates(requirements)
        checks = _checks(targets, constraints)
        meeting = [e for e in estimates if all(check.passes(e) for check in checks)]
        if not meeting:
            raise NothingMeetsError(_unmet(checks, estimates), estimates)
        baseline = next(e for e in estimates if e.option.name == self.catalog.baseline)
        return ResourceChoice(meeting[0], baseline, estimates)

    @staticmethod
    def failed_checks(estimate: Estimate, targets: Targets, constraints: Constraints) -> list[str]:
        """The labels of the targets and constraints ``estimate`` fails."""
        return [c.label for c in _checks(targets, constraints) if not c.passes(estimate)]


def _checks(targets: Targets, constraints: Constraints) -> list[Check]:
    checks = []
    if targets.max_hours is not None:
        hours = targets.max_hours
        checks.append(
            Check(
                f"run time <= {hours:g} h",
                lambda e: e.hours <= hours,
                lambda e: f"{e.hours:.2f} h",
                lambda e: e.hours,
            )
        )
    if targets.min_pass_rate is not None:
        rate = targets.min_pass_rate
        checks.append(
            Check(
                f"pass rate >= {rate:.0%}",
                lambda e: e.option.measured_pass_rate >= rate,
                lambda e: f"{e.option.measured_pass_rate:.0%}",
                lambda e: -e.option.measured_pass_rate,
            )
        )
    if constraints.budget_usd is not None:
        budget = constraints.budget_usd
        checks.append(
            Check(
                f"cost <= ${budget:g}",
                lambda e: e.usd <= budget,
                lambda e: usd_cell(e.usd),
                lambda e: e.usd,
            )
        )
    if not constraints.allow_spot:
        checks.append(
            Check(
                "no spot capacity",
                lambda e: not e.option.spot,
                lambda e: "spot" if e.option.spot else "on-demand",
                lambda e: float(e.option.spot),
            )
        )
    return checks


def _unmet(checks: list[Check], estimates: list[Estimate]) -> list[str]:
    """Each check no option meets, with the closest option; else what each option fails."""
    unmet = []
    for check in checks:
        if not any(check.passes(e) for e in estimates):
            closest = min(estimates, key=check.best)
            unmet.append(
                f"nothing meets {check.label} "
                f"(closest: {closest.option.name} at {check.value(closest)})"
            )
    if unmet:
        return unmet
    return ["no option meets every target and constraint together"] + [
        f"{e.option.name} fails "
        + ", ".join(f"{c.label} ({c.value(e)})" for c in checks if not c.passes(e))
        for e in estimates
    ]
