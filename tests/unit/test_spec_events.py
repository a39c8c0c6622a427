"""Spec drops through S3 event notifications: the specs watcher's trigger fires for
objects created under specs/ and logs and deletes everything else. Against moto in
server mode (real HTTP, real S3 -> SQS notifications), with the trigger's own client."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_llm.embedded.config import free_port_block
from airflow_llm.spec_events import NotAnS3Notification, SpecDropTrigger, spec_drops
from tests.moto_notifications import BUCKET, notifying_bucket

CONN_ID = "spec_events_test"


def record(bucket: str, key: str, event: str = "ObjectCreated:Put") -> dict[str, Any]:
    return {
        "eventSource": "aws:s3",
        "eventName": event,
        "s3": {"bucket": {"name": bucket}, "object": {"key": key}},
    }


def test_spec_drops_reads_s3_notifications() -> None:
    body = json.dumps({"Records": [record(BUCKET, "specs/a+b.yml"), record(BUCKET, "x/c.yml")]})
    assert spec_drops(body, BUCKET, "specs/") == ["specs/a b.yml"]
    removed = json.dumps({"Records": [record(BUCKET, "specs/a.yml", "ObjectRemoved:Delete")]})
    assert spec_drops(removed, BUCKET, "specs/") == []
    other = json.dumps({"Records": [record("someone-else", "specs/a.yml")]})
    assert spec_drops(other, BUCKET, "specs/") == []
    test_event = json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": BUCKET})
    assert spec_drops(test_event, BUCKET, "specs/") == []
    for bad in ("not json {", "[1]", '{"Records": "x"}', '{"Records": [{"eventSource": 1}]}'):
        with pytest.raises(NotAnS3Notification):
            spec_drops(bad, BUCKET, "specs/")


@pytest.fixture
def moto_queue(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any, str]]:
    """moto's bucket notifying a queue of objects created under specs/, and the
    trigger's connection on it."""
    with notifying_bucket(free_port_block(1)) as moto:
        monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(moto.connection))
        yield moto.s3, moto.sqs, moto.queue_url


def poke(trigger: SpecDropTrigger) -> list[Any]:
    async def once() -> list[Any]:
        async with await trigger.hook.get_async_conn() as client:
            return await trigger.poke(client)

    return asyncio.run(once())


def test_trigger_fires_for_spec_drops_and_drops_the_rest(
    moto_queue: tuple[Any, Any, str], capsys: pytest.CaptureFixture[str]
) -> None:
    s3, sqs, queue_url = moto_queue
    # the notification configuration queued an s3:TestEvent; add a malformed and a foreign one
    sqs.send_message(QueueUrl=queue_url, MessageBody="not json {")
    foreign = json.dumps({"Records": [record("someone-else", "specs/x.yml")]})
    sqs.send_message(QueueUrl=queue_url, MessageBody=foreign)
    s3.put_object(Bucket=BUCKET, Key="reports/not-a-spec.json", Body=b"{}")  # not notified
    s3.put_object(Bucket=BUCKET, Key="specs/orders.yml", Body=b"name: orders\n")
    trigger = SpecDropTrigger(
        sqs_queue=queue_url,
        aws_conn_id=CONN_ID,
        bucket=BUCKET,
        prefix="specs/",
        max_messages=10,
        wait_time_seconds=1,
    )
    drops = poke(trigger)
    assert [drop["spec_keys"] for drop in drops] == [["specs/orders.yml"]]
    dropped = [line for line in capsys.readouterr().out.splitlines() if "] dropping" in line]
    assert len(dropped) == 3, dropped
    assert any("not JSON" in line for line in dropped)
    left = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    assert left == {
        "ApproximateNumberOfMessages": "0",
        "ApproximateNumberOfMessagesNotVisible": "0",
    }
    assert poke(trigger) == []
    classpath, arguments = trigger.serialize()
    assert classpath == "airflow_llm.spec_events.SpecDropTrigger"
    assert SpecDropTrigger(**arguments).serialize() == (classpath, arguments)
