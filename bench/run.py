"""``make bench``: every figure measured in one run, printed as a table and saved as JSON.

Usage: ``python -m bench [--skip-embedded] [--skip-cluster | --only-cluster]
[--seconds-per-token S] [--out DIR]``. The cluster runs (:mod:`bench.cluster`) come last,
when PostgreSQL and Redis are installed; otherwise the table says they were skipped.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.airflow_runs import REPO_ROOT, bench_airflow, empty_dag, run_dag
from bench.cluster_figures import times
from bench.workload import SPEC_COUNT, upload_bench_specs

SECONDS_PER_TOKEN = 0.03
"""Service time per completion token of one stream (a large model on vLLM: 20-40 ms)."""
BASELINE_SPECS = 4
"""Specs of the one-instance-per-task run: under dag.test() it has one request in flight,
so it lasts the whole service time; a quarter of the workload keeps the bench short."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the bench; print the table; write ``<out>/<timestamp>.json``."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--skip-embedded", action="store_true", help="skip the embedded model")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--skip-cluster", action="store_true", help="skip the cluster runs")
    which.add_argument("--only-cluster", action="store_true", help="only the cluster runs")
    parser.add_argument("--seconds-per-token", type=float, default=SECONDS_PER_TOKEN)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    started = time.monotonic()
    results: dict[str, Any] = {"seconds_per_token": args.seconds_per_token}
    with tempfile.TemporaryDirectory(prefix="airflow-llm-bench-") as work:
        if not args.only_cluster:
            with bench_airflow(Path(work)) as config:
                results.update(_measure(config, args, Path(work)))
        if not args.skip_cluster:
            results["cluster"] = _cluster(args.seconds_per_token, Path(work))
    results["bench_seconds"] = round(time.monotonic() - started, 1)
    print(format_results(results))
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(f"\nwritten to {path}")
    return 0


def _cluster(seconds_per_token: float, work: Path) -> dict[str, Any]:
    """The cluster runs, or why they were skipped."""
    from bench.cluster import CASES, cluster_bench, missing_prerequisites

    missing = missing_prerequisites()
    if missing:
        reason = f"{' and '.join(missing)} missing: `make cluster-prerequisites` (as root)"
        print(f"cluster runs skipped: {reason}", flush=True)
        return {"skipped": reason}
    print(f"cluster runs: a cluster of their own, {len(CASES)} runs (minutes)", flush=True)
    return cluster_bench(seconds_per_token, work / "cluster")


def _measure(config: Any, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    from airflow_llm.embedded.s3_server import s3_client
    from airflow_llm.stages import BATCH_SIZE
    from bench import bulk, validation

    results: dict[str, Any] = {
        "default_batch_size": BATCH_SIZE,
        "first_use_in_fresh_process": validation.first_use_in_fresh_process(),
    }
    validation.first_use()  # this process's validators are warm for every run below
    results["first_dag_test_seconds"] = round(run_dag(empty_dag()).seconds, 2)
    uris = upload_bench_specs(s3_client(config), config.bucket)
    cases = [
        bulk.BulkCase(concurrency=4, batch_size=1, specs=BASELINE_SPECS),
        bulk.BulkCase(concurrency=4, batch_size=BATCH_SIZE, specs=SPEC_COUNT),
        bulk.BulkCase(concurrency=16, batch_size=BATCH_SIZE, specs=SPEC_COUNT),
    ]
    results["bulk"] = []
    for case in cases:
        with bulk.serving(case, args.seconds_per_token, work) as endpoint:
            results["bulk"].append(bulk.bulk_run(case, uris, endpoint))
            if case is cases[-1]:
                results["noop"] = bulk.noop_run(endpoint)
    files = validation.bundle_files(config)
    python = [content for name, content in files.items() if name.endswith(".py")]
    results["validation"] = {
        "sqlfluff": validation.sql_files_per_second(),
        "black_files_per_second": validation.black_files_per_second(python),
        "mypy_per_bundle": validation.mypy_seconds_per_bundle(files, work / "mypy"),
        "gates_per_bundle": validation.gate_seconds("bench_pipeline_00", files, work / "gates"),
    }
    if not args.skip_embedded:
        from bench.embedded_model import embedded_run

        results["embedded"] = embedded_run(config, BATCH_SIZE)
    return results


def format_results(results: dict[str, Any]) -> str:
    """The table: figure, measured, target."""
    from airflow_llm.tables import format_table
    from bench.cluster import cluster_rows

    rows = _dag_test_rows(results) if "bulk" in results else []
    if "cluster" in results:
        rows += cluster_rows(results["cluster"])
    return format_table(("figure", "measured", "target"), rows)


def _dag_test_rows(results: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The rows of the ``dag.test()`` runs, the validators and the embedded model."""
    rows: list[tuple[str, str, str]] = []
    for run in results["bulk"]:
        label = f"C={run['endpoint_concurrency']}, batch {run['batch_size']}, {run['specs']} specs"
        target = "<= 1.15" if run["specs"] == SPEC_COUNT else "-"
        rows += [
            (f"{label}: generation / ideal", times(run["generation_ratio"]), target),
            (f"{label}: generation / packed", times(run["generation_packed_ratio"]), "-"),
            (f"{label}: whole run / ideal (gates stubbed)", times(run["run_ratio"]), "-"),
            (
                f"{label}: ideal, packed, generation, run s",
                f"{run['ideal_seconds']}, {run['packed_seconds']}, "
                f"{run['generation_seconds']}, {run['run_seconds']}",
                "-",
            ),
            (f"{label}: validation / generation", _pct(run["validation_share"]), "<= 10 %"),
        ]
    noop = results["noop"]
    rows += [
        ("no-op regeneration, 20 specs: model calls", str(noop["model_calls"]), "0"),
        ("no-op regeneration: s beyond start-up", str(noop["beyond_startup_seconds"]), "<= 10"),
    ]
    checks = results["validation"]
    sql, mypy, gates = checks["sqlfluff"], checks["mypy_per_bundle"], checks["gates_per_bundle"]
    first = results["first_use_in_fresh_process"]
    rows += [
        (
            "sqlfluff stage files/s (30-line, 8-line SQL)",
            f"{sql['files_per_second']}, {sql['short_files_per_second']}",
            ">= 20",
        ),
        ("black files/s", str(checks["black_files_per_second"]), "-"),
        ("mypy s per bundle (cold, warm)", f"{mypy['cold_seconds']}, {mypy['warm_seconds']}", "-"),
        (
            "gates s per bundle (static, with smoke run)",
            f"{gates['static_seconds']}, {gates['with_smoke_run_seconds']}",
            "<= 5 with smoke run",
        ),
        (
            "gates s for a worker's first bundle (starts the sandbox)",
            str(gates["first_bundle_seconds"]),
            "-",
        ),
        (
            "fresh process, s to first check (sqlfluff, black, GX)",
            f"{first['sqlfluff']}, {first['black_and_policy']}, {first['gx_suite']}",
            "-",
        ),
    ]
    if "embedded" in results:
        model = results["embedded"]
        rows += [
            (
                "embedded model: decode tokens/s (server; whole request)",
                f"{model['decode_tokens_per_second']}; {model['request_tokens_per_second']}",
                "-",
            ),
            (
                f"embedded model: {model['spec']} -> bundle s ({model['status']})",
                str(model["spec_to_bundle_seconds"]),
                "-",
            ),
        ]
    return rows


def _pct(share: float | None) -> str:
    return "-" if share is None else f"{100 * share:.1f} %"
