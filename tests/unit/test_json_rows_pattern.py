"""The json_to_rows pattern: a step that takes stated fields out of an API's JSON answer
(the upstream task's XCom) or a JSON file becomes a TaskFlow task writing them as rows;
which steps it serves, its questions, what it refuses, and the generated task run on
nested documents (records found where they are, keys matched whatever their case and
separators, a missing field named)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import duckdb
import pytest

from airflow_llm.patterns import ParameterError, Relation, context_for, pattern_menu
from airflow_llm.patterns.json_rows import (
    JsonToRows,
    column_of,
    extracted,
    field_paths,
    stated_paths,
)
from airflow_llm.spec import PipelineSpec
from tests.integration.test_file_gates import first_answer, rendered_bundle
from tests.integration.test_json_gates import FEED_STEPS
from tests.unit.test_pattern_applies import ranked

JSON_TO_ROWS = JsonToRows()

SPEC = PipelineSpec.model_validate(
    {
        "name": "ticket_feed",
        "description": "Pull the helpdesk's tickets and keep who opened them.",
        "dialect": "postgres",
        "environments": {"dev": {"conn_id": "warehouse_dev", "vars": {"fs_conn_id": "data"}}},
        "tasks": [
            {
                "name": "call_helpdesk",
                "kind": "python",
                "description": "Call the helpdesk API endpoint /api/tickets with a GET "
                "request and push its JSON answer to XCom.",
            },
            {
                "name": "pick_ticket_fields",
                "kind": "python",
                "depends_on": ["call_helpdesk"],
                "description": "Process the API response: extract ticket_id, "
                "requester.email and priority_level (integer) for each ticket.",
            },
            *FEED_STEPS,
        ],
    }
)
PATTERNS = {
    "call_helpdesk": "http_call",
    "pick_ticket_fields": "json_to_rows",
    "download_feed": "http_to_file",
    "flatten_feed": "json_to_rows",
}


def context(name: str, outputs: dict[str, Relation] | None = None) -> Any:
    task = next(task for task in SPEC.tasks or [] if task.name == name)
    return context_for(SPEC, task, outputs or {})


def test_the_fields_the_words_write_out_nested_ones_by_their_paths() -> None:
    text = "extract ticket_id, requester.email and priority; see docs.json and a.b.csv"
    assert stated_paths(text) == ["requester.email"]
    assert field_paths(text, ["ticket_id", "requester", "priority"]) == [
        "ticket_id",
        "requester.email",
        "priority",
    ]
    assert column_of("stock.level", ["sku", "stock.level"]) == "level"
    assert column_of("a.id", ["a.id", "b.id"]) == "a_id"


@pytest.mark.parametrize(
    ("text", "names"),
    [
        (
            "Process the answer: extract firstname, lastname and email.",
            ["firstname", "lastname", "email"],
        ),
        ("Extract userId, fullName from the payload", ["userId", "fullName"]),
        ("Keep name and age of each member.", ["name", "age"]),
        ("Extract and transform the user data from the API response.", []),
        ("Take the readings (temp, humidity) from the answer.", ["temp", "humidity"]),
        ("The answer has keys named id and title.", ["id", "title"]),
        ("Call it with (GET, POST) and see the docs (page 2).", []),
    ],
)
def test_the_plain_names_an_extracting_verb_lists(text: str, names: list[str]) -> None:
    assert extracted(text) == names


@pytest.mark.parametrize(
    ("description", "served"),
    [
        ("Parse the JSON response of the API and extract user_id, full_name, email.", True),
        ("Process the API response: extract firstname, lastname and email.", True),
        ("Process the API answer: pick the fields (city, country, geo.lat) for loading.", True),
        ("Extract order_id and total from the payload.json file.", True),
        ("Parse the JSON response and load user_id, email into the users table.", False),
        ("Extract user_id and email from the HTML page of the portal.", False),
        ("Parse the JSON response and email user_id, email to the team.", False),
        ("Call the users API endpoint /v1/users with a GET request.", False),
    ],
)
def test_json_to_rows_serves_steps_that_make_rows_of_an_answer(
    description: str, served: bool
) -> None:
    spec = PipelineSpec.model_validate(
        {
            "name": "p",
            "description": "d",
            "tasks": [
                {"name": "ask", "kind": "python", "description": "Call an API."},
                {
                    "name": "step",
                    "kind": "python",
                    "depends_on": ["ask"],
                    "description": description,
                },
            ],
        }
    )
    ctx = context_for(spec, (spec.tasks or [])[1], {})
    assert JSON_TO_ROWS.applies(ctx) is served


def test_a_step_without_anything_to_read_is_not_served() -> None:
    assert "json_to_rows" not in ranked("Parse the JSON response and extract user_id, email.")


def test_the_result_of_a_step_that_answers_nothing_is_no_json_answer() -> None:
    """Parsing a manual run's parameters after a start marker is no API answer."""
    spec = PipelineSpec.model_validate(
        {
            "name": "p",
            "description": "d",
            "tasks": [
                {"name": "begin", "kind": "python", "description": "Start marker."},
                {
                    "name": "read_params",
                    "kind": "python",
                    "depends_on": ["begin"],
                    "description": "Parse the run's parameters (report_title, as_of_date) "
                    "and push them to XCom.",
                },
            ],
        }
    )
    assert not JSON_TO_ROWS.applies(context_for(spec, (spec.tasks or [])[1], {}))


def test_it_reads_the_answer_of_the_task_before_it_with_the_stated_fields() -> None:
    ctx = context("pick_ticket_fields")
    assert pattern_menu(ctx) == ["json_to_rows"]
    inputs = first_answer(JSON_TO_ROWS.input_schema(ctx))
    assert inputs == {"source": "call_helpdesk"}
    schema = JSON_TO_ROWS.parameter_schema(ctx, inputs)["properties"]
    assert schema["fields"]["items"]["enum"][:3] == [
        "ticket_id",
        "requester.email",
        "priority_level",
    ]
    answer = {**inputs, **first_answer(JSON_TO_ROWS.parameter_schema(ctx, inputs))}
    completed = JSON_TO_ROWS.complete(answer, ctx)
    assert completed["reads"] == "answer"
    assert completed["fields"] == [
        {"name": "ticket_id", "path": "ticket_id", "use": "text"},
        {"name": "email", "path": "requester.email", "use": "text"},
        {"name": "priority_level", "path": "priority_level", "use": "number"},
    ]
    output = JSON_TO_ROWS.render(JSON_TO_ROWS.parse(completed), ctx).output
    assert output is not None
    assert (output.name, output.file_format) == ("pick_ticket_fields", "json")
    assert output.column_names == ["ticket_id", "email", "priority_level"]


def test_it_reads_the_file_an_upstream_download_writes() -> None:
    planned = Relation("download_feed", (), "download_feed", "json")
    ctx = context("flatten_feed", {"download_feed": planned})
    inputs = first_answer(JSON_TO_ROWS.input_schema(ctx))
    assert inputs == {"source": "download_feed"}
    answer = {**inputs, **first_answer(JSON_TO_ROWS.parameter_schema(ctx, inputs))}
    completed = JSON_TO_ROWS.complete(answer, ctx)
    assert completed["reads"] == "file"
    assert completed["output"] == "stock_levels.csv"
    assert completed["output_format"] == "csv"
    assert [f["path"] for f in completed["fields"]] == ["sku", "stock.level", "stock.site"]


GOOD = {
    "source": "call_helpdesk",
    "reads": "answer",
    "fields": [{"name": "ticket_id", "path": "ticket_id"}],
    "output_format": "json",
}


@pytest.mark.parametrize(
    ("changed", "problem"),
    [
        ({"fields": [{"name": "owner", "path": "owner.name"}]}, "no field 'owner.name'"),
        (
            {"fields": [{"name": "ticket_id", "path": "ticket_id"}] * 2},
            "columns repeat",
        ),
        ({"source": "../tickets.json", "reads": "file"}, "no '..' in a path"),
        ({"source": "download_feed"}, "download_feed is not upstream"),
        ({"reads": "file"}, "reads names the wrong input"),
    ],
)
def test_parameters_it_refuses(changed: dict[str, Any], problem: str) -> None:
    params = JSON_TO_ROWS.parse({**GOOD, **changed})
    with pytest.raises(ParameterError, match=problem):
        JSON_TO_ROWS.render(params, context("pick_ticket_fields"))


# -- the generated task, run ---------------------------------------------------------------


@pytest.fixture(scope="module")
def dag_module(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    """The rendered DAG file, imported from disk."""
    home = tmp_path_factory.mktemp("bundle")
    for relative, content in rendered_bundle(SPEC, PATTERNS).items():
        (home / relative).parent.mkdir(parents=True, exist_ok=True)
        (home / relative).write_text(content)
    found = importlib.util.spec_from_file_location(SPEC.name, home / f"dags/{SPEC.name}.py")
    assert found is not None
    assert found.loader is not None
    module = importlib.util.module_from_spec(found)
    found.loader.exec_module(module)
    return module


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The filesystem connection ``data`` the tasks write under."""
    connection = {"conn_type": "fs", "extra": {"path": str(tmp_path)}}
    monkeypatch.setenv("AIRFLOW_CONN_DATA", json.dumps(connection))
    return tmp_path


def rows_of(path: str) -> list[tuple[Any, ...]]:
    with duckdb.connect() as connection:
        return connection.execute("SELECT * FROM read_json_auto($p)", {"p": path}).fetchall()


class _TaskInstance:
    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers

    def xcom_pull(self, task_ids: str) -> Any:
        return self.answers[task_ids]


def test_the_answer_s_records_become_rows_whatever_the_case_of_their_keys(
    dag_module: ModuleType, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer = {
        "page": 1,
        "meta": {"source": "helpdesk"},
        "tickets": [
            {"TicketId": "T-1", "requester": {"email": "a@example.com"}, "priority_level": 2},
            {"ticket_id": "T-2", "requester": {"Email": "b@example.com"}, "PriorityLevel": "3"},
            {"ticket_id": "T-3", "requester": None},
        ],
    }
    ti = _TaskInstance({"call_helpdesk": json.dumps(answer)})
    monkeypatch.setattr("airflow.sdk.get_current_context", lambda: {"ti": ti})
    task = dag_module.dag.get_task("pick_ticket_fields").python_callable
    written = task(templates_dict={"output": "tickets.json"})
    assert written == str(folder / "tickets.json")
    assert rows_of(written) == [
        ("T-1", "a@example.com", 2.0),
        ("T-2", "b@example.com", 3.0),
        ("T-3", None, None),
    ]


def test_a_single_object_answer_is_one_record(
    dag_module: ModuleType, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer = {"data": {"ticket_id": "T-9", "priority_level": 1, "requester": {"email": "c@x.org"}}}
    ti = _TaskInstance({"call_helpdesk": answer})
    monkeypatch.setattr("airflow.sdk.get_current_context", lambda: {"ti": ti})
    task = dag_module.dag.get_task("pick_ticket_fields").python_callable
    assert rows_of(task(templates_dict={"output": "one.json"})) == [("T-9", "c@x.org", 1.0)]


def test_a_field_no_record_has_fails_the_task_naming_it(
    dag_module: ModuleType, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ti = _TaskInstance({"call_helpdesk": json.dumps({"rows": [{"id": 1, "name": "x"}]})})
    monkeypatch.setattr("airflow.sdk.get_current_context", lambda: {"ti": ti})
    task = dag_module.dag.get_task("pick_ticket_fields").python_callable
    with pytest.raises(ValueError, match="the answer of call_helpdesk: no record has the fields"):
        task(templates_dict={"output": "bad.json"})


def test_a_json_lines_file_becomes_a_csv_of_its_nested_fields(
    dag_module: ModuleType, folder: Path
) -> None:
    feed = folder / "feed.json"
    lines = [
        {"sku": "A", "stock": {"level": 4, "site": "north"}},
        {"sku": "B", "stock": {"level": 0, "site": "south"}},
    ]
    feed.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    task = dag_module.dag.get_task("flatten_feed").python_callable
    written = task(download_feed_path=str(feed), templates_dict={"output": "levels.csv"})
    with duckdb.connect() as connection:
        found = connection.execute("SELECT * FROM read_csv_auto($p)", {"p": written}).fetchall()
    assert found == [("A", 4, "north"), ("B", 0, "south")]
