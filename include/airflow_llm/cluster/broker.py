"""Redis as the cluster's Celery broker: a server on a loopback port, nothing persisted."""

from __future__ import annotations

import shutil
from pathlib import Path

import redis


def redis_argv(host: str, port: int, data_dir: Path) -> list[str]:
    """``redis-server`` bound to ``host``:``port``, without snapshots or an append log
    (queued messages do not outlive the cluster; the metadata database holds the state)."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise FileNotFoundError(
            "`redis-server` is missing: `make cluster-prerequisites` installs it as root "
            "(apt-get install redis-server)"
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    return [
        binary,
        "--bind",
        host,
        "--port",
        str(port),
        "--dir",
        str(data_dir),
        "--save",
        "",
        "--appendonly",
        "no",
        "--daemonize",
        "no",
    ]


def broker_url(host: str, port: int) -> str:
    """The Celery broker URL of the server."""
    return f"redis://{host}:{port}/0"


def redis_ready(url: str) -> bool:
    """True once the server answers PING."""
    try:
        return bool(redis.Redis.from_url(url, socket_timeout=2).ping())
    except redis.RedisError:
        return False
