"""What a validator found: file, line, rule, message, and whether it blocks the bundle."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Finding:
    """One problem in one generated file. Errors block the bundle; warnings are reported."""

    file: str
    line: int | None
    rule: str
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.severity}: [{self.rule}] {self.message}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def sha256_text(text: str) -> str:
    """sha256 of the UTF-8 bytes of ``text``."""
    return hashlib.sha256(text.encode()).hexdigest()


def errors(findings: Iterable[Finding]) -> list[Finding]:
    """The findings that block a bundle."""
    return [finding for finding in findings if finding.severity == "error"]
