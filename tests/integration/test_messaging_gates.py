"""``send_messages`` through generation and every bundle gate: an SMS campaign to the
phone numbers of the file an upstream step writes, and push notifications to the
device tokens of a declared table. A scripted model takes the first option of every
question (what linking and rendering do alone); in the smoke run both steps read their
recipients for real (the upstream step's file, the warehouse's sample rows) and POST
them in batches to the child's HTTP stub, which stands in for the messaging API."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_llm.spec import PipelineSpec
from tests.pattern_bundles import smoke_run_of

pytestmark = pytest.mark.integration

SPEC = PipelineSpec.model_validate(
    {
        "name": "loyalty_outreach",
        "description": "Prepare the loyalty members and tell them about double points.",
        "dialect": "postgres",
        "environments": {"dev": {"conn_id": "warehouse_dev", "schema": "analytics"}},
        "sources": [
            {
                "name": "crm.members",
                "columns": {
                    "member_id": "BIGINT",
                    "mobile_number": "VARCHAR(20)",
                    "app_token": "VARCHAR(80)",
                },
            }
        ],
        "tasks": [
            {
                "name": "prepare_members",
                "kind": "python",
                "description": "Read members.csv, drop rows with nulls in member_id and "
                "write gold_members.csv.",
            },
            {
                "name": "text_gold_members",
                "kind": "python",
                "depends_on": ["prepare_members"],
                "description": "Run the SMS campaign for the gold members. Key Parameters: "
                'message "Your double points week starts today!", in batches of 4.',
            },
            {
                "name": "push_app_users",
                "kind": "python",
                "description": "Send push notifications to the app users listed in "
                "crm.members with the 'Double points all week' template.",
            },
        ],
    }
)
PATTERNS = {
    "prepare_members": "file_transform",
    "text_gold_members": "send_messages",
    "push_app_users": "send_messages",
}


def test_messages_reach_the_api_stub_in_batches(tmp_path: Path) -> None:
    result, smoke = smoke_run_of(SPEC, PATTERNS, tmp_path)
    config = result.files["dags/resources/loyalty_outreach/config.yml"]
    assert "message: Your double points week starts today!" in config
    assert "<fill in: endpoint text_gold_members posts messages to>" in config
    # the sample file's phone numbers: five distinct ones (the sample values repeat
    # every five rows), the empty one left out, in batches of four; crm.members' app
    # tokens in one batch of a hundred
    sms = smoke["text_gold_members"]["http_requests"]
    assert sms == ["POST /smoke/text_gold_members"] * 2
    assert smoke["push_app_users"]["http_requests"] == ["POST /smoke/push_app_users"]
