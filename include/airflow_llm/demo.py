"""``make demo``: the product on its embedded defaults.

Starts the embedded S3 and model servers (those not already running), uploads the
example specs to ``s3://<bucket>/specs/``, reads them back from the bucket and
validates them, asks the model server for one chat completion, prints a summary,
and stops the servers it started.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from openai import OpenAI

from airflow_llm.connections import S3_CONN_ID, embedded_connections
from airflow_llm.embedded.config import EmbeddedConfig
from airflow_llm.embedded.services import running_services
from airflow_llm.tables import format_table

if TYPE_CHECKING:
    from airflow_llm.intake import SpecCheck

EXIT_OK, EXIT_INVALID = 0, 2


def run_demo(specs_dir: Path, config: EmbeddedConfig) -> int:
    """Run the demo; return 0 when every uploaded spec is valid, 2 otherwise."""
    from airflow_llm.intake import check_spec_object, discover_spec_uris
    from airflow_llm.storage import storage_path, upload_specs

    started = time.monotonic()
    with running_services(config):
        os.environ.update(embedded_connections(config))
        prefix_uri = f"s3://{config.bucket}/specs/"
        uploaded = upload_specs(specs_dir, storage_path(prefix_uri, S3_CONN_ID))
        print(f"uploaded {len(uploaded)} specs from {specs_dir}/ to {prefix_uri}")
        checks = [
            check_spec_object(uri, S3_CONN_ID) for uri in discover_spec_uris(prefix_uri, S3_CONN_ID)
        ]
        print(format_table(["spec", "pipeline", "tasks", "status"], [_row(c) for c in checks]))
        for check in checks:
            for problem in check["problems"]:
                print(problem)
        print(f"model server ({config.model_alias}) says: {_hello(config)!r}")
    print(f"demo finished in {time.monotonic() - started:.1f} s; services it started are stopped")
    return EXIT_OK if all(check["valid"] for check in checks) else EXIT_INVALID


def _row(check: SpecCheck) -> tuple[str, str, str, str]:
    if not check["valid"]:
        return (check["uri"], "-", "-", f"invalid ({len(check['problems'])} problems)")
    tasks = "planned by model" if check["tasks"] is None else str(check["tasks"])
    return (check["uri"], check["pipeline"] or "-", tasks, "valid")


def _hello(config: EmbeddedConfig) -> str:
    client = OpenAI(base_url=config.model_base_url, api_key="not-needed", timeout=60)
    reply = client.chat.completions.create(
        model=config.model_alias,
        messages=[{"role": "user", "content": "In one sentence: what is Apache Airflow?"}],
        max_tokens=40,
        temperature=0,
    )
    return (reply.choices[0].message.content or "").strip()
