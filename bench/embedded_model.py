"""The embedded model: decode tokens per second, and the simplest spec to a published bundle.

Starts ``airflow-llm serve-model`` (llama.cpp with SmolLM2-135M, its default threads and
slots) on a free port, times one long answer, then runs ``airflow_llm_generate`` with
``dag.test()`` on ``specs/daily_customer_totals.yml`` with every gate, smoke run
included, from a cold response cache.
"""

from __future__ import annotations

import json
import time
from typing import Any

from airflow_llm.embedded.config import EmbeddedConfig
from airflow_llm.embedded.services import EmbeddedServices, running
from bench.airflow_runs import (
    REPO_ROOT,
    flow_variables,
    load_dag,
    model_connection,
    run_dag,
    set_pool,
)

SPEC = REPO_ROOT / "specs" / "daily_customer_totals.yml"
DECODE_PROMPT = "List thirty fruits, one per line, with one sentence about each."
DECODE_TOKENS = 256


def decode_tokens_per_second(config: EmbeddedConfig) -> dict[str, float]:
    """One request of up to ``DECODE_TOKENS`` tokens: decode tokens per second as the
    server measured them, and completion tokens per second of the whole request."""
    import httpx

    started = time.monotonic()
    reply = httpx.post(
        f"{config.model_base_url}/chat/completions",
        json={
            "model": config.model_alias,
            "messages": [{"role": "user", "content": DECODE_PROMPT}],
            "max_tokens": DECODE_TOKENS,
            "ignore_eos": True,  # llama.cpp: decode all of them
            "temperature": 0,
        },
        timeout=300,
    ).json()
    seconds = time.monotonic() - started
    tokens = int(reply["usage"]["completion_tokens"])
    timings = reply.get("timings", {})  # llama.cpp's own: decoding alone, prompt apart
    return {
        "decode_tokens": tokens,
        "decode_tokens_per_second": round(timings.get("predicted_per_second", 0.0), 1),
        "request_tokens_per_second": round(tokens / seconds, 1),
    }


def embedded_run(config: EmbeddedConfig, batch_size: int) -> dict[str, Any]:
    """Model server start-up, decode speed, and the simplest spec through the whole DAG."""
    from airflow_llm.embedded.s3_server import s3_client

    key = f"embedded/{SPEC.name}"
    s3_client(config).put_object(Bucket=config.bucket, Key=key, Body=SPEC.read_bytes())
    started = time.monotonic()
    with running([EmbeddedServices(config).model()]):
        figures: dict[str, Any] = {"server_start_seconds": round(time.monotonic() - started, 1)}
        figures["threads"] = config.model_threads
        figures["slots"] = config.model_parallel
        figures.update(decode_tokens_per_second(config))
        model_connection(config.model_base_url, config.model_alias)
        flow_variables(batch_size, config.model_parallel, "auto")  # the product's default
        set_pool(config.model_parallel)
        run = run_dag(
            load_dag("airflow_llm_generate"),
            {"spec_uris": [f"s3://{config.bucket}/{key}"], "environment": "dev"},
        )
    row = run.rows[0] if run.rows else {}
    totals = _report_totals(config, row.get("report_uri"))
    model_seconds = float(totals.get("seconds") or 0.0)
    completion = int(totals.get("completion_tokens") or 0)
    figures.update(
        {
            "spec": SPEC.name,
            "status": row.get("status"),
            "reason": row.get("reason"),
            "spec_to_bundle_seconds": round(run.seconds, 1),
            "model_calls": totals.get("model_calls"),
            "completion_tokens": completion,
            "model_seconds": round(model_seconds, 1),
            "generation_tokens_per_second": (
                round(completion / model_seconds, 1) if model_seconds else None
            ),
        }
    )
    return figures


def _report_totals(config: EmbeddedConfig, report_uri: str | None) -> dict[str, Any]:
    if not report_uri:
        return {}
    from airflow_llm.embedded.s3_server import s3_client

    key = report_uri.removeprefix(f"s3://{config.bucket}/")
    body = s3_client(config).get_object(Bucket=config.bucket, Key=key)["Body"].read()
    totals: dict[str, Any] = json.loads(body).get("totals", {})
    return totals
