"""moto in server mode as a bucket that notifies an SQS queue of the objects created under
``specs/``, as a deployment configures S3 (real HTTP; moto queues the ``s3:TestEvent``
that S3 sends when the notification is configured)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

BUCKET = "airflow-llm"
KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@dataclass(frozen=True)
class NotifyingBucket:
    """The bucket's and the queue's clients, the queue URL, and an Airflow ``aws``
    connection (JSON form) on the server."""

    s3: Any
    sqs: Any
    queue_url: str
    connection: dict[str, Any]


@contextmanager
def notifying_bucket(port: int) -> Iterator[NotifyingBucket]:
    """moto on ``port`` with the bucket and its queue, until the block ends."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{port}"
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **KEYS)
        sqs = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1", **KEYS)
        queue_url = sqs.create_queue(QueueName="airflow-llm-specs")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
        s3.create_bucket(Bucket=BUCKET)
        prefix = {"Key": {"FilterRules": [{"Name": "prefix", "Value": "specs/"}]}}
        queue = {"QueueArn": arn["Attributes"]["QueueArn"], "Events": ["s3:ObjectCreated:*"]}
        s3.put_bucket_notification_configuration(
            Bucket=BUCKET,
            NotificationConfiguration={"QueueConfigurations": [{**queue, "Filter": prefix}]},
        )
        connection = {
            "conn_type": "aws",
            "login": "testing",
            "password": "testing",
            "extra": {"endpoint_url": endpoint, "region_name": "us-east-1"},
        }
        yield NotifyingBucket(s3, sqs, queue_url, connection)
    finally:
        server.stop()
