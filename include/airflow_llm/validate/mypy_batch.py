"""mypy over every Python file of a bundle in one call, with a persistent cache.

Settings come from ``mypy_bundle.ini`` beside this module, never from the working
directory's configuration. Third-party imports are not followed: the check is about
the generated code's own consistency, and it stays fast (about 0.1-0.3 s warm).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from mypy import api as mypy_api

from airflow_llm.validate.findings import Finding

_LINE = re.compile(
    r"^(?P<file>[^:]+):(?P<line>\d+): (?P<level>error|note): "
    r"(?P<msg>.*?)(  \[(?P<code>[a-z-]+)\])?$"
)
CONFIG_FILE = Path(__file__).parent / "mypy_bundle.ini"
MYPY_FLAGS = (
    f"--config-file={CONFIG_FILE}",
    "--no-error-summary",
    "--show-error-codes",
    "--no-color-output",
)


def mypy_findings(files: Sequence[Path], cache_dir: Path, root: Path) -> list[Finding]:
    """Run mypy once over ``files``; findings name files relative to ``root``."""
    if not files:
        return []
    cache_dir.mkdir(parents=True, exist_ok=True)
    stdout, stderr, _ = mypy_api.run(
        [*MYPY_FLAGS, f"--cache-dir={cache_dir}", *(str(path) for path in files)]
    )
    findings = []
    for line in stdout.splitlines():
        match = _LINE.match(line)
        if match is None or match.group("level") != "error":
            continue
        path = Path(match.group("file")).resolve()
        name = (
            str(path.relative_to(root.resolve()))
            if path.is_relative_to(root.resolve())
            else str(path)
        )
        rule = f"mypy.{match.group('code') or 'error'}"
        findings.append(Finding(name, int(match.group("line")), rule, match.group("msg")))
    if stderr.strip():
        findings.append(Finding("(mypy)", None, "mypy.crash", stderr.strip().splitlines()[-1]))
    return findings
