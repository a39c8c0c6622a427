"""A content-addressed cache of model responses, on a local folder or object storage.

The key hashes everything that determines an answer: the endpoint's base URL and
model, the prompt template version, the rendered messages and the sampling
parameters. A repeated run with the same inputs therefore makes no model call.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from airflow.sdk import ObjectStoragePath


def cache_key(parts: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of ``parts``."""
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class ResponseCache:
    """Responses stored as ``<root>/<key[:2]>/<key>.json``; root is any ObjectStoragePath."""

    def __init__(self, root: ObjectStoragePath) -> None:
        self.root = root

    @classmethod
    def at(cls, uri: str, conn_id: str | None = None) -> ResponseCache:
        """A cache under ``uri`` (``file:///abs/path`` or ``s3://bucket/prefix``)."""
        return cls(ObjectStoragePath(uri, conn_id=conn_id))

    def _path(self, key: str) -> ObjectStoragePath:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored response for ``key``, or None."""
        path = self._path(key)
        try:
            value = json.loads(path.read_text())
        except (FileNotFoundError, ValueError):
            return None
        return value if isinstance(value, dict) else None

    def put(self, key: str, response: dict[str, Any]) -> None:
        """Store ``response`` under ``key`` (last writer wins: values are equal by design)."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(response, sort_keys=True))
