"""Secrets scan: credentials never belong in generated code, suites or specs.

Every generated artifact is scanned before it can count as valid; a hit is a blocking
finding, so the repair loop asks the model again. The patterns are the well-known
shapes of cloud keys and API tokens, private keys, passwords in URLs and password-like
assignments of literal strings; Airflow template references (``{{ var.value.x }}``,
``{{ conn.x.password }}``) and placeholders are not secrets and do not match.
Messages never repeat the secret: reports are published.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from airflow_llm.validate.findings import Finding

_NOT_A_PLACEHOLDER = r"(?![{$<%*])"
"""Values starting like ``{{ var.value.x }}``, ``${ENV}``, ``<password>``, ``%(pw)s`` or
``***`` are references or placeholders, not secrets."""


@dataclass(frozen=True)
class SecretPattern:
    """One kind of secret: a rule name, what it looks like, and what it is called."""

    rule: str
    pattern: re.Pattern[str]
    what: str


CREDENTIAL_PATTERNS = (
    SecretPattern(
        "secret.aws_access_key",
        re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"),
        "an AWS access key id",
    ),
    SecretPattern(
        "secret.aws_secret_key",
        re.compile(
            r"aws_?secret(?:_?access)?_?key[\"']?\s*[:=]\s*[\"']?[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])",
            re.IGNORECASE,
        ),
        "an AWS secret access key",
    ),
    SecretPattern(
        "secret.github_token",
        re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})"),
        "a GitHub token",
    ),
    SecretPattern(
        "secret.slack_token",
        re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
        "a Slack token",
    ),
    SecretPattern(
        "secret.api_key",
        re.compile(r"\bsk-(?:[a-z]+-)?[A-Za-z0-9_-]{20,}"),
        "an OpenAI-style API key",
    ),
    SecretPattern(
        "secret.private_key",
        re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"),
        "a private key",
    ),
    SecretPattern(
        "secret.url_password",
        re.compile(
            rf"\b[a-z][a-z0-9+.-]{{0,30}}://[^\s:/@\"']{{1,256}}:{_NOT_A_PLACEHOLDER}"
            r"[^\s/@\"']{1,256}@"
        ),
        "a password in a URL",
    ),
)
"""Shapes that are credentials wherever they appear (keys, tokens, URL passwords)."""

SECRET_PATTERNS = (
    *CREDENTIAL_PATTERNS,
    SecretPattern(
        "secret.password",
        re.compile(
            r"\b\w*?(?:password|passwd|pwd|secret|api_?key|access_?token|auth_?token)"
            rf"[\"']?\s*[:=]\s*([\"']){_NOT_A_PLACEHOLDER}[^\s\"']{{4,}}\1",
            re.IGNORECASE,
        ),
        "a password or key written as a literal",
    ),
)


_STATED_SECRET = re.compile(
    r"(\b\w*?(?:password|passwd|passphrase|pwd|secret|api_?key|access_?token|auth_?token)\w*"
    r"[\"']?\s*(?:[:=]|is|of)?\s*)([\"'])[^\"'\n]+\2",
    re.IGNORECASE,
)
"""A credential's value written in words (``password="x"``, ``the password "x"``)."""
REDACTED = "***"


def redact_secrets(text: str) -> str:
    """``text`` with the credentials' values it writes out replaced by ``***`` (a spec's
    words copied into a generated file for people to read: comments, docstrings)."""
    return _STATED_SECRET.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}{m.group(2)}", text)


def find_secrets(
    text: str, patterns: tuple[SecretPattern, ...] = SECRET_PATTERNS
) -> Iterator[tuple[int, SecretPattern]]:
    """Each (1-based line, kind of secret) found in ``text``."""
    for number, line in enumerate(text.splitlines(), 1):
        for kind in patterns:
            if kind.pattern.search(line):
                yield number, kind


def secret_findings(text: str, filename: str) -> list[Finding]:
    """One blocking finding per line and kind of secret found in ``text``."""
    return [
        Finding(
            filename,
            number,
            kind.rule,
            f"looks like {kind.what}; never write credentials into generated files: "
            "read them from an Airflow connection or variable at run time",
        )
        for number, kind in find_secrets(text)
    ]
