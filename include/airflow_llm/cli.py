"""The ``airflow-llm`` command line.

Subcommands: ``validate-spec``, ``schema``, ``serve-model``, ``services``,
``setup-tiktoken`` and ``demo``. Exit codes: 0 success, 1 runtime failure,
2 invalid input (such as an invalid spec).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from airflow_llm.embedded.config import EmbeddedConfig
from airflow_llm.embedded.process import ServiceError

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
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

    tiktoken = commands.add_parser("setup-tiktoken", help="install tiktoken encodings offline")
    tiktoken.add_argument("--cache-dir", type=Path, help="default: $TIKTOKEN_CACHE_DIR")
    tiktoken.set_defaults(run=_setup_tiktoken)

    demo = commands.add_parser(
        "demo", help="upload example specs to the embedded bucket, check them"
    )
    demo.add_argument("specs", type=Path, nargs="?", default=Path("specs"))
    demo.set_defaults(run=_demo)
    return parser


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


def _setup_tiktoken(args: argparse.Namespace) -> int:
    from airflow_llm.tiktoken_offline import install_encodings

    for path in install_encodings(args.cache_dir):
        print(f"tiktoken encoding ready: {path}")
    return EXIT_OK


def _demo(args: argparse.Namespace) -> int:
    from airflow_llm.demo import run_demo

    return run_demo(args.specs, EmbeddedConfig.from_env())
