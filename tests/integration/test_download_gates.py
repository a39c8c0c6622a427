"""Download patterns through generation and the bundle gates: a scripted model that takes
the first option of every question (what linking and rendering do alone) writes two
small pipelines, and the smoke run runs every task for real against the child's
stand-ins. An FTP sensor pokes the child's FTP server, a download retrieves the file
it waits for (sample rows with the columns the steps after it read), a file step
normalizes it and a load puts its rows in the warehouse; two downloads GET CSV files
from the child's HTTP stub, a file step stacks them, and a page is saved as it comes."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_llm.spec import PipelineSpec
from airflow_llm.validate.sql import SAMPLE_CONTEXT
from tests.pattern_bundles import smoke_run_of

pytestmark = pytest.mark.integration

FTP_SPEC = PipelineSpec.model_validate(
    {
        "name": "vendor_drop",
        "description": "Stock levels a vendor drops on its FTP server, into the warehouse.",
        "dialect": "postgres",
        "environments": {"dev": {"conn_id": "warehouse_dev", "schema": "analytics"}},
        "tasks": [
            {
                "name": "wait_for_stock_file",
                "kind": "sensor",
                "description": "Watch the vendor's FTP server until stock_levels.csv shows up "
                "(poke every 20 seconds, timeout 600 seconds).",
            },
            {
                "name": "fetch_stock_file",
                "kind": "python",
                "depends_on": ["wait_for_stock_file"],
                "description": "Download stock_levels.csv from the FTP server (columns sku, "
                "warehouse_code, on_hand) to incoming/stock_levels.csv.",
            },
            {
                "name": "tidy_stock",
                "kind": "python",
                "depends_on": ["fetch_stock_file"],
                "description": "Normalize the downloaded file: upper-case the `sku` column "
                "and drop rows with nulls in on_hand. Write tidy_stock.parquet.",
            },
            {
                "name": "load_stock",
                "kind": "python",
                "depends_on": ["tidy_stock"],
                "description": "Load the tidy file into the stock_snapshot table.",
            },
        ],
    }
)
FTP_PATTERNS = {
    "wait_for_stock_file": "ftp_sensor",
    "fetch_stock_file": "ftp_download",
    "tidy_stock": "file_transform",
    "load_stock": "file_to_table",
}
HTTP_SPEC = PipelineSpec.model_validate(
    {
        "name": "tide_gauges",
        "description": "Tide readings of two harbour authorities, stacked into one file.",
        "tasks": [
            {
                "name": "get_north_readings",
                "kind": "python",
                "description": "Download the north harbour's tide readings CSV (columns "
                "gauge_id, read_at, level_cm) from "
                "https://north-harbour.example.net/open/tides.csv",
            },
            {
                "name": "get_south_readings",
                "kind": "python",
                "description": "Download the south harbour's tide readings from their HTTPS "
                "endpoint /exports/tides_{{ ds_nodash }}.csv and save them to "
                "south/tides.csv",
            },
            {
                "name": "stack_readings",
                "kind": "python",
                "depends_on": ["get_north_readings", "get_south_readings"],
                "description": "Merge the two tide reading files into all_tides.parquet.",
            },
            {
                "name": "keep_notices",
                "kind": "python",
                "description": "Scrape the harbour notices page "
                "https://north-harbour.example.net/notices and save the HTML to "
                "notices/today.html",
            },
        ],
    }
)
HTTP_PATTERNS = {
    "get_north_readings": "http_to_file",
    "get_south_readings": "http_to_file",
    "stack_readings": "merge_files",
    "keep_notices": "http_to_file",
}


def test_an_ftp_file_is_awaited_downloaded_normalized_and_loaded(
    tmp_path: Path,
) -> None:
    _, smoke = smoke_run_of(FTP_SPEC, FTP_PATTERNS, tmp_path)
    rows = {name: task["rows"] for name, task in smoke.items()}
    assert rows["fetch_stock_file"] == {"files/incoming/stock_levels.csv": 12}
    assert rows["tidy_stock"] == {
        "files/tidy_stock.parquet": 11
    }  # the sample row with NULLs dropped
    assert rows["load_stock"] == {"analytics.stock_snapshot": 11}


def test_two_csv_downloads_over_https_are_stacked_and_a_page_kept(
    tmp_path: Path,
) -> None:
    _, smoke = smoke_run_of(HTTP_SPEC, HTTP_PATTERNS, tmp_path)
    assert smoke["get_north_readings"]["http_requests"] == ["/open/tides.csv"]
    day = SAMPLE_CONTEXT["ds_nodash"]
    assert smoke["get_south_readings"]["http_requests"] == [f"/exports/tides_{day}.csv"]
    assert smoke["keep_notices"]["http_requests"] == ["/notices"]
    rows = {name: task["rows"] for name, task in smoke.items()}
    assert rows["get_south_readings"] == {"files/south/tides.csv": 12}
    assert rows["stack_readings"] == {"files/all_tides.parquet": 24}
    assert rows["keep_notices"] == {}, "a page has no rows to count"
