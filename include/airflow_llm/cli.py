"""The ``airflow-llm`` command line.

Subcommands: ``generate``, ``plan``, ``validate``, ``validate-spec``, ``schema``,
``serve-model``, ``services``, ``up``, ``down``, ``cluster``, ``setup-tiktoken``, ``demo``,
``eval``, ``monitor`` and ``cost``. Exit codes:
0 success, 1 failure (such as a bundle that did not pass validation), 2 invalid input
(such as an invalid spec or configuration file).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from airflow_llm.config_files import ConfigError
from airflow_llm.embedded.config import EmbeddedConfig
from airflow_llm.embedded.process import ServiceError
from airflow_llm.settings import STRATEGIES, GenerationSettings, parse_strategy

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

    from airflow_llm.llm.client import ModelClient
    from airflow_llm.spec import PipelineSpec, TaskSpec

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    # Airflow logs INFO lines to stdout; keep stdout for the command's own output.
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
    except ServiceError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_INVALID
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="airflow-llm", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    validate = commands.add_parser("validate-spec", help="check spec files; exit 2 if any is bad")
    validate.add_argument("paths", nargs="+", type=Path, help="spec files or folders of specs")
    validate.set_defaults(run=_validate_spec)

    schema = commands.add_parser("schema", help="print the JSON Schema of the spec format")
    schema.set_defaults(run=_schema)

    serve = commands.add_parser(
        "serve-model", help="serve a GGUF model on an OpenAI-compatible API"
    )
    defaults = EmbeddedConfig.from_env()
    serve.add_argument("--model", type=Path, help="GGUF file (default: SmolLM2-135M-Instruct)")
    serve.add_argument("--host", default=defaults.host)
    serve.add_argument("--port", type=int, default=defaults.model_port)
    serve.add_argument("--threads", type=int, default=defaults.model_threads)
    serve.add_argument("--ctx-size", type=int, default=defaults.model_ctx_size)
    serve.add_argument("--parallel", type=int, default=defaults.model_parallel, help="slots")
    serve.add_argument("--alias", default=defaults.model_alias, help="model name in the API")
    serve.set_defaults(run=_serve_model)

    services = commands.add_parser(
        "services", help="start or stop the embedded S3 and model servers"
    )
    services.add_argument("action", choices=["up", "down", "status"])
    services.add_argument("--no-model", action="store_true", help="only the S3 server")
    services.set_defaults(run=_services)

    up = commands.add_parser("up", help="airflow standalone with the embedded services")
    up.add_argument("--settings", type=Path, default=Path("airflow_settings.yaml"))
    up.add_argument("--dags", type=Path, default=Path("dags"))
    up.set_defaults(run=_up)
    down = commands.add_parser("down", help="stop what `up` started")
    down.set_defaults(run=_down)

    cluster = commands.add_parser(
        "cluster", help="a local CeleryExecutor cluster on PostgreSQL and Redis (docs/cluster.md)"
    )
    cluster.add_argument("action", choices=["up", "down", "status", "demo"])
    cluster.add_argument("--settings", type=Path, default=Path("airflow_settings.yaml"))
    cluster.add_argument("--dags", type=Path, default=Path("dags"))
    cluster.add_argument("--specs", type=Path, default=Path("specs"), help="demo: specs to drop")
    cluster.set_defaults(run=_cluster)

    tiktoken = commands.add_parser("setup-tiktoken", help="install tiktoken encodings offline")
    tiktoken.add_argument("--cache-dir", type=Path, help="default: $TIKTOKEN_CACHE_DIR")
    tiktoken.set_defaults(run=_setup_tiktoken)

    generate = commands.add_parser("generate", help="generate a validated DAG bundle")
    _spec_arguments(generate)
    generate.add_argument("--out", type=Path, required=True, help="bundle root to write")
    _smoke_run_argument(generate)
    generate.set_defaults(run=_generate)

    plan = commands.add_parser("plan", help="print the task plan of a spec or description")
    _spec_arguments(plan)
    plan.set_defaults(run=_plan)

    recheck = commands.add_parser("validate", help="re-run the validators on a written bundle")
    recheck.add_argument("bundle", type=Path, help="bundle root (holds dags/ and manifest.json)")
    _smoke_run_argument(recheck)
    recheck.set_defaults(run=_validate_bundle)

    demo = commands.add_parser("demo", help="run the spec -> bundle DAG on the embedded services")
    demo.add_argument("specs", type=Path, nargs="?", default=Path("specs"))
    demo.add_argument("--out", type=Path, default=Path("demo_out"), help="local results folder")
    demo.add_argument("--dags", type=Path, default=Path("dags"), help="the project's DAG folder")
    demo.set_defaults(run=_demo)

    evaluate = commands.add_parser("eval", help="measure generation quality over a corpus")
    evaluate.add_argument(
        "corpus", type=Path, nargs="*", help="spec folders (default: specs and Prompt2DAG)"
    )
    evaluate.add_argument("--limit", type=int, help="at most N specs from each corpus folder")
    evaluate.add_argument("--out", type=Path, default=Path("eval/results"), help="results folder")
    evaluate.add_argument(
        "--sql-questions",
        type=Path,
        action="append",
        help="an NL -> SQL question set folder (repeatable; default: every eval/sql_accuracy*)",
    )
    scope = evaluate.add_mutually_exclusive_group()
    scope.add_argument("--skip-sql-accuracy", action="store_true", help="only the corpus")
    scope.add_argument("--sql-only", action="store_true", help="only the NL -> SQL questions")
    evaluate.add_argument(
        "--plan-only",
        action="store_true",
        help="plan the corpus specs without generating them (planning figures only)",
    )
    _endpoint_arguments(evaluate)
    evaluate.add_argument(
        "--strategy",
        type=_strategies,
        default=list(STRATEGIES),
        help="strategies to compare, comma-separated (default: free,hybrid,auto)",
    )
    evaluate.add_argument("--cache", action="store_true", help="reuse cached model answers")
    evaluate.set_defaults(run=_eval)

    monitor = commands.add_parser(
        "monitor", help="a DAG's runs, success rate, run times and cost per run (REST API v2)"
    )
    monitor.add_argument("dag_id")
    monitor.add_argument(
        "--since", type=_since, default="7d", help="7d, 12h, 30m or an ISO date (default: 7d)"
    )
    monitor.add_argument(
        "--api-url", help="API server (default: $AIRFLOW_LLM_API_URL or the local `up` one)"
    )
    monitor.add_argument("--username", default=os.environ.get("AIRFLOW_LLM_API_USERNAME", "admin"))
    monitor.add_argument(
        "--slot-prices", type=Path, help="executor slot prices (default: config/executor_slots.yml)"
    )
    monitor.set_defaults(run=_monitor)

    cost = commands.add_parser(
        "cost", help="a bulk regeneration's cost and time on each compute option"
    )
    cost.add_argument("reports", nargs="?", help="reports folder or URI (default: the bucket's)")
    cost.add_argument("--catalog", type=Path, default=Path("config/compute_options.yml"))
    cost.add_argument("--run", dest="run_key", help="the run to price (default: the last run)")
    cost.add_argument("--max-hours", type=float, help="target: hours at most")
    cost.add_argument("--min-pass-rate", type=float, help="target: pass rate at least (0-1)")
    cost.add_argument("--budget", type=float, help="constraint: USD at most")
    cost.add_argument("--no-spot", action="store_true", help="constraint: no spot capacity")
    cost.set_defaults(run=_cost)
    return parser


def _since(text: str) -> dt.datetime:
    """``7d``, ``12h``, ``30m`` ago, or an ISO date or time (UTC unless it says)."""
    relative = re.fullmatch(r"(\d+)([dhm])", text.strip())
    if relative:
        unit = {"d": "days", "h": "hours", "m": "minutes"}[relative[2]]
        return dt.datetime.now(dt.UTC) - dt.timedelta(**{unit: int(relative[1])})
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not 7d, 12h, 30m or an ISO date: {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _spec_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("description", nargs="?", help="what the pipeline does (or use --spec)")
    parser.add_argument("--spec", type=Path, help="a spec file instead of a description")
    parser.add_argument("--name", help="DAG id for a description (default: from its words)")
    parser.add_argument("--dialect", default="ansi", help="sqlfluff dialect for a description")
    parser.add_argument("--owner", action="append", help="owner (repeatable)")
    _endpoint_arguments(parser)
    parser.add_argument("--no-cache", action="store_true", help="always call the model")
    _strategy_argument(parser)


def _smoke_run_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-smoke-run",
        action="store_true",
        help="gate without running the DAG on sample data (faster; for development)",
    )


def _endpoint_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--conn-id", help="Airflow connection (openai or pydanticai type) of the endpoint"
    )
    parser.add_argument("--base-url", help="OpenAI-compatible base URL (default: embedded)")
    parser.add_argument("--model", help="model name at that endpoint")
    parser.add_argument("--api-key", help="API key (default: $AIRFLOW_LLM_API_KEY)")
    parser.add_argument("--max-attempts", type=int, default=3, help="answers per artifact")


def _strategy_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--strategy",
        choices=STRATEGIES,
        default="auto",
        help="hybrid: the model fills pattern parameters; free: it writes code; auto "
        "(default): hybrid where a pattern fits, free-form otherwise",
    )


def _strategies(text: str) -> list[str]:
    chosen = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [part for part in chosen if part not in STRATEGIES]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"strategies are {', '.join(STRATEGIES)}; not {text!r}")
    return chosen


def _spec_and_client(
    args: argparse.Namespace,
) -> tuple[PipelineSpec, ModelClient, GenerationSettings] | None:
    from airflow_llm.local_run import spec_from_description
    from airflow_llm.spec_loading import SpecError, load_spec

    if (args.spec is None) == (args.description is None):
        print("error: give a DESCRIPTION or --spec FILE (one of them)", file=sys.stderr)
        return None
    try:
        spec = (
            load_spec(args.spec)
            if args.spec
            else spec_from_description(
                args.description,
                args.name,
                owners=args.owner or ["airflow"],
                dialect=args.dialect,
            )
        )
    except SpecError as error:
        print(error, file=sys.stderr)
        return None
    except ValueError as error:  # a description-made spec with a bad --name or --dialect
        print(f"error: {error}", file=sys.stderr)
        return None
    return spec, *_client(args, cache=not args.no_cache)


def _client(args: argparse.Namespace, cache: bool) -> tuple[ModelClient, GenerationSettings]:
    from airflow_llm.local_run import local_client

    smoke_run = not getattr(args, "no_smoke_run", False)  # only generate gates
    strategy = parse_strategy(args.strategy) if isinstance(args.strategy, str) else "auto"
    settings = GenerationSettings(
        max_attempts=args.max_attempts, smoke_run=smoke_run, strategy=strategy
    )
    client = local_client(
        settings,
        base_url=args.base_url,
        model=args.model,
        api_key=args.api_key,
        cache=cache,
        conn_id=args.conn_id,
    )
    return client, settings


def _progress(message: str) -> None:
    print(f"  .. {message}", file=sys.stderr, flush=True)


def _generate(args: argparse.Namespace) -> int:
    from airflow_llm.engine import build_bundle, write_bundle
    from airflow_llm.report import TASK_TABLE_HEADERS, cost_text, task_rows
    from airflow_llm.tables import format_table

    prepared = _spec_and_client(args)
    if prepared is None:
        return EXIT_INVALID
    spec, client, settings = prepared
    print(f"generating {spec.name} with {client.router.default.identity}", file=sys.stderr)
    result = build_bundle(spec, client, settings, progress=_progress)
    dag_path = write_bundle(result, args.out)
    print(format_table(TASK_TABLE_HEADERS, task_rows(result.report)))
    totals = result.report["totals"]
    print(
        f"model calls {totals['model_calls']}, cache hits {totals['cache_hits']}, "
        f"tokens {totals['prompt_tokens']}+{totals['completion_tokens']}, "
        f"cost {cost_text(totals)}, {totals['seconds']:.1f} s"
    )
    if result.valid:
        print(f"valid bundle: {dag_path}")
        return EXIT_OK
    print(f"rejected: {result.reason} (see {args.out / 'report.md'})")
    return EXIT_FAILED


def _plan(args: argparse.Namespace) -> int:
    from airflow_llm.plan import PlanningError, plan_tasks
    from airflow_llm.tables import format_table

    prepared = _spec_and_client(args)
    if prepared is None:
        return EXIT_INVALID
    spec, client, settings = prepared
    try:
        plan = plan_tasks(spec, client, settings)
    except PlanningError as error:
        print(f"rejected: {error}")
        return EXIT_FAILED
    ways = _ways_of_writing(spec, plan.tasks, settings)
    rows = [
        (t.name, t.kind, ", ".join(t.depends_on) or "-", ways[t.name], t.description)
        for t in plan.tasks
    ]
    print(format_table(["task", "kind", "depends on", "written by", "description"], rows))
    return EXIT_OK


def _ways_of_writing(
    spec: PipelineSpec, tasks: Sequence[TaskSpec], settings: GenerationSettings
) -> dict[str, str]:
    """Per task, how the strategy would write it: the patterns its menu offers (what the
    task's words cue, before the model chooses), or free-form. Upstream first, as
    generation goes: what a task's first pattern would write (a file) is what the tasks
    after it may read."""
    from airflow_llm.bundle.render import ordered_tasks
    from airflow_llm.patterns import Relation, context_for, pattern_menu, pattern_named
    from airflow_llm.patterns.operators import OperatorPattern

    planned = spec.model_copy(update={"tasks": list(tasks)})
    outputs: dict[str, Relation] = {}
    ways = {}
    for task in ordered_tasks(list(tasks)):
        ctx = context_for(planned, task, outputs)
        menu = [] if settings.strategy == "free" else pattern_menu(ctx)
        first = pattern_named(menu[0]) if menu else None
        output = first.planned_output(ctx) if isinstance(first, OperatorPattern) else None
        if output is not None:
            outputs[task.name] = output
        custom = " or free-form" if menu and settings.strategy == "auto" else ""
        ways[task.name] = f"{' | '.join(menu)}{custom}" if menu else "free-form"
    return {task.name: ways[task.name] for task in tasks}


def _validate_bundle(args: argparse.Namespace) -> int:
    from airflow_llm.recheck import recheck_bundle
    from airflow_llm.validate.findings import errors

    findings = recheck_bundle(args.bundle, GenerationSettings(smoke_run=not args.no_smoke_run))
    for finding in findings:
        print(finding)
    blocking = len(errors(findings))
    print(f"{blocking} errors, {len(findings) - blocking} warnings", file=sys.stderr)
    return EXIT_FAILED if blocking else EXIT_OK


def _validate_spec(args: argparse.Namespace) -> int:
    from airflow_llm.spec_loading import check_spec_files, iter_spec_files

    files = list(iter_spec_files(args.paths))
    if not files:
        print("error: no spec files found", file=sys.stderr)
        return EXIT_INVALID
    specs, problems = check_spec_files(files)
    for problem in problems:
        print(problem)
    bad = len({problem.source for problem in problems})
    print(f"{len(specs)} valid, {bad} invalid", file=sys.stderr)
    return EXIT_INVALID if problems else EXIT_OK


def _schema(args: argparse.Namespace) -> int:
    from airflow_llm.spec import spec_json_schema

    print(json.dumps(spec_json_schema(), indent=2))
    return EXIT_OK


def _serve_model(args: argparse.Namespace) -> int:
    from airflow_llm.embedded.model_server import ModelServerOptions, default_model_path, serve

    options = ModelServerOptions(
        model_path=args.model or default_model_path(),
        host=args.host,
        port=args.port,
        threads=args.threads,
        ctx_size=args.ctx_size,
        parallel=args.parallel,
        alias=args.alias,
    )
    serve(options)
    return EXIT_OK


def _services(args: argparse.Namespace) -> int:
    from airflow_llm.embedded.services import EmbeddedServices

    config = EmbeddedConfig.from_env()
    processes = EmbeddedServices(config).all(with_model=not args.no_model)
    for process in processes:
        if args.action == "up":
            state = "started" if process.start() else "already running"
        elif args.action == "down":
            state = "stopped" if process.stop() else "not running"
        else:
            pid = process.running_pid()
            state = f"running (pid {pid})" if pid else "not running"
        print(f"{process.name}: {state}")
    if args.action == "up":
        print(f"S3 endpoint:  {config.s3_endpoint}  bucket: {config.bucket}")
        if not args.no_model:
            print(f"model server: {config.model_base_url}  model: {config.model_alias}")
    return EXIT_OK


def _up(args: argparse.Namespace) -> int:
    from airflow_llm.embedded.airflow_local import airflow_process, prepare_metadata
    from airflow_llm.embedded.services import EmbeddedServices

    config = EmbeddedConfig.from_env()
    for process in EmbeddedServices(config).all():
        print(f"{process.name}: {'started' if process.start() else 'already running'}")
    prepare_metadata(args.settings, config, args.dags)
    airflow = airflow_process(args.settings, config, args.dags)
    print(f"airflow: {'started' if airflow.start() else 'already running'}")
    home = config.state_dir / "airflow"
    print(f"Airflow UI: http://{config.host}:{config.airflow_port}  (user admin; password in")
    print(f"  {home / 'simple_auth_manager_passwords.json.generated'})")
    print(f"drop specs into s3://{config.bucket}/specs/ at {config.s3_endpoint};")
    print("airflow_llm_generate polls every 2 minutes; bundles appear under bundles/dev/")
    return EXIT_OK


def _down(args: argparse.Namespace) -> int:
    from airflow_llm.embedded.airflow_local import airflow_process
    from airflow_llm.embedded.services import EmbeddedServices

    config = EmbeddedConfig.from_env()
    airflow = airflow_process(Path("airflow_settings.yaml"), config, Path("dags"))
    for process in [airflow, *reversed(EmbeddedServices(config).all())]:
        print(f"{process.name}: {'stopped' if process.stop() else 'not running'}")
    return EXIT_OK


def _cluster(args: argparse.Namespace) -> int:
    from airflow_llm.cluster.config import ClusterConfig
    from airflow_llm.cluster.processes import Cluster

    config = ClusterConfig.from_env()
    cluster = Cluster(config, args.settings, args.dags)
    if args.action == "up":
        cluster.up()
        passwords = config.state_dir / "airflow" / "simple_auth_manager_passwords.json.generated"
        print(f"Airflow UI and API: {config.api_url}  (user admin; password in {passwords})")
        services = config.services
        print(f"drop specs into s3://{services.bucket}/specs/ at {services.s3_endpoint}")
    elif args.action == "down":
        for name, stopped in cluster.down():
            print(f"{name}: {'stopped' if stopped else 'not running'}")
    elif args.action == "status":
        for name, pid in cluster.status():
            print(f"{name}: {f'running (pid {pid})' if pid else 'not running'}")
    else:
        from airflow_llm.cluster.demo import run_cluster_demo

        return run_cluster_demo(cluster, args.specs)
    return EXIT_OK


def _setup_tiktoken(args: argparse.Namespace) -> int:
    from airflow_llm.tiktoken_offline import install_encodings

    for path in install_encodings(args.cache_dir):
        print(f"tiktoken encoding ready: {path}")
    return EXIT_OK


def _demo(args: argparse.Namespace) -> int:
    from airflow_llm.demo import run_demo

    return run_demo(args.specs, EmbeddedConfig.from_env(), args.out, args.dags)


def _eval(args: argparse.Namespace) -> int:
    from airflow_llm.embedded.services import running
    from airflow_llm.evaluation.corpus import default_corpus_folders, load_corpus
    from airflow_llm.evaluation.harness import model_processes, run_evaluation
    from airflow_llm.evaluation.results import write_results
    from airflow_llm.evaluation.sql_questions import QuestionSet

    folders = args.corpus or [folder for folder in default_corpus_folders() if folder.is_dir()]
    entries = [] if args.sql_only else load_corpus(folders, args.limit)
    sets = args.sql_questions or sorted(Path("eval").glob("sql_accuracy*"))
    try:
        questions = {} if args.skip_sql_accuracy else {f.name: QuestionSet.load(f) for f in sets}
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_INVALID
    client, settings = _client(args, cache=args.cache)
    print(
        f"evaluating {len(entries)} specs from {', '.join(map(str, folders)) or '-'}"
        f" and {sum(len(q.questions) for q in questions.values())} SQL questions"
        f" with {client.router.default.identity}, strategies {', '.join(args.strategy)}",
        file=sys.stderr,
    )
    with running(model_processes(client.router, EmbeddedConfig.from_env())):
        comparison = run_evaluation(
            entries,
            questions,
            client,
            settings,
            folders,
            args.strategy,
            progress=_progress,
            planning_only=args.plan_only,
        )
    for run in comparison.runs:
        print(f"strategy {run.strategy}")
        print(run.spec_table())
        print()
    print(comparison.table())
    print(f"endpoint: {', '.join(sorted(set(client.router.describe().values())))}")
    json_path, md_path = write_results(comparison, args.out)
    print(f"results: {json_path} and {md_path}")
    return EXIT_OK


def _monitor(args: argparse.Namespace) -> int:
    from airflow_llm.monitoring import PerformanceMonitor
    from airflow_llm.monitoring.display import metrics_table
    from airflow_llm.monitoring.monitor import MonitorError, api_client
    from airflow_llm.monitoring.slots import SlotCatalog

    config = EmbeddedConfig.from_env()
    url = args.api_url or os.environ.get(
        "AIRFLOW_LLM_API_URL", f"http://{config.host}:{config.airflow_port}"
    )
    try:
        slots = SlotCatalog.load(args.slot_prices)
        token = _api_token(url, args.username, config)
        with api_client(url, token) as api:
            metrics = PerformanceMonitor(api, slots).collect_dag_metrics(args.dag_id, args.since)
    except MonitorError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(metrics_table(metrics))
    return EXIT_OK


def _api_token(url: str, username: str, config: EmbeddedConfig) -> str:
    """``$AIRFLOW_LLM_API_TOKEN``, or a token for ``username`` with
    ``$AIRFLOW_LLM_API_PASSWORD`` (else the password `airflow-llm up` generated)."""
    from airflow_llm.monitoring.monitor import MonitorError, api_token

    token = os.environ.get("AIRFLOW_LLM_API_TOKEN")
    if token:
        return token
    password = os.environ.get("AIRFLOW_LLM_API_PASSWORD")
    generated = config.state_dir / "airflow" / "simple_auth_manager_passwords.json.generated"
    if password is None and generated.is_file():
        password = json.loads(generated.read_text()).get(username)
    if password is None:
        raise MonitorError(
            "set $AIRFLOW_LLM_API_TOKEN, or $AIRFLOW_LLM_API_PASSWORD for --username"
        )
    return api_token(url, username, password)


def _cost(args: argparse.Namespace) -> int:
    from airflow_llm.cost import (
        ComputeCatalog,
        Constraints,
        CostAwareScheduler,
        NothingMeetsError,
        Targets,
    )
    from airflow_llm.cost.display import choice_text, estimates_table
    from airflow_llm.cost.last_run import NoReportsError, run_tokens

    try:
        catalog = ComputeCatalog.load(args.catalog)
        used = run_tokens(_reports_root(args.reports), args.run_key)
    except NoReportsError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(
        f"run {used.run}: {used.reports} reports, {used.prompt_tokens} prompt + "
        f"{used.completion_tokens} completion tokens (cache hits included)"
    )
    targets = Targets(max_hours=args.max_hours, min_pass_rate=args.min_pass_rate)
    constraints = Constraints(budget_usd=args.budget, allow_spot=not args.no_spot)
    scheduler = CostAwareScheduler(catalog)
    print(estimates_table(scheduler.estimates(used.workload()), targets, constraints))
    try:
        choice = scheduler.optimize_resources(used.workload(), targets, constraints)
    except NothingMeetsError as error:
        print("\n".join(error.unmet))
        return EXIT_FAILED
    print(choice_text(choice))
    return EXIT_OK


def _reports_root(location: str | None) -> ObjectStoragePath:
    """The reports folder: a local folder, a URI (the storage connection's), or the
    bucket's ``reports/``."""
    from airflow_llm.connections import S3_CONN_ID
    from airflow_llm.storage import storage_path

    if location is None:
        location = f"s3://{EmbeddedConfig.from_env().bucket}/reports/"
    if "://" not in location:
        return storage_path(Path(location).resolve().as_uri())
    return storage_path(location, S3_CONN_ID)
