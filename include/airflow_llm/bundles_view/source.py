"""The catalog of one bucket, read again once it is older than a few seconds.

Pages and metric scrapes share one reading; each new reading fetches only the objects
that are new or changed (:class:`~airflow_llm.bundles_view.catalog.BucketReader`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from airflow_llm.bundles_view.catalog import BucketReader, Catalog, Report, read_catalog

MAX_AGE_SECONDS = 15.0
"""How old a reading of the bucket may be before a page or a scrape reads it again."""


class CatalogUnavailableError(RuntimeError):
    """The bucket could not be read (the message names it and says why)."""


class CatalogSource:
    """The catalog of ``bucket``, through the S3 client ``connect()`` makes on first use."""

    def __init__(
        self,
        connect: Callable[[], Any],
        bucket: str,
        environments: Sequence[str],
        max_age: float = MAX_AGE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bucket = bucket
        self.environments = tuple(environments)
        self.max_age = max_age
        self._connect = connect
        self._clock = clock
        self._reader: BucketReader | None = None
        self._read: tuple[float, Catalog] | None = None
        self._lock = threading.Lock()

    def catalog(self) -> Catalog:
        """The latest reading, or a new one when it is older than ``max_age`` seconds."""
        with self._lock:
            now = self._clock()
            if self._read is not None and now - self._read[0] < self.max_age:
                return self._read[1]
            try:
                catalog = read_catalog(self._bucket_reader(), self.environments)
            except (BotoCoreError, ClientError) as error:
                raise CatalogUnavailableError(f"cannot read s3://{self.bucket}: {error}") from error
            self._read = (now, catalog)
            return catalog

    def markdown(self, report: Report) -> str | None:
        """The report for people (``report.md``), None when it is missing."""
        with self._lock:
            try:
                return self._bucket_reader().text_of(report.markdown_key)
            except (BotoCoreError, ClientError) as error:
                raise CatalogUnavailableError(f"cannot read s3://{self.bucket}: {error}") from error

    def _bucket_reader(self) -> BucketReader:
        if self._reader is None:
            try:
                client = self._connect()
            except Exception as error:  # a missing or broken connection, whatever its type
                message = f"cannot connect to s3://{self.bucket}: {error}"
                raise CatalogUnavailableError(message) from error
            self._reader = BucketReader(client, self.bucket)
        return self._reader
