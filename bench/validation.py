"""Validation throughput: sqlfluff (SqlValidator), black, mypy per bundle, the gates.

Each figure runs the product's own validator on the files of a published bench bundle.
``first_use`` measures what a fresh process pays before its first check of each kind,
which every task instance of a Celery or Kubernetes worker pays again. The gates' figure
runs on its own, on a bundle generated in process, with ``python -m bench.validation``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench.airflow_runs import REPO_ROOT
from bench.workload import PYTHON, SQL, SUITE, spec_name

SQL_TASKS = ("stage_orders", "daily_totals", "publish_totals")
SHORT_SQL = """\
INSERT INTO customer_totals (customer_id, order_date, total_amount)
SELECT
    customer_id,
    CAST(ordered_at AS DATE) AS order_date,
    SUM(amount) AS total_amount
FROM orders
WHERE CAST(ordered_at AS DATE) = '{{ ds }}'
GROUP BY customer_id, CAST(ordered_at AS DATE)
"""
"""The prompts' few-shot answer: 8 lines, where the bench's SQL has 30."""


def _rate(count: int, work: Callable[[], object]) -> float:
    """Runs of ``work`` per second over ``count`` runs."""
    started = time.monotonic()
    for _ in range(count):
        work()
    return count / (time.monotonic() - started)


def sql_files_per_second(files: int = 60) -> dict[str, float]:
    """SQL through ``SqlValidator.check`` (lint; fix only what fails; policy) with one
    reused linter, after a first check that builds it: the bench's 30-line scripts, and
    the 8-line few-shot example."""
    from airflow_llm.llm.answers import extract_code_block
    from airflow_llm.validate.sql import SqlValidator

    validator = SqlValidator()
    params = {"schema": "analytics_dev"}

    def check(text: str) -> None:
        findings = validator.check(text, "bench.sql", "postgres", params, ["orders"])[1]
        if findings:
            raise RuntimeError(f"the bench SQL has findings: {findings[:3]}")

    started = time.monotonic()
    check(SHORT_SQL)
    first = time.monotonic() - started
    texts = [extract_code_block(SQL.format(task=task), ("sql",)) for task in SQL_TASKS]
    scripts = iter(range(files))
    return {
        "first_check_seconds": round(first, 3),
        "files_per_second": round(_rate(files, lambda: check(texts[next(scripts) % 3])), 1),
        "short_files_per_second": round(_rate(files, lambda: check(SHORT_SQL)), 1),
    }


def black_files_per_second(sources: list[str], files: int = 60) -> float:
    """Python files of a bundle through black (in process), files per second."""
    import black

    from airflow_llm.validate.python_code import BLACK_MODE

    black.format_str(sources[0], mode=BLACK_MODE)
    done = iter(range(files))
    return round(
        _rate(files, lambda: black.format_str(sources[next(done) % len(sources)], mode=BLACK_MODE)),
        1,
    )


def mypy_seconds_per_bundle(files: Mapping[str, str], scratch: Path) -> dict[str, float]:
    """One mypy call over a bundle's Python files: with an empty cache, then warm."""
    from airflow_llm.validate.mypy_batch import mypy_findings

    root, cache = scratch / "mypy-bundle", scratch / "mypy-cache"
    shutil.rmtree(scratch, ignore_errors=True)
    paths = []
    for name, content in files.items():
        if name.endswith(".py"):
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(content)
            paths.append(root / name)
    timings = {}
    for label in ("cold", "warm"):
        started = time.monotonic()
        found = mypy_findings(paths, cache, root)
        timings[f"{label}_seconds"] = round(time.monotonic() - started, 2)
        if found:
            raise RuntimeError(f"mypy found problems in the bench bundle: {found[:3]}")
    return timings


def gate_seconds(
    pipeline: str, files: Mapping[str, str], work_dir: Path, bundles: int = 3
) -> dict[str, Any]:
    """The bundle gates on one bundle: types, import and structure; then with the smoke
    run. The first bundle pays what a worker pays once (mypy's cold cache, and the
    sandbox's zygote starting when none runs: ``zygote_started``); the figures per
    bundle are the mean of ``bundles`` more."""
    from airflow_llm.gates import gate_bundle
    from airflow_llm.settings import GenerationSettings
    from airflow_llm.validate.sandbox import default_zygote

    bundle = {name: content for name, content in files.items() if name != "manifest.json"}
    settings = GenerationSettings(work_dir=work_dir, strategy="free")
    timings: dict[str, Any] = {"zygote_started": default_zygote().pid() is None}

    def timed(smoke: bool) -> tuple[float, bool]:
        started = time.monotonic()
        passed = gate_bundle(pipeline, bundle, replace(settings, smoke_run=smoke)).passed
        return time.monotonic() - started, passed

    timings["first_bundle_seconds"] = round(timed(False)[0], 1)
    for label, smoke in (("static", False), ("with_smoke_run", True)):
        runs = [timed(smoke) for _ in range(bundles)]
        timings[f"{label}_seconds"] = round(sum(seconds for seconds, _ in runs) / bundles, 1)
        timings[f"{label}_passed"] = all(passed for _, passed in runs)
    return timings


def bench_bundle() -> dict[str, str]:
    """The files of the first bench spec's bundle, generated in process with the bench
    answers: what a bulk run publishes (but the manifest), without Airflow or S3."""
    from airflow_llm.bundle.render import render_bundle
    from airflow_llm.generate import ArtifactGenerator
    from airflow_llm.llm.client import ModelClient
    from airflow_llm.llm.endpoints import Endpoint, ModelRouter
    from airflow_llm.settings import GenerationSettings
    from airflow_llm.spec_loading import parse_spec
    from bench.endpoint import BenchEndpoint
    from bench.workload import answers, bench_specs

    name, text = next(iter(bench_specs(1).items()))
    spec = parse_spec(text.encode(), name)
    endpoint = BenchEndpoint(answers=answers(), seconds_per_token=0.0)
    router = ModelRouter(default=Endpoint(model="bench", base_url="http://bench.test/v1"))
    client = ModelClient(router, http_client=endpoint.transport(), sleep=lambda s: None)
    tasks = list(spec.tasks or [])
    with tempfile.TemporaryDirectory(prefix="airflow-llm-bench-") as work:
        settings = GenerationSettings(work_dir=Path(work))
        states = ArtifactGenerator(spec, tasks, client, settings).generate_all()
    records = {task: state.record() for task, state in states.items()}
    return render_bundle(spec, tasks, {n: s.content for n, s in states.items()}, records)


def first_use() -> dict[str, float]:
    """Seconds before each validator's first answer in a fresh process (imports included);
    prints them as JSON when run as a script."""
    timings: dict[str, float] = {}

    def timed(label: str, work: Callable[[], object]) -> None:
        started = time.monotonic()
        work()
        timings[label] = round(time.monotonic() - started, 2)

    def sqlfluff() -> None:
        from airflow_llm.llm.answers import extract_code_block
        from airflow_llm.validate.sql import SqlValidator

        sql = extract_code_block(SQL.format(task="daily_totals"), ("sql",))
        SqlValidator().check(sql, "a.sql", "postgres", {}, ["orders"])

    def python() -> None:
        from airflow_llm.validate.python_code import assemble_function

        assemble_function(PYTHON, "report_totals_function.py", "python", "report_totals", "x")

    def suite() -> None:
        from airflow_llm.spec_loading import parse_spec
        from airflow_llm.validate.quality import normalize_suite, suite_findings
        from bench.workload import bench_specs

        spec = parse_spec(next(iter(bench_specs(1).values())).encode(), "bench.yml")
        suite_findings(normalize_suite(json.loads(SUITE), "bench"), "s.json", spec)

    timed("sqlfluff", sqlfluff)
    timed("black_and_policy", python)
    timed("gx_suite", suite)
    return timings


def first_use_in_fresh_process() -> dict[str, float]:
    """:func:`first_use` in a new interpreter (what a new task instance process pays)."""
    code = "import json; from bench.validation import first_use; print(json.dumps(first_use()))"
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    timings: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    timings["process_seconds"] = round(time.monotonic() - started, 2)
    return timings


def bundle_files(config: Any, pipeline: str = spec_name(0)) -> dict[str, str]:
    """The files of a published bench bundle (``bundles/dev/<pipeline>/``)."""
    from airflow_llm.embedded.s3_server import s3_client

    client = s3_client(config)
    prefix = f"bundles/dev/{pipeline}/"
    listing = client.list_objects_v2(Bucket=config.bucket, Prefix=prefix)["Contents"]
    return {
        item["Key"][len(prefix) :]: client.get_object(Bucket=config.bucket, Key=item["Key"])["Body"]
        .read()
        .decode()
        for item in listing
    }


if __name__ == "__main__":  # the gates' figure on its own: python -m bench.validation
    with tempfile.TemporaryDirectory(prefix="airflow-llm-bench-") as scratch:
        print(json.dumps(gate_seconds(spec_name(0), bench_bundle(), Path(scratch)), indent=2))
