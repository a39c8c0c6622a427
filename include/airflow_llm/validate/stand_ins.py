"""Local stand-ins for the services provider operators reach, inside the smoke run's child.

The smoke run runs operator tasks for real, but the sandbox reaches no host: the
services they talk to are stood in for in the child itself. S3 is moto's in-process
S3 (every boto3 call of the process is answered by it, nothing leaves the process),
with the buckets the operators' settings name created, holding the objects loads read
(written from sample rows by the parent); an object a sensor waits for is put there
before it pokes (:meth:`S3StandIn.hold`), as the producer upstream
would have written it. The stand-in remembers what each task wrote
(:meth:`S3StandIn.snapshot` before and after it runs). A file a file sensor waits for
is written under a folder of the sandbox, its connection's base path, before it pokes
(:func:`hold_file`); the files file tasks read there are written before the run
(:mod:`airflow_llm.validate.sample_files`), and so are the files the HTTP stub and the
FTP stand-in serve (under :func:`served_folder`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REGION = "us-east-1"


@dataclass
class S3StandIn:
    """The buckets of a running stand-in (none: no stand-in runs)."""

    buckets: Sequence[str]
    client: Any = None

    def hold(self, bucket: str, key: str) -> None:
        """Put an empty object at ``key`` (the one a sensor waits for)."""
        self.client.put_object(Bucket=bucket, Key=key, Body=b"")

    def snapshot(self) -> dict[str, tuple[str, int]]:
        """Every object of the buckets, as ``s3://bucket/key`` -> (ETag, size in bytes)."""
        objects: dict[str, tuple[str, int]] = {}
        for bucket in self.buckets:
            paginator = self.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=bucket):
                for item in page.get("Contents", []):
                    objects[f"s3://{bucket}/{item['Key']}"] = (item["ETag"], int(item["Size"]))
        return objects


@contextmanager
def s3_stand_in(buckets: Sequence[str], objects: Mapping[str, str]) -> Iterator[S3StandIn]:
    """moto's S3 for the ``buckets`` while the block runs (nothing when there are none),
    holding ``objects`` (``s3://bucket/key`` -> the local file with its bytes)."""
    if not buckets:
        yield S3StandIn([])
        return
    import boto3
    from moto import mock_aws

    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        for bucket in buckets:
            client.create_bucket(Bucket=bucket)
        for uri, path in objects.items():
            bucket, _, key = uri.removeprefix("s3://").partition("/")
            client.put_object(Bucket=bucket, Key=key, Body=Path(path).read_bytes())
        yield S3StandIn(list(buckets), client)


def files_folder(home: Path) -> Path:
    """The filesystem stand-in's folder: the base path of every ``fs`` connection."""
    return home / "files"


def served_folder(home: Path, service: str) -> Path:
    """The folder whose files the stand-in of a remote ``service`` (``http``, ``ftp``)
    serves, by their path there."""
    return home / "served" / service


def fs_connection(home: Path) -> dict[str, Any]:
    """The Airflow connection the file sensors' and file tasks' connection ids get: the
    folder :func:`files_folder` as their base path."""
    return {"conn_type": "fs", "extra": {"path": str(files_folder(home))}}


def hold_file(base: str, path: str) -> None:
    """Write an empty file at ``path`` under ``base``, or in it when it names a folder
    (the file a file sensor waits for, as the producer upstream would have written it)."""
    held = Path(base, path, "held") if path.endswith("/") else Path(base, path)
    held.parent.mkdir(parents=True, exist_ok=True)
    held.touch()


def aws_connection() -> dict[str, Any]:
    """The Airflow connection (JSON form) the operators' AWS connection ids get."""
    return {"conn_type": "aws", "extra": {"region_name": REGION}}


def written(
    before: dict[str, tuple[str, int]], after: dict[str, tuple[str, int]]
) -> dict[str, int]:
    """The objects of ``after`` new or changed since ``before``, with their sizes."""
    return {uri: found[1] for uri, found in after.items() if before.get(uri) != found}
