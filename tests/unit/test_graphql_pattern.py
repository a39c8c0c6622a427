"""The graphql_call pattern: a step that calls a GraphQL API (often through an in-house
operator a bundle cannot import) gets a document the project compiles from its words,
values from upstream answers and secrets from Airflow Variables, and an ``HttpOperator``;
the smoke run's HTTP stub answers GraphQL requests in GraphQL's shape."""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from airflow_llm.engine import build_bundle
from airflow_llm.hybrid import forced_properties
from airflow_llm.patterns import ParameterError, context_for, pattern_named
from airflow_llm.patterns.graphql_document import document, request_body, selection_tree
from airflow_llm.patterns.graphql_words import listed_fields, stated_call
from airflow_llm.patterns.operators import holds_cue
from airflow_llm.settings import GenerationSettings
from airflow_llm.spec import PipelineSpec
from airflow_llm.validate.graphql_answers import graphql_answer, read_operation
from airflow_llm.validate.http_stub import SAMPLE_ROWS, http_stub
from airflow_llm.validate.secrets import find_secrets, redact_secrets
from tests.scripted_endpoint import ScriptedModel, first_choices
from tests.unit.test_engine import client
from tests.unit.test_pattern_applies import ranked

GRAPHQL = pattern_named("graphql_call")
SECRET = "tr0ub4dor-and-3"
SPEC = PipelineSpec.model_validate(
    {
        "name": "library_cards",
        "description": "Enrol a reader in the library's GraphQL API and read the card back.",
        "tasks": [
            {
                "name": "enrol_reader",
                "kind": "python",
                "description": "Create a reader with the library GraphQL API: "
                f'given_name="Ida", family_name="Noddack", email="ida@example.net", '
                f'password="{SECRET}". Output: the reader\'s email. Operator: '
                "LibraryGraphQLOperator, library_conn_id='library_api'.",
            },
            {
                "name": "reader_session",
                "kind": "python",
                "depends_on": ["enrol_reader"],
                "description": "Generate a reader session token via GraphQL for the "
                f'reader_email the enrolment returned, with the password "{SECRET}".',
            },
            {
                "name": "get_reader_card",
                "kind": "python",
                "depends_on": ["reader_session"],
                "description": "Fetch the reader's given_name, email, loans with title "
                "and fines details through GraphQL, with the session token as Bearer.",
            },
        ],
    }
)


def parameters(name: str) -> dict[str, Any]:
    """What the words give the task ``name`` (every property has one value)."""
    task = next(task for task in SPEC.tasks or [] if task.name == name)
    schema = GRAPHQL.parameter_schema(context_for(SPEC, task, {}), {})
    forced = forced_properties(schema)
    assert set(forced) == set(schema["properties"]), "nothing is left to the model"
    return forced


# -- the document --------------------------------------------------------------------------


def test_a_mutation_passes_its_values_as_one_input_object() -> None:
    text = document("mutation", "createReader", ["name", "pin"], ["id", "card.number"], True)
    assert text == (
        "mutation CreateReader($name: String!, $pin: String!) { createReader(input: "
        "{ name: $name, pin: $pin }) { id card { number } } }"
    )


def test_a_query_without_arguments_selects_nested_fields() -> None:
    assert document("query", "reader", [], ["name", "loans.title", "loans.due"]) == (
        "query Reader { reader { name loans { title due } } }"
    )
    assert document("mutation", "ping", ["at"], []) == (
        "mutation Ping($at: String!) { ping(at: $at) }"
    )


def test_names_that_are_not_graphql_names_are_refused() -> None:
    with pytest.raises(ValueError, match="not a GraphQL name"):
        document("query", "reader-card", [], ["id"])
    with pytest.raises(ValueError, match="not a field path"):
        selection_tree(["loans..title"])


def test_the_body_is_json_once_its_templates_render() -> None:
    query = document("mutation", "renew", ["loan", "pin"], ["due"])
    body = request_body(query, {"loan": '"L-1"', "pin": "{{ var.value.p_pin | tojson }}"})
    assert "{{" not in query
    assert "{%" not in query
    rendered = json.loads(body.replace("{{ var.value.p_pin | tojson }}", '"x\\"y"'))
    assert rendered == {"query": query, "variables": {"loan": "L-1", "pin": 'x"y'}}


# -- the words -----------------------------------------------------------------------------


def test_the_words_give_operation_field_values_and_selection() -> None:
    enrol, session, card = (stated_call(t.name, t.description) for t in SPEC.tasks or [])
    assert (enrol.operation, enrol.fields[0], enrol.selection) == (
        "mutation",
        "createReader",
        ["email"],
    )
    assert enrol.values["given_name"] == "Ida"
    assert enrol.secrets == ["password"]
    assert enrol.connections == ["library_api"]
    assert (session.operation, session.fields[0], session.selection) == (
        "mutation",
        "generateReaderSessionToken",
        ["token"],
    )
    assert session.secrets == ["password"]
    assert not session.values
    assert (card.operation, card.fields[0], card.bearer) == ("query", "readerCard", True)
    assert card.selection == ["given_name", "email", "loans.title", "fines"]


def test_a_named_operation_and_a_bearer_token_nobody_upstream_answers() -> None:
    call = stated_call(
        "viewer", "Run the GraphQL query viewer with a Bearer token: login, name and email."
    )
    assert (call.operation, call.fields[0], call.selection) == (
        "query",
        "viewer",
        ["login", "name", "email"],
    )
    assert stated_call("repos", "GraphQL query for the repos: id, name and url").fields == ["repos"]
    mutation = stated_call("new_label", 'Send the GraphQL mutation addLabel with name="bug".')
    assert (mutation.operation, mutation.fields[0]) == ("mutation", "addLabel")
    task = {"name": "viewer", "kind": "python", "description": "Query viewer over GraphQL: "}
    task["description"] += "login, name and email, Bearer token auth."
    spec = PipelineSpec.model_validate({"name": "hub", "description": "x", "tasks": [task]})
    ctx = context_for(spec, (spec.tasks or [])[0], {})
    params = GRAPHQL.parse(forced_properties(GRAPHQL.parameter_schema(ctx, {})))
    assert params.bearer is not None
    assert params.bearer.source == "variable"
    assert GRAPHQL.variables(params, "hub") == ["hub_token"]
    rendered = GRAPHQL.arguments(params, spec, (spec.tasks or [])[0])
    assert rendered["authorization"] == "Bearer {{ var.value.hub_token }}"


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        (
            "Query the shipment's id, status and parcels with weight.",
            ["id", "status", "parcels.weight"],
        ),
        (
            "Read the shipment's id, status, and carrier with the token as Bearer header",
            ["id", "status", "carrier"],
        ),
        ("Returns id and status.", []),
    ],
)
def test_listed_fields(text: str, fields: list[str]) -> None:
    assert listed_fields(text, ["shipment"]) == fields


# -- the pattern ---------------------------------------------------------------------------


def test_upstream_answers_and_secrets_become_arguments() -> None:
    enrol = parameters("enrol_reader")
    assert enrol["input_object"] is True
    assert enrol["connection"] == "library_api"
    assert enrol["endpoint"] == "/graphql"
    assert {"name": "password", "source": "variable", "value": ""} in enrol["arguments"]
    session = parameters("reader_session")
    assert session["arguments"] == [
        {"name": "email", "source": "upstream", "value": "enrol_reader.email"},
        {"name": "password", "source": "variable", "value": ""},
    ]
    card = parameters("get_reader_card")
    assert card["arguments"] == []
    assert card["bearer"] == {
        "name": "token",
        "source": "upstream",
        "value": "reader_session.token",
    }


def test_the_operator_takes_secrets_from_variables_and_the_token_from_xcom() -> None:
    tasks = {task.name: task for task in SPEC.tasks or []}
    session = GRAPHQL.parse(parameters("reader_session"))
    rendered = GRAPHQL.arguments(session, SPEC, tasks["reader_session"])
    assert rendered["document"] == (
        "mutation GenerateReaderSessionToken($email: String!, $password: String!) { "
        "generateReaderSessionToken(email: $email, password: $password) { token } }"
    )
    assert "{{ ti.xcom_pull(task_ids='enrol_reader')['email'] | tojson }}" in rendered["body"]
    assert "{{ var.value.library_cards_password | tojson }}" in rendered["body"]
    assert SECRET not in json.dumps(rendered)
    assert GRAPHQL.variables(session, SPEC.name) == ["library_cards_password"]
    card = GRAPHQL.parse(parameters("get_reader_card"))
    authorization = GRAPHQL.arguments(card, SPEC, tasks["get_reader_card"])["authorization"]
    assert authorization == "Bearer {{ ti.xcom_pull(task_ids='reader_session')['token'] }}"


def test_values_from_a_task_that_is_not_upstream_are_refused() -> None:
    task = next(task for task in SPEC.tasks or [] if task.name == "reader_session")
    wrong = {**parameters("reader_session")}
    wrong["arguments"] = [{"name": "email", "source": "upstream", "value": "get_reader_card.email"}]
    with pytest.raises(ParameterError, match=r"arguments\.email: get_reader_card is not a task"):
        GRAPHQL.render(GRAPHQL.parse(wrong), context_for(SPEC, task, {}))
    with pytest.raises(ParameterError, match=r"an upstream value is <task>\.<field>"):
        GRAPHQL.parse({**wrong, "arguments": [{"name": "e", "source": "upstream", "value": "x"}]})
    repeated = [{"name": "e", "source": "variable"}, {"name": "e", "source": "variable"}]
    with pytest.raises(ParameterError, match="arguments repeated: e"):
        GRAPHQL.parse({**wrong, "arguments": repeated})


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        (
            "Create a reader via the GraphQL API • Operator: LibraryGraphQLOperator",
            ["graphql_call"],
        ),
        ("Create a reader via the GraphQL API, POST to /graphql", ["graphql_call"]),
        ("Call the reader API • Operator: LibraryLoaderOperator", ["http_call"]),
        ("Call the reader API • Operator: LibraryRestOperator", ["http_call"]),
        ("Call the reader API • Operator: LibraryMailOperator", []),
        ("Call the reader API • Operator: KubernetesJobOperator", ["kubernetes_job"]),
    ],
)
def test_an_in_house_operator_refuses_the_patterns_its_name_does_not_cue(
    description: str, expected: list[str]
) -> None:
    assert ranked(description) == expected


@pytest.mark.parametrize(
    ("name", "cue", "holds"),
    [
        ("LibraryGraphQLOperator", "graphql", True),
        ("FTPFileSensor", "file", True),
        ("ForestOperator", "rest", False),
        ("RapidOperator", "api", False),
    ],
)
def test_a_name_holds_a_cue_its_words_spell(name: str, cue: str, holds: bool) -> None:
    assert holds_cue(name, cue) is holds


# -- the smoke run's answers -----------------------------------------------------------------


def test_the_stub_answers_in_graphql_shape_with_the_values_passed() -> None:
    query = document("mutation", "createReader", ["email", "pin"], ["email", "loans.title"], True)
    assert read_operation(query) == (
        "createReader",
        {"email": {}, "loans": {"title": {}}},
        ["email", "pin"],
    )
    answer = graphql_answer({"query": query, "variables": {"email": "a@b.c", "pin": "x"}}, None)
    assert answer == {
        "data": {"createReader": {"email": "a@b.c", "loans": [{"title": "sample title"}]}}
    }


@pytest.mark.parametrize(
    ("variables", "authorization", "message"),
    [
        ({"email": "a@b.c"}, None, "variable $pin was not given a value"),
        ({"email": "a@b.c", "pin": ""}, None, "variable $pin was not given a value"),
        ({"email": "a@b.c", "pin": "x"}, "Bearer ", "the Authorization header carries no token"),
    ],
)
def test_the_stub_refuses_what_a_chain_failed_to_pass(
    variables: dict[str, str], authorization: str | None, message: str
) -> None:
    query = document("mutation", "renew", ["email", "pin"], ["due"])
    answer = graphql_answer({"query": query, "variables": variables}, authorization)
    assert answer == {"errors": [{"message": message}]}
    assert "errors" in graphql_answer({"query": "query { reader {"}, None)


def test_the_http_stub_answers_graphql_posts_and_rows_to_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_LIBRARY_API", "")
    body = json.dumps({"query": "query Reader { reader { name } }", "variables": {}}).encode()
    with http_stub(["library_api"]) as requests:
        base = f"http://127.0.0.1:{json.loads(os.environ['AIRFLOW_CONN_LIBRARY_API'])['port']}"
        graphql = urllib.request.Request(f"{base}/graphql", data=body, method="POST")
        with urllib.request.urlopen(graphql) as response:
            assert json.loads(response.read()) == {"data": {"reader": {"name": "sample name"}}}
        other = urllib.request.Request(f"{base}/rows", data=b"{}", method="POST")
        with urllib.request.urlopen(other) as response:
            assert json.loads(response.read())["rows"] == SAMPLE_ROWS
    assert requests == ["POST /graphql", "POST /rows"]


# -- secrets in the words ------------------------------------------------------------------


def test_secrets_the_words_state_are_redacted_in_files_for_people() -> None:
    words = (
        f'given_name="Ida", password="{SECRET}", the same password "{SECRET}", api_key: \'k-1234\''
    )
    redacted = 'given_name="Ida", password="***", the same password "***", api_key: \'***\''
    assert redact_secrets(words) == redacted
    assert list(find_secrets(redacted)) == []


# -- a description's steps -----------------------------------------------------------------

DESCRIPTION = """\
Sign a reader up at the library and read the card back, through its GraphQL API.

1. enrol_reader: Create a reader via the GraphQL API with given_name="Ida" and
   email="ida@example.net" (LibraryGraphQLOperator, library_conn_id='library_api').
   Output: the reader's email, passed downstream.
2. get_reader_card: Fetch the card of the enrolled reader through GraphQL, for the
   reader_email enrol_reader returned: its number, issued_on, branch with name and email.
"""


def test_a_description_s_graphql_steps_become_graphql_calls(tmp_path: Path) -> None:
    """Planned from a bare description by a model that takes the first option of every
    question."""
    spec = PipelineSpec.model_validate({"name": "cards", "description": DESCRIPTION})
    settings = GenerationSettings(work_dir=tmp_path / "work", strategy="hybrid")
    result = build_bundle(spec, client(ScriptedModel({"*": [first_choices]})), settings)
    assert result.valid, result.reason
    patterns = {task["name"]: task["pattern"] for task in result.report["tasks"]}
    assert patterns == {"enrol_reader": "graphql_call@1", "get_reader_card": "graphql_call@1"}
    artifact = json.loads(result.files["dags/resources/cards/get_reader_card_operator.json"])
    card = GRAPHQL.parse(artifact["parameters"])
    task = next(task for task in result.tasks if task.name == "get_reader_card")
    rendered = GRAPHQL.arguments(card, spec, task)
    assert rendered["document"] == (
        "query ReaderCard($email: String!) { readerCard(email: $email) { number issued_on "
        "branch { name } email } }"
    )
    assert "{{ ti.xcom_pull(task_ids='enrol_reader')['email'] | tojson }}" in rendered["body"]
