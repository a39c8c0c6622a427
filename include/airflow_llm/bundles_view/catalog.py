"""The bucket as the Bundles view reads it: current bundles, every version with how it
reached its environment, and every run's report.

Everything comes from objects the product writes (:mod:`airflow_llm.publish`,
:mod:`airflow_llm.stages`), so nothing is lost when Airflow restarts:

- ``bundles/<env>/<pipeline>/manifest.json``: the current bundle; its LastModified is
  when it became current.
- ``bundle-versions/<env>/<pipeline>/<version>/manifest.json``: every version, written
  once; its LastModified is when the version first reached that environment.
- ``reports/<pipeline>/<run>-<env>[-<8 hex>].json`` (and ``.md``): the report of every
  run that generated or refused the pipeline; a valid report names the version it was
  published with (``bundle``).

A pipeline's history in one environment follows from those in time order: a valid
report publishes its version (or finds it current already: unchanged), a rejected
report rejects, and a version that no report of the environment names was promoted from
the environment that held it first.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from botocore.exceptions import ClientError

from airflow_llm.publish import MANIFEST, bundle_identity, is_missing, manifest_sha256

BUNDLES, VERSIONS, REPORTS = "bundles/", "bundle-versions/", "reports/"
_CLAIMED_NAME = re.compile(r"^(?P<run>.+)-(?P<environment>[a-z][a-z0-9_]*)-[0-9a-f]{8}$")
"""A report name of a spec refused before it had a name of its own: ``<run>-<env>-<hash
of the spec's URI>``."""
_NAME = re.compile(r"^(?P<run>.+)-(?P<environment>[a-z][a-z0-9_]*)$")
"""Any other report name: ``<run>-<env>`` (environment names are snake_case)."""

EventKind = Literal["published", "republished", "unchanged", "promoted", "rejected", "passed"]
"""What happened to a pipeline in an environment:

- ``published``: a run published a version new to the environment;
- ``republished``: a run made an older version of the environment current again;
- ``unchanged``: a run's valid bundle was the current one already;
- ``promoted``: a version came from another environment without a run of its own;
- ``rejected``: a run refused the spec (its report says why);
- ``passed``: a valid report that names no version (written before reports did).
"""
MAKES_CURRENT: frozenset[str] = frozenset({"published", "republished", "promoted"})
"""The kinds of event after which the event's version is the current one."""


@dataclass(frozen=True)
class StoredObject:
    """One object of a bucket listing."""

    key: str
    etag: str
    modified: datetime


class BucketReader:
    """Lists and reads one bucket, keeping each object it read by key and ETag: reports and
    versions are written once, so reading the bucket again fetches only what changed."""

    def __init__(self, client: Any, bucket: str) -> None:
        self.client = client
        self.bucket = bucket
        self._texts: dict[str, tuple[str, str]] = {}

    def listing(self, prefix: str) -> list[StoredObject]:
        """Every object under ``prefix``."""
        found = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                found.append(StoredObject(item["Key"], item["ETag"], item["LastModified"]))
        return found

    def text(self, item: StoredObject) -> str:
        """The object's text (UTF-8; ``UnicodeDecodeError`` for anything else)."""
        kept = self._texts.get(item.key)
        if kept is not None and kept[0] == item.etag:
            return kept[1]
        body = self.client.get_object(Bucket=self.bucket, Key=item.key)["Body"].read()
        text = str(body.decode())
        self._texts[item.key] = (item.etag, text)
        return text

    def text_of(self, key: str) -> str | None:
        """The text of the object ``key`` (not kept), None when there is none."""
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as error:
            if is_missing(error):
                return None
            raise
        return str(body.decode(errors="replace"))

    def keep_only(self, keys: Iterable[str]) -> None:
        """Forget the objects not in ``keys`` (deleted since)."""
        wanted = set(keys)
        self._texts = {key: kept for key, kept in self._texts.items() if key in wanted}

    def uri(self, key: str) -> str:
        """``s3://bucket/key``."""
        return f"s3://{self.bucket}/{key}"


@dataclass(frozen=True)
class Report:
    """One run's report for one pipeline in one environment."""

    pipeline: str
    environment: str
    run: str
    name: str
    """The object name without ``.json``: ``<run>-<env>`` (``-<8 hex>`` for a refused spec)."""
    key: str
    written: datetime
    data: Mapping[str, Any]

    @property
    def valid(self) -> bool:
        """Whether the run's bundle passed everything (and was published)."""
        return self.data.get("valid") is True

    @property
    def reason(self) -> str | None:
        """Why the run refused the spec."""
        reason = self.data.get("reason")
        return str(reason) if reason is not None else None

    @property
    def version(self) -> str | None:
        """The version a valid report was published with (None before reports named it)."""
        bundle = self.data.get("bundle")
        return str(bundle["version"]) if isinstance(bundle, Mapping) else None

    @property
    def totals(self) -> Mapping[str, Any]:
        """Model calls, cache hits, tokens, cost and seconds of the run."""
        totals = self.data.get("totals")
        return totals if isinstance(totals, Mapping) else {}

    @property
    def markdown_key(self) -> str:
        """The key of the report for people (``report.md``)."""
        return self.key.removesuffix(".json") + ".md"


@dataclass(frozen=True)
class Version:
    """One published version of a pipeline in one environment."""

    environment: str
    pipeline: str
    version: str
    sha256: str
    written: datetime
    manifest: Mapping[str, Any]


@dataclass(frozen=True)
class Event:
    """One step of a pipeline's history in one environment (see :data:`EventKind`)."""

    environment: str
    pipeline: str
    at: datetime
    kind: EventKind
    version: str | None = None
    report: Report | None = None
    source: str | None = None
    """The environment a promoted version came from."""


@dataclass(frozen=True)
class Bundle:
    """The current bundle of a pipeline in one environment."""

    environment: str
    pipeline: str
    version: Version
    published_at: datetime
    """When it became current (its manifest's LastModified)."""
    report: Report | None
    """The report of the run that generated it (in the environment it was promoted from,
    for a promoted one); None when no report names its version."""
    origin: Event | None
    """The event that made it current (None when the history does not show it)."""


@dataclass(frozen=True)
class Catalog:
    """Everything the Bundles view shows, read from one bucket at one moment."""

    bucket: str
    environments: tuple[str, ...]
    bundles: tuple[Bundle, ...]
    versions: tuple[Version, ...]
    reports: tuple[Report, ...]
    events: tuple[Event, ...]
    """Every pipeline's history, oldest first."""
    problems: tuple[str, ...]
    """Objects that could not be read (each names its URI and what is wrong)."""
    read_at: datetime

    def bundle(self, environment: str, pipeline: str) -> Bundle | None:
        """The current bundle of ``pipeline`` in ``environment``."""
        return next(
            (b for b in self.bundles if (b.environment, b.pipeline) == (environment, pipeline)),
            None,
        )

    def history(self, environment: str, pipeline: str) -> list[Event]:
        """The pipeline's events in ``environment``, newest first."""
        events = [e for e in self.events if (e.environment, e.pipeline) == (environment, pipeline)]
        return events[::-1]

    def report(self, pipeline: str, name: str) -> Report | None:
        """The report ``reports/<pipeline>/<name>.json``."""
        return next((r for r in self.reports if (r.pipeline, r.name) == (pipeline, name)), None)

    def standing_rejections(self) -> list[Event]:
        """Per environment and pipeline whose latest event is a rejection, that rejection
        (newest first): the specs that have no bundle from their latest run."""
        latest: dict[tuple[str, str], Event] = {}
        for event in self.events:
            latest[(event.environment, event.pipeline)] = event
        rejected = [event for event in latest.values() if event.kind == "rejected"]
        return sorted(rejected, key=lambda event: event.at, reverse=True)


def read_catalog(reader: BucketReader, environments: Sequence[str]) -> Catalog:
    """Read the bucket behind ``reader``; ``environments`` (the deployment's, in promotion
    order) come first, then any other environment the bucket holds."""
    documents = _Documents(reader)
    current = reader.listing(BUNDLES)
    stored = reader.listing(VERSIONS)
    written = reader.listing(REPORTS)
    versions = _versions(stored, documents)
    reports = _reports(written, documents)
    events = _events(reports, versions)
    bundles = _bundles(current, versions, reports, events, documents)
    reader.keep_only(item.key for item in [*current, *stored, *written])
    seen = {v.environment for v in versions} | {r.environment for r in reports}
    ordered = [*environments, *sorted(seen - set(environments))]
    return Catalog(
        bucket=reader.bucket,
        environments=tuple(ordered),
        bundles=tuple(bundles),
        versions=tuple(versions),
        reports=tuple(reports),
        events=tuple(events),
        problems=tuple(documents.problems),
        read_at=datetime.now(UTC),
    )


@dataclass
class _Documents:
    """JSON objects of one reading of the bucket, and the problems met reading them."""

    reader: BucketReader
    problems: list[str] = field(default_factory=list)

    def read(self, item: StoredObject) -> tuple[str, dict[str, Any]] | None:
        """The object's text and JSON object; None (and a problem) when it is not one."""
        try:
            text = self.reader.text(item)
            data = json.loads(text)
        except ValueError as error:  # not UTF-8, or not JSON
            self.problem(item.key, f"not a JSON document ({error})")
            return None
        if not isinstance(data, dict):
            self.problem(item.key, "not a JSON object")
            return None
        return text, data

    def problem(self, key: str, what: str) -> None:
        """Record that the object ``key`` is not what its place says."""
        self.problems.append(f"{self.reader.uri(key)}: {what}")

    def manifests(
        self, listed: list[StoredObject], parts: int
    ) -> Iterator[tuple[list[str], StoredObject, str, dict[str, Any]]]:
        """The ``manifest.json`` objects whose key has ``parts`` parts: the key's parts,
        the object, its text and its JSON."""
        for item in listed:
            names = item.key.split("/")
            if len(names) == parts and names[-1] == MANIFEST:
                read = self.read(item)
                if read is not None:
                    yield names, item, *read


def _versions(stored: list[StoredObject], documents: _Documents) -> list[Version]:
    versions = []
    for parts, item, text, manifest in documents.manifests(stored, 5):
        _, environment, pipeline, version, _ = parts
        sha256 = manifest_sha256(text)
        versions.append(Version(environment, pipeline, version, sha256, item.modified, manifest))
    return sorted(versions, key=lambda v: v.written)


def _reports(written: list[StoredObject], documents: _Documents) -> list[Report]:
    reports = []
    for item in written:
        parts = item.key.split("/")
        if len(parts) != 3 or not parts[2].endswith(".json"):
            continue
        name = parts[2].removesuffix(".json")
        match = _CLAIMED_NAME.match(name) or _NAME.match(name)
        if match is None:
            documents.problem(item.key, "not named <run>-<environment>.json")
            continue
        read = documents.read(item)
        if read is not None:
            run, environment = match["run"], match["environment"]
            reports.append(
                Report(parts[1], environment, run, name, item.key, item.modified, read[1])
            )
    return sorted(reports, key=lambda r: r.written)


def _events(reports: list[Report], versions: list[Version]) -> list[Event]:
    """Every pipeline's history in every environment, oldest first."""
    arrivals: dict[str, list[Version]] = defaultdict(list)
    for version in versions:
        arrivals[version.version].append(version)  # already oldest first
    steps: dict[tuple[str, str], list[tuple[datetime, int, Report | Version]]] = defaultdict(list)
    for report in reports:
        steps[(report.environment, report.pipeline)].append((report.written, 0, report))
    for version in versions:  # a version is written just after the report naming it
        steps[(version.environment, version.pipeline)].append((version.written, 1, version))
    events: list[Event] = []
    for (environment, pipeline), timeline in steps.items():
        timeline.sort(key=lambda step: (step[0], step[1]))
        events += _pipeline_events(environment, pipeline, [step[2] for step in timeline], arrivals)
    return sorted(events, key=lambda event: event.at)


def _pipeline_events(
    environment: str,
    pipeline: str,
    timeline: list[Report | Version],
    arrivals: Mapping[str, list[Version]],
) -> list[Event]:
    events: list[Event] = []
    current: str | None = None
    known: set[str] = set()  # versions the environment held before
    for step in timeline:
        if isinstance(step, Report):
            kind: EventKind
            if not step.valid:
                kind = "rejected"
            elif step.version is None:
                kind = "passed"
            elif step.version == current:
                kind = "unchanged"
            else:
                kind = "republished" if step.version in known else "published"
                current = step.version
                known.add(step.version)
            events.append(Event(environment, pipeline, step.written, kind, step.version, step))
        elif step.version not in known:  # no report of this environment named it first
            source = next(
                (
                    v.environment
                    for v in arrivals[step.version]
                    if v.environment != environment and v.written <= step.written
                ),
                None,
            )
            kind = "promoted" if source is not None else "published"
            events.append(
                Event(environment, pipeline, step.written, kind, step.version, None, source)
            )
            current = step.version
            known.add(step.version)
    return events


def _bundles(
    current: list[StoredObject],
    versions: list[Version],
    reports: list[Report],
    events: list[Event],
    documents: _Documents,
) -> list[Bundle]:
    by_version = {(v.environment, v.pipeline, v.version): v for v in versions}
    bundles = []
    for parts, item, text, _ in documents.manifests(current, 4):
        _, environment, pipeline, _ = parts
        name = bundle_identity(text)["version"]
        version = by_version.get((environment, pipeline, name))
        if version is None:
            documents.problem(item.key, f"no version {name} under {VERSIONS}")
            continue
        origin = next(
            (
                e
                for e in reversed(events)
                if (e.environment, e.pipeline, e.version) == (environment, pipeline, name)
                and e.kind in MAKES_CURRENT
            ),
            None,
        )
        report = _generating_report(reports, environment, pipeline, name)
        bundles.append(Bundle(environment, pipeline, version, item.modified, report, origin))
    return sorted(bundles, key=lambda b: (b.environment, b.pipeline))


def _generating_report(
    reports: list[Report], environment: str, pipeline: str, version: str
) -> Report | None:
    """The first valid report that names ``version``: of ``environment``, else of any (a
    promoted version was generated where it came from)."""
    naming = [r for r in reports if r.valid and (r.pipeline, r.version) == (pipeline, version)]
    here = [r for r in naming if r.environment == environment]
    return next(iter(here or naming), None)
