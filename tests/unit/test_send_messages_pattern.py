"""The send_messages pattern: a step that sends SMS, push notifications or app messages
to the recipients a file or table lists becomes a TaskFlow task posting them in batches
through an HTTP messaging API. Which steps it serves (email, Slack and single API calls
stay their patterns'), what the words decide (channel, recipient column, message,
endpoint, batch size), what it refuses, and the recipients its query reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from airflow_llm.bundle.render import render_bundle
from airflow_llm.patterns import ParameterError, Relation, context_for, pattern_named
from airflow_llm.patterns.file_operations import reader
from airflow_llm.patterns.messages import (
    recipients_query,
    stated_batch_sizes,
    stated_channels,
    stated_messages,
)
from tests.integration.test_file_gates import first_answer
from tests.integration.test_messaging_gates import SPEC as OUTREACH
from tests.unit.test_pattern_applies import ranked

SEND_MESSAGES = pattern_named("send_messages")


@pytest.mark.parametrize(
    ("text", "channels"),
    [
        ("Run the SMS campaign, then push notifications", ["sms", "push"]),
        ("Send text messages to the drivers", ["sms"]),
        ("Send WhatsApp reminders", ["whatsapp"]),
        ("Send in-app messages to the churn-risk users", ["message"]),
        ("Push the rows to the warehouse", []),
    ],
)
def test_stated_channels(text: str, channels: list[str]) -> None:
    assert stated_channels(text) == channels


def test_the_message_is_what_the_words_quote_beside_a_message_word() -> None:
    text = "Targets the 'premium' segment with \"Don't miss our offer!\" template"
    assert stated_messages(text) == (["Don't miss our offer!"], ["premium"])
    assert stated_messages("with message 'Your code is ready'") == (["Your code is ready"], [])
    assert stated_messages("for users in 'crm.users'") == ([], [])


@pytest.mark.parametrize(
    ("text", "sizes"),
    [
        ("in batches of 50", [50]),
        ("batch_size=250, 800 customers", [250]),
        ("at most 20 numbers per request", [20]),
        ("targets 800 customers", []),
    ],
)
def test_stated_batch_sizes(text: str, sizes: list[int]) -> None:
    assert stated_batch_sizes(text) == sizes


@pytest.mark.parametrize(
    "description",
    [
        "3. send_sms_campaign • Objective: Execute SMS marketing campaign with the spring deal",
        "Send push notifications to mobile app users with message 'New arrivals are in'",
        "Send WhatsApp reminders to the patients listed in appointments.csv",
        "Send in-app messages to the users of the churn-risk file",
        "Send SMS to every customer through the gateway endpoint /v2/sms",
        "send_sms_offer • Objective: Execute the SMS campaign • Technical Details: - Input: "
        "the segment file • Notes: runs beside the email campaign",
    ],
)
def test_a_step_that_messages_people_gets_send_messages_first(description: str) -> None:
    assert ranked(description)[0] == "send_messages"


@pytest.mark.parametrize(
    ("description", "theirs"),
    [
        ("Email the customers the monthly offer", "notify_email"),
        ("Send SMS and email alerts to the on-call engineers", "notify_email"),
        ("Send a push notification summary to Slack #mobile-team", "notify_slack"),
        ("POST the SMS batch to the messaging API endpoint /v1/messages", "http_call"),
        ("Send the push notification request • Operator: HttpOperator", "http_call"),
    ],
)
def test_email_slack_and_single_calls_stay_their_patterns(description: str, theirs: str) -> None:
    served = ranked(description)
    assert "send_messages" not in served
    assert theirs in served


@pytest.mark.parametrize(
    "description",
    [
        "Count the SMS delivered per day",
        "Load the push notification logs into the events table",
        "Read the SMS replies from s3://drops/replies.csv and send them to the CRM",
    ],
)
def test_steps_that_only_mention_a_channel_are_no_messages(description: str) -> None:
    assert "send_messages" not in ranked(description)


def outreach_context(name: str, outputs: dict[str, Relation] | None = None) -> Any:
    task = next(task for task in OUTREACH.tasks or [] if task.name == name)
    return context_for(OUTREACH, task, outputs or {})


def test_the_sms_goes_to_the_phone_column_of_the_upstream_file() -> None:
    upstream = Relation(
        "prepare_members",
        tuple(next(iter(OUTREACH.sources)).columns),
        "prepare_members",
        "csv",
    )
    ctx = outreach_context("text_gold_members", {"prepare_members": upstream})
    inputs = first_answer(SEND_MESSAGES.input_schema(ctx))
    assert inputs == {"recipients": "prepare_members"}
    assert SEND_MESSAGES.parameter_schema(ctx, inputs)["properties"] == {
        "channel": {"enum": ["sms"]},
        "recipient_column": {"enum": ["mobile_number"]},
        "message": {"enum": ["Your double points week starts today!"]},
        "endpoint": {"enum": ["none"]},
        "batch_size": {"enum": [4]},
    }


def test_a_file_of_unknown_columns_gets_the_channels_usual_column() -> None:
    upstream = Relation("prepare_members", (), "prepare_members", "csv")
    ctx = outreach_context("text_gold_members", {"prepare_members": upstream})
    schema = SEND_MESSAGES.parameter_schema(ctx, {"recipients": "prepare_members"})
    assert schema["properties"]["recipient_column"] == {"enum": ["phone"]}


def test_push_notifications_read_the_token_column_of_the_named_table() -> None:
    ctx = outreach_context("push_app_users")
    inputs = first_answer(SEND_MESSAGES.input_schema(ctx))
    assert inputs == {"recipients": "crm.members"}
    answer = {**inputs, **first_answer(SEND_MESSAGES.parameter_schema(ctx, inputs))}
    completed = SEND_MESSAGES.complete(answer, ctx)
    assert completed == {
        "channel": "push",
        "recipient_column": "app_token",
        "message": "Double points all week",
        "endpoint": "none",
        "batch_size": 100,
        "table": "crm.members",
        "source": None,
    }


SENT = {
    "channel": "sms",
    "source": None,
    "table": "crm.members",
    "recipient_column": "mobile_number",
    "message": "Hi",
    "endpoint": "/v1/sms",
    "batch_size": 10,
}


@pytest.mark.parametrize(
    ("changed", "problem"),
    [
        ({"recipient_column": "phone"}, "no column 'phone' in crm.members"),
        ({"table": "crm.visits"}, "no table 'crm.visits'"),
        ({"source": "members.csv"}, "recipients from one place"),
        ({"table": None, "source": "prepare_members"}, "no upstream task writes a file"),
        ({"table": None, "source": "../members.csv"}, "no '..' in a path"),
    ],
)
def test_parameters_it_refuses(changed: dict[str, Any], problem: str) -> None:
    params = SEND_MESSAGES.parse({**SENT, **changed})
    with pytest.raises(ParameterError, match=problem):
        SEND_MESSAGES.render(params, outreach_context("push_app_users"))


@pytest.mark.parametrize(
    "changed",
    [{"batch_size": 0}, {"channel": "email"}, {"endpoint": "v1/sms"}, {"recipient_column": "a b"}],
)
def test_answers_the_parameter_model_refuses(changed: dict[str, Any]) -> None:
    with pytest.raises(ParameterError):
        SEND_MESSAGES.parse({**SENT, **changed})


def test_each_recipient_is_read_once_and_empty_ones_are_left_out(tmp_path: Path) -> None:
    members = tmp_path / "members.csv"
    members.write_text("id,phone\n1,+4411\n2,\n3,+4411\n4,  \n5,+4412\n")
    query = recipients_query("phone", reader("csv", 1)).sql(dialect="duckdb")
    with duckdb.connect() as connection:
        found = connection.execute(query, {"input_1": str(members)}).fetchall()
    assert found == [("+4411",), ("+4412",)]


def test_config_holds_the_api_the_endpoint_and_the_message_per_environment() -> None:
    params = SEND_MESSAGES.parse({**SENT, "message": None, "endpoint": None})
    spec = OUTREACH.model_copy(update={"tasks": [OUTREACH.tasks[2]]})  # type: ignore[index]
    task = (spec.tasks or [])[0]
    artifact = SEND_MESSAGES.render(params, context_for(spec, task, {})).content
    record = {"name": "send_messages", "version": 1, "parameters": params.model_dump()}
    files = render_bundle(
        spec, [task], {task.name: artifact}, {task.name: {"strategy": "hybrid", "pattern": record}}
    )
    config = yaml.safe_load(files["dags/resources/loyalty_outreach/config.yml"])
    assert config["dev"]["operators"]["push_app_users"] == {
        "sql_conn_id": "warehouse_dev",
        "http_conn_id": "<fill in: HTTP connection (the messaging API's host) push_app_users "
        "sends through>",
        "endpoint": "<fill in: endpoint push_app_users posts messages to>",
        "message": "<fill in: SMS push_app_users sends>",
    }
    dag = files["dags/loyalty_outreach.py"]
    assert "from airflow.providers.http.hooks.http import HttpHook" in dag
    assert (
        "apache-airflow-providers-http=="
        in files["dags/resources/loyalty_outreach/requirements.txt"]
    )
