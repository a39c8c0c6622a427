"""The Bundles view on a real SeaweedFS bucket that the project's own code wrote: bundles
and reports from the engine (a scripted model), published and promoted with
``publish_bundle`` as the DAGs do. Its catalog, its metrics, and its pages as Airflow's
API server mounts them from ``plugins/``, behind Airflow's auth manager."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from airflow_llm.bundles_view.catalog import BucketReader, Catalog, read_catalog
from airflow_llm.bundles_view.metrics import exposition, registry_for
from airflow_llm.embedded.config import EmbeddedConfig
from airflow_llm.embedded.s3_server import s3_client
from tests.bundles_history import HOSTILE, PIPELINE, REFUSED, History, write_history

pytestmark = pytest.mark.integration
REPO_ROOT = Path(__file__).resolve().parents[2]
DEV, STAGING = "view_dev", "view_staging"
"""Environments of these tests alone: the session's bucket holds other tests' bundles."""


@pytest.fixture(scope="module")
def history(s3_server: EmbeddedConfig, tmp_path_factory: pytest.TempPathFactory) -> History:
    """A pipeline's history in ``view_dev`` and ``view_staging`` (see write_history)."""
    s3, work = s3_client(s3_server), tmp_path_factory.mktemp("work")
    return write_history(s3, s3_server.bucket, DEV, STAGING, work)


def catalog_of(history: History) -> Catalog:
    return read_catalog(BucketReader(history.client, history.bucket), [DEV, STAGING])


def test_the_catalog_tells_each_step_of_a_pipelines_history(history: History) -> None:
    catalog = catalog_of(history)
    assert catalog.environments[:2] == (DEV, STAGING)
    steps = [(event.kind, event.version) for event in catalog.history(DEV, PIPELINE)]
    assert steps == [
        ("republished", history.v1),
        ("published", history.v2),
        ("unchanged", history.v1),
        ("published", history.v1),
        ("rejected", None),
    ]
    rejected = catalog.history(DEV, PIPELINE)[-1].report
    assert rejected is not None
    assert rejected.reason == "still invalid after repairs: build_totals"

    current = catalog.bundle(DEV, PIPELINE)
    assert current is not None
    assert current.origin is not None
    assert (current.version.version, current.origin.kind) == (history.v1, "republished")
    assert current.report is not None
    assert current.report.name == f"run2-{DEV}"
    assert current.version.manifest["pipeline"] == PIPELINE

    staged = catalog.bundle(STAGING, PIPELINE)
    assert staged is not None
    assert staged.origin is not None
    assert (staged.origin.kind, staged.origin.source) == ("promoted", DEV)
    assert staged.version.sha256 == current.version.sha256
    assert staged.report == current.report, "a promoted bundle shows the run that made it"

    standing = [(e.environment, e.pipeline, e.report.run) for e in catalog.standing_rejections()]
    assert [step for step in standing if step[0] in (DEV, STAGING)] == [(DEV, REFUSED, "run1")]


def test_an_unreadable_object_is_named_and_the_rest_still_reads(history: History) -> None:
    key = f"reports/view_garbled/run1-{DEV}.json"
    history.client.put_object(Bucket=history.bucket, Key=key, Body=b"{not json")
    try:
        catalog = catalog_of(history)
    finally:
        history.client.delete_object(Bucket=history.bucket, Key=key)
    assert [p for p in catalog.problems if "view_garbled" in p] == [
        f"s3://{history.bucket}/{key}: not a JSON document "
        "(Expecting property name enclosed in double quotes: line 1 column 2 (char 1))"
    ]
    assert catalog.bundle(DEV, PIPELINE) is not None


def samples(history: History) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the view's exposition, by name and labels."""
    text = exposition(registry_for(lambda: catalog_of(history))).decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_count_publications_runs_tokens_and_gates(history: History) -> None:
    found = samples(history)

    def total(name: str, **labels: str) -> float:
        """The sum of ``name``'s samples that have ``labels`` (and any others)."""
        wanted = set(labels.items())
        return sum(value for (n, got), value in found.items() if n == name and wanted <= set(got))

    assert total("airflow_llm_catalog_up") == 1
    published = "airflow_llm_bundles_published_total"
    assert total(published, environment=DEV, origin="generated") == 3
    assert total(published, environment=DEV, origin="promoted") == 0
    assert total(published, environment=STAGING, origin="promoted") == 1
    assert total("airflow_llm_bundles_rejected_total", environment=DEV) == 2
    assert total("airflow_llm_bundles_unchanged_total", environment=DEV) == 1
    assert total("airflow_llm_bundles_current", environment=STAGING) == 1

    # the figures the engine counted into each report's totals, per role and model here
    reports = [r for r in catalog_of(history).reports if r.environment == DEV]
    calls = sum(r.totals["model_calls"] for r in reports)
    assert total("airflow_llm_model_calls_total", environment=DEV) == calls > 0
    hits = sum(r.totals["cache_hits"] for r in reports)
    assert total("airflow_llm_cache_hits_total", environment=DEV) == hits
    for kind in ("prompt", "completion"):
        tokens = sum(r.totals[f"{kind}_tokens"] for r in reports)
        assert total("airflow_llm_tokens_total", environment=DEV, type=kind) == tokens > 0
    for role in ("plan", "sql", "quality", "python"):
        assert total("airflow_llm_model_calls_total", environment=DEV, role=role, model="m") > 0
    assert total("airflow_llm_attempts_total", environment=DEV, role="sql") == 4 + 3

    assert total("airflow_llm_gate_seconds_count", environment=DEV) == 4, "the valid runs"
    assert total("airflow_llm_gate_runs_total", environment=DEV, outcome="passed") == 4
    assert total("airflow_llm_gate_pass_ratio", environment=DEV) == 1.0


@pytest.fixture
def airflow_api(
    airflow_db: Path, s3_connection: EmbeddedConfig, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    """Airflow's API server app (in process) with the plugins of ``plugins/``."""
    from airflow import plugins_manager, settings
    from airflow.api_fastapi.app import create_app, purge_cached_app

    loaded = [
        plugins_manager._get_plugins,
        plugins_manager._get_ui_plugins,
        plugins_manager.get_fastapi_plugins,
        plugins_manager.get_flask_plugins,
    ]
    monkeypatch.setattr(settings, "PLUGINS_FOLDER", str(REPO_ROOT / "plugins"))
    for cached in loaded:
        cached.cache_clear()
    try:
        with TestClient(create_app(apps="core")) as api:
            yield api
    finally:
        for cached in loaded:
            cached.cache_clear()
        purge_cached_app()


def test_the_view_in_airflows_api_server_needs_airflows_login(
    history: History, airflow_api: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager

    pages = ["/bundles/", f"/bundles/{DEV}/{PIPELINE}", "/bundles/metrics"]
    pages.append(f"/bundles/reports/{REFUSED}/{history.refused_report}")
    for page in pages:
        assert airflow_api.get(page).status_code == 401, page

    password = SimpleAuthManager.get_passwords()["admin"]
    login = airflow_api.post("/auth/token", json={"username": "admin", "password": password})
    token = login.json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    for page in pages:
        assert airflow_api.get(page, headers=bearer).status_code == 200, page

    overview = airflow_api.get("/bundles/", headers=bearer).text
    assert f'href="/bundles/{DEV}/{PIPELINE}"' in overview
    assert f"promoted from {DEV}" in overview
    detail = airflow_api.get(f"/bundles/{DEV}/{PIPELINE}", headers=bearer).text
    for shown in (history.v1, "republished", "build_totals", "Tokens and cost", "Smoke run"):
        assert shown in detail, shown
    assert "<h1>view_totals: valid</h1>" in detail, "the report, rendered"
    refused = airflow_api.get(pages[3], headers=bearer).text
    assert HOSTILE not in refused
    assert "&lt;script&gt;" in refused

    # the UI's session: the JWT in the _token cookie, as the view's iframe sends it
    airflow_api.cookies.set("_token", token)
    assert airflow_api.get(f"/bundles/{STAGING}/{PIPELINE}").status_code == 200
    listed = airflow_api.get("/api/v2/plugins").json()["plugins"]
    view = next(p for p in listed if p["name"] == "airflow_llm_bundles")
    assert view["external_views"][0]["href"] == "/bundles/"
    assert view["fastapi_apps"][0]["url_prefix"] == "/bundles"


def test_a_deployment_may_open_metrics_to_its_scraper_alone(
    airflow_api: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_llm.bundles_view.plugin import bundles_app

    monkeypatch.setenv("AIRFLOW__AIRFLOW_LLM__METRICS_PUBLIC", "True")
    view = TestClient(bundles_app())
    assert view.get("/metrics").status_code == 200
    assert "airflow_llm_bundles_published_total" in view.get("/metrics").text
    assert view.get("/").status_code == 401
