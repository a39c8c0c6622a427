"""Object storage I/O through Airflow's ``ObjectStoragePath`` (``s3://`` and ``file://`` alike)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from airflow.sdk import ObjectStoragePath

from airflow_llm.spec_loading import SPEC_SUFFIXES, iter_spec_files


def storage_path(uri: str, conn_id: str | None = None) -> ObjectStoragePath:
    """An ``ObjectStoragePath`` for ``uri`` using Airflow connection ``conn_id``."""
    return ObjectStoragePath(uri, conn_id=conn_id)


def plain_uri(path: ObjectStoragePath) -> str:
    """``protocol://bucket/key`` without the connection id that ``str(path)`` embeds."""
    return f"{path.protocol}://{path.path}"


def list_spec_objects(prefix: ObjectStoragePath) -> list[ObjectStoragePath]:
    """Spec files (by suffix) anywhere under ``prefix``, sorted by key."""
    return sorted(
        (path for path in _walk(prefix) if path.suffix.lower() in SPEC_SUFFIXES),
        key=str,
    )


def _walk(prefix: ObjectStoragePath) -> Iterator[ObjectStoragePath]:
    if not prefix.exists():
        return
    for path in prefix.iterdir():
        if path.is_dir():
            yield from _walk(path)
        else:
            yield path


def upload_specs(local_dir: Path, prefix: ObjectStoragePath) -> list[ObjectStoragePath]:
    """Copy every spec file under ``local_dir`` to ``prefix``, keeping relative paths."""
    uploaded = []
    for path in iter_spec_files([local_dir]):
        target = prefix.joinpath(*path.relative_to(local_dir).parts)
        target.write_bytes(path.read_bytes())
        uploaded.append(target)
    return uploaded
