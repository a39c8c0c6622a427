"""The Bundles view's parts alone: report names, the catalog's reading interval, a
bucket that cannot be read, and the access check on every route (S3 is moto's in-process
stand-in here; tests/integration/test_bundles_view.py reads a real SeaweedFS bucket)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from fastapi import HTTPException
from fastapi.testclient import TestClient
from moto import mock_aws

from airflow_llm.bundles_view.app import create_app
from airflow_llm.bundles_view.catalog import BucketReader, read_catalog
from airflow_llm.bundles_view.metrics import exposition, registry_for
from airflow_llm.bundles_view.source import CatalogSource, CatalogUnavailableError
from airflow_llm.publish import write_report

BUCKET = "view-unit"
REPORT = {"report.json": '{"pipeline": "p", "valid": false, "reason": "no"}', "report.md": "# p\n"}


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def test_report_names_give_run_and_environment(s3: Any) -> None:
    write_report(s3, BUCKET, "p", "manual__2026-11-29T14_28_28.123_00_00-dev", REPORT)
    write_report(s3, BUCKET, "p", "scheduled__2026-11-29T14_30_00_00_00-prod-0a1b2c3d", REPORT)
    write_report(s3, BUCKET, "p", "nameless", REPORT)
    catalog = read_catalog(BucketReader(s3, BUCKET), ["dev", "staging", "prod"])
    found = sorted((r.environment, r.run) for r in catalog.reports)
    assert found == [
        ("dev", "manual__2026-11-29T14_28_28.123_00_00"),
        ("prod", "scheduled__2026-11-29T14_30_00_00_00"),
    ]
    assert catalog.problems == (
        f"s3://{BUCKET}/reports/p/nameless.json: not named <run>-<environment>.json",
    )
    assert catalog.environments == ("dev", "staging", "prod")
    assert [event.kind for event in catalog.standing_rejections()] == ["rejected", "rejected"]


def test_the_bucket_is_read_again_once_the_reading_is_older_than_max_age(s3: Any) -> None:
    now = [0.0]
    source = CatalogSource(lambda: s3, BUCKET, ["dev"], max_age=15.0, clock=lambda: now[0])
    assert source.catalog().reports == ()
    write_report(s3, BUCKET, "p", "run1-dev", REPORT)
    now[0] = 14.0
    assert source.catalog().reports == ()
    now[0] = 15.0
    assert [report.name for report in source.catalog().reports] == ["run1-dev"]


def unreachable() -> Any:
    """A client of an S3 endpoint where nothing listens, trying once."""
    return boto3.client(
        "s3",
        endpoint_url="http://127.0.0.1:9",
        region_name="us-east-1",
        aws_access_key_id="k",
        aws_secret_access_key="s",
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=1),
    )


def test_a_bucket_that_cannot_be_read_is_a_503_and_catalog_up_0() -> None:
    source = CatalogSource(unreachable, "gone", ["dev"])
    with pytest.raises(CatalogUnavailableError, match=r"^cannot read s3://gone: "):
        source.catalog()
    assert "airflow_llm_catalog_up 0.0" in exposition(registry_for(source.catalog)).decode()
    view = TestClient(create_app(source, lambda: None))
    answer = view.get("/")
    assert answer.status_code == 503
    assert answer.text.startswith("cannot read s3://gone: ")
    assert view.get("/metrics").status_code == 200


def refuse() -> None:
    raise HTTPException(401, "Not authenticated")


@pytest.mark.parametrize("public", [False, True])
def test_every_route_asks_for_access_and_metrics_only_unless_public(s3: Any, public: bool) -> None:
    write_report(s3, BUCKET, "p", "run1-dev", REPORT)
    view = TestClient(
        create_app(CatalogSource(lambda: s3, BUCKET, ["dev"]), refuse, metrics_public=public)
    )
    for route in ("/", "/dev/p", "/reports/p/run1-dev"):
        assert view.get(route).status_code == 401, route
    assert view.get("/metrics").status_code == (200 if public else 401)


def test_pages_of_what_the_bucket_lacks_are_404(s3: Any) -> None:
    write_report(s3, BUCKET, "p", "run1-dev", REPORT)
    view = TestClient(create_app(CatalogSource(lambda: s3, BUCKET, ["dev"]), lambda: None))
    assert view.get("/dev/p").status_code == 200
    assert view.get("/dev/other").json() == {"detail": "nothing of 'other' in dev"}
    assert view.get("/qa/p").json() == {"detail": "no environment 'qa'"}
    assert view.get("/reports/p/run2-dev").json() == {"detail": "no report reports/p/run2-dev.json"}
