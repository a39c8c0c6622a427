"""PostgreSQL for the cluster: a data folder of its own (``initdb``), a server on a
loopback port with no Unix socket, and the databases the cluster needs.

The server trusts connections from the loopback address (a local development cluster;
nothing else can reach it). PostgreSQL refuses to run as root: as root, ``initdb`` and
the server run as the ``postgres`` account that Debian's package creates.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from pathlib import Path

import psycopg
from psycopg import sql

from airflow_llm.embedded.process import ServiceError

SUPERUSER = "airflow"
"""The role ``initdb`` creates; it owns every database of the cluster."""
SERVER_ACCOUNT = "postgres"
"""The system account the server runs as when the caller is root."""
INSTALL_HINT = "`make cluster-prerequisites` installs it as root (apt-get install postgresql)"


def postgres_bin(name: str) -> str:
    """A PostgreSQL program: on PATH, else the newest under /usr/lib/postgresql (Debian)."""
    found = shutil.which(name)
    if found is not None:
        return found
    candidates = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda path: int(path.parts[-3])
    )
    if not candidates:
        raise FileNotFoundError(f"PostgreSQL's `{name}` is missing: {INSTALL_HINT}")
    return str(candidates[-1])


def as_server_account(argv: list[str]) -> list[str]:
    """``argv`` run as the ``postgres`` account when this process is root."""
    if os.geteuid() != 0:
        return argv
    _server_account()
    return [
        "setpriv",
        f"--reuid={SERVER_ACCOUNT}",
        f"--regid={SERVER_ACCOUNT}",
        "--init-groups",
        "--",
        *argv,
    ]


def _server_account() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(SERVER_ACCOUNT)
    except KeyError:
        raise FileNotFoundError(
            f"as root, PostgreSQL runs as the `{SERVER_ACCOUNT}` account, which is missing: "
            f"{INSTALL_HINT}"
        ) from None


def init_data_dir(data_dir: Path) -> bool:
    """``initdb`` into ``data_dir`` unless it holds a database cluster; True when it made one."""
    if (data_dir / "PG_VERSION").is_file():
        return False
    data_dir.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        account = _server_account()
        os.chown(data_dir, account.pw_uid, account.pw_gid)
    data_dir.chmod(0o700)
    argv = [postgres_bin("initdb"), "-D", str(data_dir), "-U", SUPERUSER, "--auth=trust"]
    result = subprocess.run(
        as_server_account([*argv, "-E", "UTF8", "--no-instructions"]),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise ServiceError(f"initdb {data_dir} failed:\n{result.stdout}{result.stderr}")
    return True


def server_argv(data_dir: Path, host: str, port: int) -> list[str]:
    """The server's command line: loopback TCP only, no Unix socket."""
    argv = [postgres_bin("postgres"), "-D", str(data_dir), "-h", host, "-p", str(port), "-k", ""]
    return as_server_account([*argv, "-c", "max_connections=200"])


def database_url(host: str, port: int, database: str, scheme: str = "postgresql") -> str:
    """A URL of one database (``scheme`` names the driver: ``postgresql+psycopg2``...)."""
    return f"{scheme}://{SUPERUSER}@{host}:{port}/{database}"


def postgres_ready(host: str, port: int) -> bool:
    """True once the server accepts connections."""
    try:
        with psycopg.connect(database_url(host, port, "postgres"), connect_timeout=2) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error:
        return False
    return True


def ensure_database(host: str, port: int, name: str) -> bool:
    """Create database ``name`` unless it exists; True when this call created it."""
    with psycopg.connect(database_url(host, port, "postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists:
            return False
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return True
