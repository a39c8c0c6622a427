"""Where remote files are, as words write it: URLs (``https://example.org/data/x.csv``,
``ftp://files.example.org/in/x.csv``), host names written with a path but no scheme
(``example.org/data/x.csv``), and whether the words speak of an FTP server."""

from __future__ import annotations

import re
from dataclasses import dataclass

from airflow_llm.patterns.file_words import FILE_FORMATS, OTHER_EXTENSIONS

PATH_CHAR = r"(?:[A-Za-z0-9_.~/=?&%:+-]|\{\{\s*\w+\s*\}\})"
"""A character of a URL's path or query, or an Airflow macro (``{{ ds }}``)."""
_HOST = r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*(?::\d+)?"
_URL = re.compile(
    rf"\b(?P<scheme>https?|s?ftps?)://(?P<host>{_HOST})(?P<path>/{PATH_CHAR}*)?", re.IGNORECASE
)
_BARE = re.compile(
    rf"(?<![\w/.@:{{}}-])(?P<host>[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.(?P<top>[A-Za-z]{{2,}}))"
    rf"(?P<path>/{PATH_CHAR}*)"
)
_NOT_HOSTS = frozenset({*FILE_FORMATS, *OTHER_EXTENSIONS, "tsv", "ndjson", "py", "js", "gz", "zip"})
"""Endings of a name that make it a file, not a host (``orders.csv/``)."""
_MACRO_SPACING = re.compile(r"\{\{\s*(\w+)\s*\}\}")
_FTP = re.compile(r"(?<![A-Za-z])(?:ftp|FTP|Ftp)(?![a-z]|S\b)")
"""FTP (``FTP server``, ``ftp://``, ``FTPFileSensor``), not SFTP or FTPS."""


@dataclass(frozen=True)
class Location:
    """A remote file or folder the words name."""

    scheme: str | None
    """``https``, ``ftp``...; None: the words write none."""
    host: str
    path: str
    """Its path (and query) on the host, ``/`` at least, macros spaced as Airflow's."""


def stated_locations(text: str) -> list[Location]:
    """The URLs ``text`` writes out, then its scheme-less host paths, each in order."""
    found = [
        _location(match.group("scheme").lower(), match.group("host"), match.group("path"))
        for match in _URL.finditer(text)
    ]
    found += [
        _location(None, match.group("host"), match.group("path"))
        for match in _BARE.finditer(_URL.sub(" ", text))
        if match.group("top").lower() not in _NOT_HOSTS
    ]
    return list(dict.fromkeys(found))


def without_urls(text: str) -> str:
    """``text`` without the locations :func:`stated_locations` finds (their file names
    are remote files, not the task's own)."""
    text = _URL.sub(" ", text)
    return _BARE.sub(
        lambda match: match.group() if match.group("top").lower() in _NOT_HOSTS else " ", text
    )


def _location(scheme: str | None, host: str, path: str | None) -> Location:
    cleaned = _MACRO_SPACING.sub(r"{{ \1 }}", (path or "/").rstrip(".,;:?&"))
    return Location(scheme, host, cleaned or "/")


def speaks_of_ftp(text: str) -> bool:
    """Whether ``text`` speaks of FTP (an FTP server, an ``ftp://`` URL, an FTP sensor),
    not of SFTP or FTPS (other protocols, other providers)."""
    return bool(_FTP.search(text))
