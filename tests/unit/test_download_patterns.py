"""The download patterns (``http_to_file``, ``ftp_download``) and the FTP sensor
(``ftp_sensor``): the remote files the words name, which steps they serve and which
they leave to their neighbours (``http_call``, ``http_to_s3``, ``file_sensor``,
``s3_key_sensor``), their parameters and what they refuse, the file a download plans
for the steps after it, the DAG snippets (goldens), and the smoke run's stand-ins that
serve the files: the HTTP stub and the FTP server.

After an intended change of a snippet, rewrite its golden with::

    AIRFLOW_LLM_UPDATE_GOLDENS=1 .venv/bin/pytest -n 0 tests/unit/test_download_patterns.py
"""

from __future__ import annotations

import ftplib
import json
import os
import urllib.request
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from airflow_llm.bundle.render import bound_operators
from airflow_llm.cli import _ways_of_writing
from airflow_llm.patterns import ParameterError, Relation, context_for, pattern_named
from airflow_llm.patterns.downloads import downloaded_format
from airflow_llm.patterns.urls import Location, speaks_of_ftp, stated_locations
from airflow_llm.settings import GenerationSettings
from airflow_llm.spec import Column, PipelineSpec
from airflow_llm.validate.ftp_stand_in import ftp_stand_in
from airflow_llm.validate.http_stub import SAMPLE_ROWS, http_stub
from airflow_llm.validate.sample_files import RAW_SAMPLE, seed_served
from airflow_llm.validate.sql import SAMPLE_CONTEXT
from tests.integration.test_download_gates import (
    FTP_PATTERNS,
    FTP_SPEC,
    HTTP_PATTERNS,
    HTTP_SPEC,
)
from tests.integration.test_file_gates import rendered_bundle
from tests.unit.test_pattern_applies import ranked, step_context

GOLDENS = Path(__file__).resolve().parents[1] / "fixtures" / "download_patterns"
UPDATE = os.environ.get("AIRFLOW_LLM_UPDATE_GOLDENS") == "1"
HTTP_TO_FILE, FTP_DOWNLOAD, FTP_SENSOR = (
    pattern_named(name) for name in ("http_to_file", "ftp_download", "ftp_sensor")
)


def ctx_of(spec: PipelineSpec, name: str, outputs: dict[str, Relation] | None = None) -> Any:
    task = next(task for task in spec.tasks or [] if task.name == name)
    return context_for(spec, task, outputs or {})


# -- the words -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "found"),
    [
        (
            "Get https://data.example.org:8443/v1/{{ds}}/rain.csv?unit=mm.",
            [Location("https", "data.example.org:8443", "/v1/{{ ds }}/rain.csv?unit=mm")],
        ),
        (
            "FTP connection to files.example.com/drop/stock.csv and ftp://mirror.example.com/",
            [
                Location("ftp", "mirror.example.com", "/"),
                Location(None, "files.example.com", "/drop/stock.csv"),
            ],
        ),
        ("Write data/out.csv and orders.parquet/ nothing remote", []),
        ("mail ops@example.org/today", []),
    ],
)
def test_remote_locations_are_urls_and_host_paths(text: str, found: list[Location]) -> None:
    assert stated_locations(text) == found


@pytest.mark.parametrize(
    ("text", "ftp"),
    [
        ("the vendor's FTP server", True),
        ("Operator: FTPFileSensor", True),
        ("ftp://files.example.com/a.csv", True),
        ("the SFTP server", False),
        ("over FTPS", False),
        ("an sftp drop", False),
    ],
)
def test_ftp_is_ftp_not_sftp_or_ftps(text: str, ftp: bool) -> None:
    assert speaks_of_ftp(text) is ftp


# -- which steps they serve ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "served"),
    [
        (
            "Download the buoy readings CSV from the HTTPS endpoint of the marine office. "
            "Output: buoy CSV data file (via XCom)",
            "python",
            ["http_to_file"],
        ),
        (
            "Scrape the page https://example.org/report and save the HTML to pages/report.html",
            "python",
            ["http_to_file"],
        ),
        (
            "Fetch the price list from https://example.org/prices.json and store it in a file",
            "python",
            ["http_to_file"],
        ),
        ("Pull the nightly stock export over FTP", "python", ["ftp_download"]),
        (
            "Download the flagged deliveries.csv from the courier's FTP server to the "
            "local filesystem. Output: /data/in/deliveries.csv",
            "python",
            ["ftp_download"],
        ),
        (
            "Poll the courier's FTP server for deliveries.csv before anything else "
            "(poke_interval=45, timeout=900, mode='poke') • Operator: FTPFileSensor",
            "sensor",
            ["ftp_sensor"],
        ),
    ],
)
def test_downloads_and_ftp_waits_get_their_patterns(
    text: str, kind: str, served: list[str]
) -> None:
    assert ranked(text, kind) == served


@pytest.mark.parametrize(
    ("text", "kind", "served"),
    [
        ("Fetch the open orders from the API endpoint /v1/orders", "python", ["http_call"]),
        ("POST the day's totals to https://example.org/api/totals", "python", ["http_call"]),
        (
            "Download the export from the partner API into s3://landing/partner/export.json",
            "python",
            ["http_to_s3"],
        ),
        (
            "Wait for the file /data/in/orders.csv to land in the folder",
            "sensor",
            ["file_sensor", "s3_key_sensor"],
        ),
        ("Wait for the _SUCCESS marker key in the S3 bucket", "sensor", ["s3_key_sensor"]),
        ("Download the export from the SFTP server", "python", []),
        (
            "Download the rates CSV from https://example.org/rates.csv and load it into "
            "the fx_rates table",
            "python",
            [],
        ),
        ("Upload the report to the FTP server", "python", []),
    ],
)
def test_neighbours_keep_their_steps(text: str, kind: str, served: list[str]) -> None:
    assert ranked(text, kind) == served


# -- parameters ----------------------------------------------------------------------------


def test_an_ftp_sensor_waits_for_the_file_as_the_words_say() -> None:
    ctx = ctx_of(FTP_SPEC, "wait_for_stock_file")
    assert FTP_SENSOR.parameter_schema(ctx, {})["properties"] == {
        "path": {"enum": ["stock_levels.csv"]},
        "poke_interval": {"enum": [20]},
        "timeout": {"enum": [600]},
        "mode": {"enum": ["reschedule"]},
    }


def test_a_download_asks_nothing_its_words_answer() -> None:
    north = ctx_of(HTTP_SPEC, "get_north_readings")
    assert HTTP_TO_FILE.parameter_schema(north, {})["properties"] == {
        "endpoint": {"enum": ["/open/tides.csv"]},
        "output": {"enum": ["none"]},
        "columns": {
            "type": "array",
            "items": {"enum": ["gauge_id", "read_at", "level_cm"]},
            "minItems": 3,
            "maxItems": 3,
            "uniqueItems": True,
        },
    }
    fetch = ctx_of(FTP_SPEC, "fetch_stock_file")
    schema = FTP_DOWNLOAD.parameter_schema(fetch, {})["properties"]
    assert schema["path"] == {"enum": ["stock_levels.csv"]}
    assert schema["output"] == {"enum": ["incoming/stock_levels.csv"]}
    answer = {"path": "stock_levels.csv", "output": "incoming/stock_levels.csv", "columns": []}
    assert FTP_DOWNLOAD.complete(answer, fetch)["format"] == "csv"


@pytest.mark.parametrize(
    ("words", "remote", "output", "expected"),
    [
        ("Download the data", "/export", "in/data.parquet", "parquet"),
        ("Download the data", "/export.jsonl?day=1", None, "jsonl"),
        ("Download the station CSV data", "/export", None, "csv"),
        ("Download the answer of the REST API", "/export", None, "json"),
        ("Scrape the notices page", "/notices", None, "raw"),
        ("Download the brochure", "/brochure.pdf", None, "raw"),
    ],
)
def test_the_file_format_is_the_paths_then_the_words(
    words: str, remote: str, output: str | None, expected: str
) -> None:
    assert downloaded_format(step_context(words), remote, output) == expected


@pytest.mark.parametrize(
    ("pattern", "task", "changed", "problem"),
    [
        ("http_to_file", "get_north_readings", {"output": "in/tides.json"}, "not converted"),
        ("http_to_file", "get_north_readings", {"columns": ["depth"]}, "no column 'depth'"),
        ("http_to_file", "keep_notices", {"columns": ["gauge_id"]}, "no columns"),
        ("http_to_file", "get_north_readings", {"output": "../tides.csv"}, "no '..'"),
        ("ftp_download", "fetch_stock_file", {"path": "../stock_levels.csv"}, "no '..'"),
        ("ftp_download", "fetch_stock_file", {"path": "drop/"}, "a file, not a folder"),
    ],
)
def test_parameters_a_download_refuses(
    pattern: str, task: str, changed: dict[str, Any], problem: str
) -> None:
    download = pattern_named(pattern)
    spec = HTTP_SPEC if pattern == "http_to_file" else FTP_SPEC
    ctx = ctx_of(spec, task)
    answer = {"columns": [], **changed}
    if task == "get_north_readings":
        answer = {"endpoint": "/open/tides.csv", "output": None, **answer}
    complete = download.complete(answer, ctx)
    with pytest.raises(ParameterError, match=problem):
        download.render(download.parse(complete), ctx)


# -- the file planned for the steps after it -----------------------------------------------


def test_a_download_plans_the_file_the_steps_after_it_read() -> None:
    ctx = ctx_of(HTTP_SPEC, "get_north_readings")
    columns = tuple(Column(name=n, type="VARCHAR") for n in ("gauge_id", "read_at", "level_cm"))
    planned = Relation("get_north_readings", columns, "get_north_readings", "csv")
    assert HTTP_TO_FILE.planned_output(ctx) == planned
    assert HTTP_TO_FILE.planned_output(ctx_of(HTTP_SPEC, "keep_notices")) is None, "a page"
    settings = GenerationSettings(strategy="hybrid")
    for spec, patterns in ((FTP_SPEC, FTP_PATTERNS), (HTTP_SPEC, HTTP_PATTERNS)):
        assert _ways_of_writing(spec, list(spec.tasks or []), settings) == patterns


# -- the DAG and config.yml ------------------------------------------------------------------


def bundles() -> dict[str, dict[str, str]]:
    return {
        "vendor_drop": rendered_bundle(FTP_SPEC, FTP_PATTERNS),
        "tide_gauges": rendered_bundle(HTTP_SPEC, HTTP_PATTERNS),
    }


def snippet(dag: str, task: str) -> str:
    """A task's lines of the DAG file: its comment to the statement that makes it."""
    start = dag.index(f"    # {task} (")
    return dag[start : dag.index("\n\n", dag.index(f"\n    {task} = ", start)) + 1]


@pytest.mark.parametrize(
    ("pipeline", "task"),
    [
        ("vendor_drop", "wait_for_stock_file"),
        ("vendor_drop", "fetch_stock_file"),
        ("tide_gauges", "get_north_readings"),
    ],
)
def test_the_dag_snippets_match_their_goldens(pipeline: str, task: str) -> None:
    dag = bundles()[pipeline][f"dags/{pipeline}.py"]
    golden = GOLDENS / f"{task}.py.golden"
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(snippet(dag, task))
    assert snippet(dag, task) == golden.read_text()


def test_config_names_every_connection_and_path() -> None:
    files = bundles()["vendor_drop"]
    config = yaml.safe_load(files["dags/resources/vendor_drop/config.yml"])["dev"]["operators"]
    assert config["wait_for_stock_file"] == {
        "ftp_conn_id": "<fill in: FTP connection (the server) wait_for_stock_file watches>",
        "path": "stock_levels.csv",
    }
    assert config["fetch_stock_file"] == {
        "fs_conn_id": "<fill in: filesystem connection whose path is the data folder "
        "fetch_stock_file uses>",
        "ftp_conn_id": "<fill in: FTP connection (the server) fetch_stock_file downloads from>",
        "path": "stock_levels.csv",
        "output": "incoming/stock_levels.csv",
    }
    requirements = files["dags/resources/vendor_drop/requirements.txt"].splitlines()
    assert "apache-airflow-providers-ftp==3.16.1" in requirements


# -- the smoke run's stand-ins ---------------------------------------------------------------


def operators(spec: PipelineSpec, files: dict[str, str] | None = None) -> dict[str, Any]:
    """The spec's tasks bound to their operators, from its bundle (else ``files``)."""
    files = files or bundles()[spec.name]
    resources = f"dags/resources/{spec.name}"
    records = yaml.safe_load(files[f"{resources}/tasks.yml"])["tasks"]
    artifacts = {t.name: files[f"{resources}/{t.name}_operator.json"] for t in spec.tasks or []}
    return bound_operators(list(spec.tasks or []), artifacts, {r["name"]: r for r in records})


def test_the_served_files_hold_what_the_steps_after_the_download_read(tmp_path: Path) -> None:
    bound = operators(FTP_SPEC)
    values = {name: dict(b.config(FTP_SPEC.environments["dev"])) for name, b in bound.items()}
    assert seed_served(tmp_path, bound, values, [], "postgres") == ["ftp:stock_levels.csv"]
    with duckdb.connect() as connection:
        path = str(tmp_path / "served" / "ftp" / "stock_levels.csv")
        found = connection.execute("DESCRIBE SELECT * FROM read_csv_auto($p)", {"p": path})
        assert {row[0] for row in found.fetchall()} == {"sku", "warehouse_code", "on_hand"}
    bound = operators(HTTP_SPEC)
    values = {name: dict(b.config(HTTP_SPEC.environments["dev"])) for name, b in bound.items()}
    seed_served(tmp_path, bound, values, [], "duckdb")
    assert (tmp_path / "served" / "http" / "notices").read_bytes() == RAW_SAMPLE
    south = f"tides_{SAMPLE_CONTEXT['ds_nodash']}.csv"
    assert (tmp_path / "served" / "http" / "exports" / south).exists()


def test_downloads_of_one_served_file_get_every_column_they_need(tmp_path: Path) -> None:
    words = "Download the gauges CSV (columns gauge_id, {}) from https://{}.example.org/g.csv"
    spec = PipelineSpec.model_validate(
        {
            "name": "gauges",
            "description": "d",
            "tasks": [
                {"name": "a", "kind": "python", "description": words.format("level_cm", "a")},
                {"name": "b", "kind": "python", "description": words.format("read_at", "b")},
            ],
        }
    )
    bound = operators(spec, rendered_bundle(spec, {"a": "http_to_file", "b": "http_to_file"}))
    values = {name: b.config(spec.environments["dev"]) for name, b in bound.items()}
    assert seed_served(tmp_path, bound, values, [], "duckdb") == ["http:g.csv"]
    with duckdb.connect() as connection:
        path = str(tmp_path / "served" / "http" / "g.csv")
        found = connection.execute("DESCRIBE SELECT * FROM read_csv_auto($p)", {"p": path})
        assert {row[0] for row in found.fetchall()} == {"gauge_id", "level_cm", "read_at"}


def test_the_http_stub_serves_its_files_and_answers_the_rest_with_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "open").mkdir()
    (tmp_path / "open" / "tides.csv").write_text("gauge_id,level_cm\nn1,212\n")
    monkeypatch.setenv("AIRFLOW_CONN_TIDES_API", "")
    with http_stub(["tides_api"], files=tmp_path) as requests:
        port = json.loads(os.environ["AIRFLOW_CONN_TIDES_API"])["port"]
        base = f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(f"{base}/open/tides.csv?day=1") as response:
            assert response.headers["Content-Type"] == "text/csv"
            assert response.read() == b"gauge_id,level_cm\nn1,212\n"
        with urllib.request.urlopen(f"{base}/open/../../etc/passwd") as response:
            assert json.loads(response.read())["rows"] == SAMPLE_ROWS
    assert requests == ["/open/tides.csv?day=1", "/open/../../etc/passwd"]


def test_the_ftp_stand_in_serves_its_folder_read_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow.providers.ftp.hooks.ftp import FTPHook

    (tmp_path / "drop").mkdir()
    (tmp_path / "drop" / "stock.csv").write_text("sku\nA-1\n")
    monkeypatch.setenv("AIRFLOW_CONN_VENDOR_FTP", "")
    with ftp_stand_in(["vendor_ftp"], tmp_path), FTPHook("vendor_ftp") as ftp:
        ftp.retrieve_file("drop/stock.csv", str(tmp_path / "got.csv"))
        assert ftp.list_directory("drop") == ["stock.csv"]
        with pytest.raises(ftplib.error_perm, match="550"):
            ftp.get_mod_time("drop/missing.csv")
        with pytest.raises(ftplib.error_perm, match="550"):
            ftp.store_file("drop/new.csv", str(tmp_path / "got.csv"))
    assert (tmp_path / "got.csv").read_text() == "sku\nA-1\n"
