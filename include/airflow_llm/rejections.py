"""Standing rejections: a rejected spec waits for a change instead of running again.

A rejection is recorded at ``rejections/<env>/<key>.json`` (``key``: a hash of the
spec's URI) with the fingerprint it was rejected under: the spec's content, the
generator version, models, prompts, strategy, patterns and gates (or, for a spec that
does not parse, its bytes and the generator version). The next run skips a spec whose
fingerprint still equals the recorded one, as it skips an unchanged published spec,
until one of them changes or a run is forced. Publishing the spec removes its record.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from airflow_llm.publish import is_missing
from airflow_llm.validate.findings import sha256_text

PREFIX = "rejections/"


def rejection_key(environment: str, spec_uri: str) -> str:
    """Key of the rejection record of the spec at ``spec_uri`` in ``environment``."""
    return f"{PREFIX}{environment}/{sha256_text(spec_uri)[:16]}.json"


def record_rejection(
    client: Any,
    bucket: str,
    item: Mapping[str, Any],
    fingerprint: Mapping[str, Any],
    report_uri: str,
) -> None:
    """Record that ``item`` (uri, environment, pipeline, reason) was rejected under
    ``fingerprint``, with its report."""
    record = {
        "spec_uri": item["uri"],
        "environment": item["environment"],
        "pipeline": item["pipeline"],
        "reason": item["reason"],
        "report_uri": report_uri,
        "rejected_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "fingerprint": dict(fingerprint),
    }
    key = rejection_key(item["environment"], item["uri"])
    client.put_object(Bucket=bucket, Key=key, Body=json.dumps(record, sort_keys=True).encode())


def standing_rejection(
    client: Any, bucket: str, environment: str, spec_uri: str, fingerprint: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The spec's rejection record if it was rejected under this very fingerprint."""
    try:
        body = client.get_object(Bucket=bucket, Key=rejection_key(environment, spec_uri))["Body"]
    except ClientError as error:
        if is_missing(error):
            return None
        raise
    record: dict[str, Any] = json.loads(body.read())
    return record if record.get("fingerprint") == _json_normal(fingerprint) else None


def clear_rejection(client: Any, bucket: str, environment: str, spec_uri: str) -> None:
    """Forget the spec's rejection (it was published)."""
    client.delete_object(Bucket=bucket, Key=rejection_key(environment, spec_uri))


def _json_normal(value: Mapping[str, Any]) -> dict[str, Any]:
    """``value`` as it reads back from JSON (tuples become lists), for comparison."""
    normal: dict[str, Any] = json.loads(json.dumps(value, sort_keys=True))
    return normal
