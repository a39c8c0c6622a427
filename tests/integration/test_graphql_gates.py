"""Three GraphQL steps chained by XCom through every gate: a member registered by a
mutation, a token issued for the email it answered, the profile read with that token as
Bearer header. In the smoke run the ``HttpOperator`` tasks POST to the child's HTTP stub,
which answers in GraphQL's shape and refuses a request whose variables or token are
empty: the values really pass from task to task, the password from an Airflow Variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_llm.spec import PipelineSpec
from tests.pattern_bundles import smoke_run_of

pytestmark = pytest.mark.integration

PASSWORD = "n0t-a-real-one"
SPEC = PipelineSpec.model_validate(
    {
        "name": "shop_accounts",
        "description": "Open a shop account and read it back through the shop's GraphQL API.",
        "environments": {"dev": {"conn_id": "warehouse_dev"}},
        "tasks": [
            {
                "name": "register_member",
                "kind": "python",
                "description": "Create a member through the GraphQL API with firstname="
                f'"Ada", lastname="Lovelace", email="ada@example.org", password="{PASSWORD}".'
                " Output: the member's email. Operator: AcmeGraphQLOperator, "
                "acme_conn_id='acme_shop'.",
            },
            {
                "name": "issue_member_token",
                "kind": "python",
                "depends_on": ["register_member"],
                "description": "Generate a member token through the GraphQL API for "
                f'member_email from register_member, with the same password "{PASSWORD}". '
                "Output: the access token. Operator: AcmeGraphQLOperator.",
            },
            {
                "name": "read_member_profile",
                "kind": "python",
                "depends_on": ["issue_member_token"],
                "description": "Retrieve the member's firstname, lastname, email and "
                "addresses with city through the GraphQL API, with the token as Bearer "
                "header. Operator: AcmeGraphQLOperator.",
            },
        ],
    }
)


def test_chained_graphql_calls_pass_every_gate(tmp_path: Path) -> None:
    names = ["register_member", "issue_member_token", "read_member_profile"]
    result, smoke = smoke_run_of(SPEC, dict.fromkeys(names, "graphql_call"), tmp_path)
    assert all(smoke[name]["http_requests"] == ["POST /graphql"] for name in names)
    dag = result.files["dags/shop_accounts.py"]
    assert dag.count("HttpOperator(") == 3
    assert dag.count("def _graphql_answer(") == 1
    assert "{{ var.value.shop_accounts_password | tojson }}" in dag
    assert "Bearer {{ ti.xcom_pull(task_ids='issue_member_token')['token'] }}" in dag
    assert all(PASSWORD not in content for content in result.files.values())
    config = result.files["dags/resources/shop_accounts/config.yml"]
    assert "http_conn_id: acme_shop" in config
    assert "endpoint: /graphql" in config
