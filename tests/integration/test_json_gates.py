"""JSON answers through generation and the bundle gates: a scripted model that takes the
first option of every question writes a pipeline that calls an API, takes the stated
fields (a nested one among them) out of its JSON answer and loads them into a table,
and the smoke run runs every step for real: the HTTP stand-in answers the call with a
JSON document of sample records holding those fields, the parsing step writes their
rows to a file and the load puts them in the warehouse."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_llm.spec import PipelineSpec
from tests.pattern_bundles import smoke_run_of

pytestmark = pytest.mark.integration

SPEC = PipelineSpec.model_validate(
    {
        "name": "crm_profiles",
        "description": "Fetch the CRM's customer profiles and keep their contact details.",
        "dialect": "postgres",
        "environments": {"dev": {"conn_id": "warehouse_dev", "schema": "crm"}},
        "tasks": [
            {
                "name": "fetch_profiles",
                "kind": "python",
                "description": "Fetch the customer profiles from the CRM API endpoint "
                "/v1/profiles with a GET request; the JSON answer goes to XCom.",
            },
            {
                "name": "shape_profiles",
                "kind": "python",
                "depends_on": ["fetch_profiles"],
                "description": "Parse the JSON response and extract the fields "
                "(given_name, family_name, email_address, address.city) of each profile.",
            },
            {
                "name": "load_profiles",
                "kind": "python",
                "depends_on": ["shape_profiles"],
                "description": "Load the shaped profiles into the crm_contacts table in "
                "PostgreSQL.",
            },
        ],
    }
)
PATTERNS = {
    "fetch_profiles": "http_call",
    "shape_profiles": "json_to_rows",
    "load_profiles": "file_to_table",
}


def test_an_api_answer_becomes_rows_in_a_table_in_the_smoke_run(tmp_path: Path) -> None:
    _, smoke = smoke_run_of(SPEC, PATTERNS, tmp_path)
    assert smoke["fetch_profiles"]["http_requests"] == ["/v1/profiles"]
    written = smoke["shape_profiles"]["rows"]
    assert list(written.values()) == [12]  # the stand-in's 12 sample records
    assert smoke["load_profiles"]["rows"] == {"crm.crm_contacts": 12}


STAR = PipelineSpec.model_validate(
    {
        "name": "air_readings",
        "description": "Fetch station readings and keep them in a star schema.",
        "dialect": "postgres",
        "environments": {"dev": {"conn_id": "warehouse_dev", "schema": "air"}},
        "tasks": [
            {
                "name": "fetch_readings",
                "kind": "python",
                "description": "Fetch the latest readings from the sensor network API "
                "endpoint /v2/readings with a GET request.",
            },
            {
                "name": "extract_readings",
                "kind": "python",
                "depends_on": ["fetch_readings"],
                "description": "Process the JSON response: extract station_id, station.name, "
                "read_at (timestamp) and pm25_level (decimal) of every reading.",
            },
            {
                "name": "load_readings",
                "kind": "python",
                "depends_on": ["extract_readings"],
                "description": "Load the extracted rows into PostgreSQL: the dim_station "
                "table (station_id, name) and the fact_reading table (station_id, read_at, "
                "pm25_level), with ON CONFLICT DO NOTHING.",
            },
        ],
    }
)


def test_an_api_answer_becomes_a_dimension_and_a_fact_table_in_the_smoke_run(
    tmp_path: Path,
) -> None:
    """The sample answer's 12 records hold a duplicate: 11 distinct rows reach the fact
    table; the dimension gets one row per station id."""
    _, smoke = smoke_run_of(
        STAR,
        {
            "fetch_readings": "http_call",
            "extract_readings": "json_to_rows",
            "load_readings": "file_to_tables",
        },
        tmp_path,
    )
    assert list(smoke["extract_readings"]["rows"].values()) == [12]
    assert smoke["load_readings"]["rows"] == {"air.fact_reading": 11}


FEED_STEPS = [
    {
        "name": "download_feed",
        "kind": "python",
        "description": "Download the partner feed from "
        "https://partner.example.com/export/feed.json and save it as feed.json.",
    },
    {
        "name": "flatten_feed",
        "kind": "python",
        "depends_on": ["download_feed"],
        "description": "Parse the downloaded JSON file and extract the fields "
        "(sku, stock.level, stock.site) into stock_levels.csv.",
    },
]
"""A JSON file downloaded, then its nested fields flattened into a CSV file."""
FEED = PipelineSpec.model_validate(
    {
        "name": "stock_feed",
        "description": "Download the partner's stock feed and keep its levels.",
        "dialect": "postgres",
        "environments": {"dev": {"conn_id": "warehouse_dev", "schema": "stock"}},
        "tasks": [
            *FEED_STEPS,
            {
                "name": "load_levels",
                "kind": "python",
                "depends_on": ["flatten_feed"],
                "description": "Load the stock levels into the stock_levels table.",
            },
        ],
    }
)


def test_a_downloaded_json_file_becomes_rows_in_a_table_in_the_smoke_run(
    tmp_path: Path,
) -> None:
    _, smoke = smoke_run_of(
        FEED,
        {
            "download_feed": "http_to_file",
            "flatten_feed": "json_to_rows",
            "load_levels": "file_to_table",
        },
        tmp_path,
    )
    assert smoke["download_feed"]["http_requests"] == ["/export/feed.json"]
    assert smoke["flatten_feed"]["rows"] == {"files/stock_levels.csv": 12}
    assert smoke["load_levels"]["rows"] == {"stock.stock_levels": 12}
