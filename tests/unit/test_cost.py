"""CostAwareScheduler: estimates, the cheapest option that meets targets and constraints,
the saving over the baseline, and "nothing meets" naming the constraint; the catalog
(the shipped example, pass rates from `make eval` results, clear errors); and
`airflow-llm cost` on reports that the real generation and report code wrote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_llm.cli import main
from airflow_llm.config_files import ConfigError
from airflow_llm.cost import (
    ComputeCatalog,
    Constraints,
    CostAwareScheduler,
    NothingMeetsError,
    Targets,
    Workload,
)
from airflow_llm.cost.display import duration_text
from airflow_llm.cost.last_run import NoReportsError, report_tokens, run_tokens
from airflow_llm.engine import build_bundle
from airflow_llm.publish import report_keys
from airflow_llm.settings import GenerationSettings
from airflow_llm.storage import storage_path
from tests.scripted_endpoint import ScriptedModel
from tests.unit.test_costs import PRICES, client
from tests.unit.test_engine import GOOD, SPEC

REPO_ROOT = Path(__file__).resolve().parents[2]
EVAL_RESULTS = REPO_ROOT / "tests" / "fixtures" / "eval_results"
"""The totals and endpoints of a real `make eval` run (eval/results/ is not in git)."""
CATALOG = """\
baseline: cpu
options:
  - {name: cpu, model: small, usd_per_hour: 0.36, tokens_per_second: 10, pass_rate: 0.2}
  - name: hosted
    model: big
    usd_per_1m_input_tokens: 1.0
    usd_per_1m_output_tokens: 4.0
    tokens_per_second: 100
    pass_rate: 0.8
  - {name: gpu-spot, model: big, usd_per_hour: 3.6, tokens_per_second: 1000, pass_rate: 0.8,
     spot: true}
  - {name: gpu, model: big, usd_per_hour: 7.2, tokens_per_second: 1000, pass_rate: 0.8}
"""
WORKLOAD = Workload(prompt_tokens=2_000_000, completion_tokens=360_000, bundles=10)
"""360 000 completion tokens: 10 h at 10 tokens/s, 1 h at 100, 0.1 h at 1000."""


@pytest.fixture
def catalog_file(tmp_path: Path) -> Path:
    path = tmp_path / "options.yml"
    path.write_text(CATALOG)
    return path


@pytest.fixture
def scheduler(catalog_file: Path) -> CostAwareScheduler:
    return CostAwareScheduler(ComputeCatalog.load(catalog_file))


def test_estimates_per_hour_and_per_token(scheduler: CostAwareScheduler) -> None:
    found = {e.option.name: e for e in scheduler.estimates(WORKLOAD)}
    assert (found["cpu"].hours, found["cpu"].usd) == (10.0, 3.6)  # 10 h x $0.36
    assert (found["hosted"].hours, found["hosted"].usd) == (1.0, 3.44)  # 2 x $1 + 0.36 x $4
    assert (found["gpu-spot"].hours, found["gpu-spot"].usd) == (0.1, 0.36)
    assert (found["gpu"].hours, found["gpu"].usd) == (0.1, 0.72)
    assert found["gpu-spot"].usd_per_published_bundle == 0.045  # $0.36 / (10 x 0.8)
    assert found["cpu"].usd_per_published_bundle == 1.8
    assert [e.option.name for e in scheduler.estimates(WORKLOAD)] == [
        "gpu-spot",
        "gpu",
        "hosted",
        "cpu",
    ]


@pytest.mark.parametrize(
    ("targets", "constraints", "choice", "usd", "saving", "share"),
    [
        (Targets(), Constraints(), "gpu-spot", 0.36, 3.24, 0.9),
        (Targets(), Constraints(allow_spot=False), "gpu", 0.72, 2.88, 0.8),
        (Targets(max_hours=0.5), Constraints(allow_spot=False), "gpu", 0.72, 2.88, 0.8),
        (Targets(min_pass_rate=0.5), Constraints(budget_usd=0.5), "gpu-spot", 0.36, 3.24, 0.9),
        (Targets(max_hours=10), Constraints(budget_usd=3.6), "gpu-spot", 0.36, 3.24, 0.9),
        (Targets(min_pass_rate=0.1, max_hours=10), Constraints(), "gpu-spot", 0.36, 3.24, 0.9),
    ],
)
def test_the_cheapest_option_that_meets_everything_and_its_saving(
    scheduler: CostAwareScheduler,
    targets: Targets,
    constraints: Constraints,
    choice: str,
    usd: float,
    saving: float,
    share: float,
) -> None:
    chosen = scheduler.optimize_resources(WORKLOAD, targets, constraints)
    assert chosen.choice.option.name == choice
    assert chosen.choice.usd == usd
    assert chosen.baseline.option.name == "cpu"
    assert chosen.baseline.usd == 3.6
    assert chosen.saving_usd == saving
    assert chosen.saving_share == pytest.approx(share)


def test_a_saving_is_negative_when_the_baseline_fails_a_constraint(catalog_file: Path) -> None:
    catalog_file.write_text(CATALOG.replace("baseline: cpu", "baseline: gpu-spot"))
    scheduler = CostAwareScheduler(ComputeCatalog.load(catalog_file))
    chosen = scheduler.optimize_resources(WORKLOAD, Targets(), Constraints(allow_spot=False))
    assert (chosen.choice.option.name, chosen.baseline.option.name) == ("gpu", "gpu-spot")
    assert chosen.saving_usd == -0.36
    assert chosen.saving_share == pytest.approx(-1.0)


@pytest.mark.parametrize(
    ("targets", "constraints", "unmet"),
    [
        (
            Targets(min_pass_rate=0.9),
            Constraints(),
            ["nothing meets pass rate >= 90% (closest: gpu-spot at 80%)"],
        ),
        (
            Targets(max_hours=0.05),
            Constraints(),
            ["nothing meets run time <= 0.05 h (closest: gpu-spot at 0.10 h)"],
        ),
        (
            Targets(),
            Constraints(budget_usd=0.1),
            ["nothing meets cost <= $0.1 (closest: gpu-spot at $0.3600)"],
        ),
        (
            Targets(min_pass_rate=0.95, max_hours=0.01),
            Constraints(),
            [
                "nothing meets run time <= 0.01 h (closest: gpu-spot at 0.10 h)",
                "nothing meets pass rate >= 95% (closest: gpu-spot at 80%)",
            ],
        ),
        (
            Targets(),
            Constraints(budget_usd=0.5, allow_spot=False),
            [
                "no option meets every target and constraint together",
                "gpu-spot fails no spot capacity (spot)",
                "gpu fails cost <= $0.5 ($0.7200)",
                "hosted fails cost <= $0.5 ($3.4400)",
                "cpu fails cost <= $0.5 ($3.6000)",
            ],
        ),
    ],
)
def test_nothing_meets_names_the_constraint(
    scheduler: CostAwareScheduler, targets: Targets, constraints: Constraints, unmet: list[str]
) -> None:
    with pytest.raises(NothingMeetsError) as raised:
        scheduler.optimize_resources(WORKLOAD, targets, constraints)
    assert raised.value.unmet == unmet
    assert len(raised.value.estimates) == 4


def _eval_rate(strategy: str) -> float:
    """The gate pass rate of the newest results file, read here on its own."""
    newest = max(EVAL_RESULTS.glob("*.json"))
    return float(json.loads(newest.read_text())["runs"][strategy]["totals"]["gate_pass_rate"])


def test_the_shipped_catalog_loads_on_a_fresh_clone() -> None:
    catalog = ComputeCatalog.load(REPO_ROOT / "config" / "compute_options.yml")
    baseline = catalog.option(catalog.baseline)
    assert baseline.measured_pass_rate == 0.38
    assert {option.spot for option in catalog.options} == {True, False}


def test_a_pass_rate_comes_from_one_results_file_for_its_own_model(tmp_path: Path) -> None:
    results = max(EVAL_RESULTS.glob("*.json"))
    model = next(iter(json.loads(results.read_text())["runs"]["hybrid"]["endpoints"].values()))
    path = tmp_path / "options.yml"
    path.write_text(
        "baseline: here\noptions:\n  - name: here\n    model: "
        + model.split("|", 1)[1]
        + "\n    usd_per_hour: 1\n    tokens_per_second: 5\n"
        + f"    pass_rate_from: {{results: {results}, strategy: hybrid}}\n"
    )
    assert ComputeCatalog.load(path).options[0].measured_pass_rate == _eval_rate("hybrid")


OPTION = "baseline: a\noptions:\n  - name: a\n    model: m\n    tokens_per_second: 5\n"


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        (
            "    pass_rate: 0.5\n",
            ":3: options.0: Value error, give usd_per_hour, or usd_per_1m_input_tokens and "
            "usd_per_1m_output_tokens",
        ),
        (
            "    usd_per_hour: 1\n    usd_per_1m_input_tokens: 1\n    pass_rate: 0.5\n",
            ":3: options.0: Value error, give usd_per_hour, or",
        ),
        (
            "    usd_per_1m_input_tokens: 1\n    pass_rate: 0.5\n",
            ":3: options.0: Value error, give both usd_per_1m_input_tokens and",
        ),
        (
            "    usd_per_hour: 1\n",
            ":3: options.0: Value error, give pass_rate or pass_rate_from (one of them)",
        ),
        (
            "    usd_per_hour: 1\n    pass_rate: 1.5\n",
            ":7: options.0.pass_rate: Input should be less than or equal to 1",
        ),
        (
            "    usd_per_hour: 1\n    pass_rate_from: {results: " + str(EVAL_RESULTS) + "}\n",
            ":3: options.0: Value error, pass_rate_from: ",
        ),
        (
            "    usd_per_hour: 1\n    pass_rate_from: {results: nowhere.json}\n",
            ":3: options.0: Value error, pass_rate_from: ",
        ),
        (
            "    usd_per_hour: 1\n"
            f"    pass_rate_from: {{results: {EVAL_RESULTS}, strategy: bogus}}\n",
            ":3: options.0: Value error, pass_rate_from: ",
        ),
    ],
)
def test_a_bad_option_names_file_line_and_field(tmp_path: Path, extra: str, problem: str) -> None:
    path = tmp_path / "options.yml"
    path.write_text(OPTION + extra)
    with pytest.raises(ConfigError) as raised:
        ComputeCatalog.load(path)
    assert str(raised.value).startswith(f"{path}{problem}")


def test_pass_rate_from_says_which_model_and_strategy_it_measured(tmp_path: Path) -> None:
    path = tmp_path / "options.yml"
    path.write_text(
        OPTION + f"    usd_per_hour: 1\n    pass_rate_from: {{results: {EVAL_RESULTS}}}\n"
    )
    with pytest.raises(ConfigError, match=r"measured .+, not m$"):
        ComputeCatalog.load(path)
    path.write_text(
        OPTION + f"    usd_per_hour: 1\n    pass_rate_from: {{results: {EVAL_RESULTS}, "
        "strategy: bogus}\n"
    )
    with pytest.raises(ConfigError, match="has no run of strategy 'bogus'"):
        ComputeCatalog.load(path)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            OPTION.replace("baseline: a", "baseline: z")
            + "    usd_per_hour: 1\n    pass_rate: 1\n",
            ":1: (top level): Value error, baseline 'z' is not the name of an option",
        ),
        (
            OPTION
            + "    usd_per_hour: 1\n    pass_rate: 1\n"
            + OPTION.split("\n", 2)[2]
            + "    usd_per_hour: 2\n    pass_rate: 1\n",
            ":3: options: Value error, option names must be unique; repeated: a",
        ),
    ],
)
def test_a_bad_catalog_names_file_line_and_field(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "options.yml"
    path.write_text(text)
    with pytest.raises(ConfigError) as raised:
        ComputeCatalog.load(path)
    assert str(raised.value).startswith(f"{path}{problem}")


def _write_report(root: Path, pipeline: str, report_name: str, report: dict[str, object]) -> None:
    json_key, _ = report_keys(pipeline, report_name)
    path = root / json_key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    """Reports of two runs, written from a real generation (a scripted endpoint)."""
    tmp_path = tmp_path_factory.mktemp("reports")
    settings = GenerationSettings(work_dir=tmp_path / "work", smoke_run=False, strategy="free")
    report = build_bundle(SPEC, client(ScriptedModel(dict(GOOD)), PRICES), settings).report
    root = tmp_path / "bucket"
    _write_report(root, SPEC.name, "manual__2026-11-01T09_00_00.000000_00_00-dev", report)
    for name in ("-dev", "-prod", "-dev-0badcafe"):
        _write_report(root, SPEC.name, f"scheduled__2026-11-02T00_00_00_00_00{name}", report)
    return root / "reports", report


def test_the_last_run_adds_up_every_answer_of_its_reports(
    reports: tuple[Path, dict[str, object]],
) -> None:
    root, report = reports
    prompt, completion = report_tokens(report)
    assert (prompt, completion) == (40, 20), "4 scripted answers of 10 + 5 tokens"
    last = run_tokens(storage_path(root.as_uri()))
    assert (last.run, last.reports) == ("scheduled__2026-11-02T00_00_00_00_00", 3)
    assert (last.prompt_tokens, last.completion_tokens) == (3 * prompt, 3 * completion)
    first = run_tokens(storage_path(root.as_uri()), "manual__2026-11-01T09_00_00.000000_00_00")
    assert (first.reports, first.prompt_tokens) == (1, prompt)
    with pytest.raises(NoReportsError, match="no reports of run nope"):
        run_tokens(storage_path(root.as_uri()), "nope")
    with pytest.raises(NoReportsError, match="no generation reports"):
        run_tokens(storage_path((root / "empty").as_uri()))


def test_airflow_llm_cost_estimates_the_last_run_on_each_option(
    reports: tuple[Path, dict[str, object]],
    catalog_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root, _ = reports
    assert main(["cost", str(root), "--catalog", str(catalog_file), "--no-spot"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (
        "run scheduled__2026-11-02T00_00_00_00_00: 3 reports, 120 prompt + 60 completion "
        "tokens (cache hits included)"
    )
    assert out[1].split() == [
        "option", "model", "price", "spot", "pass", "rate", "cost", "time", "per",
        "published", "bundle", "fails",
    ]  # fmt: skip
    rows = {line.split()[0]: line for line in out[3:7]}
    assert rows["gpu-spot"].endswith("no spot capacity")
    assert "$1/$4 per 1M tokens" in rows["hosted"]
    # 60 completion tokens: 0.06 s on the gpu at $7.20/h, 6 s on the cpu at $0.36/h
    assert out[7] == (
        "choice: gpu at $0.000120 in 0.0 min; baseline cpu at $0.000600; saving $0.000480 (80%)"
    )


def test_airflow_llm_cost_says_what_nothing_meets(
    reports: tuple[Path, dict[str, object]],
    catalog_file: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root, _ = reports
    argv = ["cost", str(root), "--catalog", str(catalog_file), "--min-pass-rate", "0.9"]
    assert main(argv) == 1
    last = capsys.readouterr().out.splitlines()[-1]
    assert last == "nothing meets pass rate >= 90% (closest: gpu-spot at 80%)"


def test_airflow_llm_cost_refuses_a_bad_catalog(
    reports: tuple[Path, dict[str, object]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("baseline: a\noptions: []\n")
    assert main(["cost", str(reports[0]), "--catalog", str(bad)]) == 2
    assert f"{bad}:2: options: List should have at least 1 item" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("hours", "text"), [(0.0, "0.0 min"), (0.5, "30.0 min"), (1.0, "1.00 h"), (12.25, "12.25 h")]
)
def test_durations_read_in_minutes_under_an_hour(hours: float, text: str) -> None:
    assert duration_text(hours) == text
