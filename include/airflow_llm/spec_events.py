"""Spec drops announced by S3 event notifications on an SQS queue: the trigger of the
specs Asset's watcher (``AIRFLOW_LLM_SPECS_QUEUE_URL``, see ``airflow_llm_generate``).

:class:`SpecDropTrigger` is the amazon provider's ``SqsSensorTrigger`` with its own
reading of the messages: it fires for the ``s3:ObjectCreated:*`` records of objects
under the bucket's ``specs/`` prefix, and logs and deletes every other message (a body
that is not an S3 notification, an ``s3:TestEvent``, another bucket's or prefix's
records), so such a message neither starts a run nor comes back after the visibility
timeout, and never stops the trigger. Long polling (``wait_time_seconds``) hands a drop
to the triggerer as soon as SQS has it.
"""

from __future__ import annotations

import json
from typing import Any, cast
from urllib.parse import unquote_plus

from airflow.providers.amazon.aws.triggers.sqs import SqsSensorTrigger


class NotAnS3Notification(ValueError):  # noqa: N818 - a kind of bad input, as ValueError is
    """A message body that is not an S3 event notification."""


def spec_drops(body: str, bucket: str, prefix: str) -> list[str]:
    """The keys of objects created under ``prefix`` in ``bucket`` that an S3 event
    notification announces (none for a test event or another bucket's or prefix's
    records); :class:`NotAnS3Notification` for anything else."""
    try:
        message = json.loads(body)
    except ValueError as error:
        raise NotAnS3Notification(f"not JSON: {error}") from None
    if not isinstance(message, dict):
        raise NotAnS3Notification("not a JSON object")
    if message.get("Event") == "s3:TestEvent":
        return []
    records = message.get("Records")
    if not isinstance(records, list):
        raise NotAnS3Notification("no Records list")
    keys = []
    for record in records:
        try:
            source, event = record["eventSource"], record["eventName"]
            record_bucket, key = record["s3"]["bucket"]["name"], record["s3"]["object"]["key"]
        except (KeyError, TypeError):
            raise NotAnS3Notification("a record without eventSource, eventName or s3") from None
        key = unquote_plus(str(key))  # S3 URL-encodes keys in notifications
        if (
            source == "aws:s3"
            and str(event).startswith("ObjectCreated:")
            and record_bucket == bucket
            and key.startswith(prefix)
        ):
            keys.append(key)
    return keys


class SpecDropTrigger(SqsSensorTrigger):
    """``SqsSensorTrigger`` that fires for spec drops only (see the module)."""

    def __init__(self, *, bucket: str, prefix: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bucket = bucket
        self.prefix = prefix

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """The provider's arguments plus the bucket and prefix."""
        classpath, arguments = super().serialize()
        return classpath, {**arguments, "bucket": self.bucket, "prefix": self.prefix}

    async def poke(self, client: Any) -> list[Any]:
        """Receive up to ``num_batches`` batches; return the spec drops among them after
        deleting every message received (the spec drops only when
        ``delete_message_on_reception``)."""
        drops: list[Any] = []
        for _ in range(self.num_batches):
            # the provider annotates receive_message's response as a Collection
            response = cast(dict[str, Any], await self.poll_sqs(client=client))
            done = []
            for message in response.get("Messages", []):
                keys = self._keys(message)
                if keys:
                    drops.append({**message, "spec_keys": keys})
                if not keys or self.delete_message_on_reception:
                    done.append(message)
            if done:
                entries = [
                    {"Id": str(n), "ReceiptHandle": message["ReceiptHandle"]}
                    for n, message in enumerate(done)
                ]
                deleted = await client.delete_message_batch(
                    QueueUrl=self.sqs_queue, Entries=entries
                )
                for failure in deleted.get("Failed", []):
                    self.log.warning(
                        "could not delete a message from %s: %s", self.sqs_queue, failure
                    )
        return drops

    def _keys(self, message: dict[str, Any]) -> list[str]:
        """The message's spec keys; an empty list, logged, for a message to drop."""
        where = f"message {message.get('MessageId')} on {self.sqs_queue}"
        try:
            keys = spec_drops(str(message.get("Body", "")), self.bucket, self.prefix)
        except NotAnS3Notification as error:
            self.log.warning("dropping %s: %s", where, error)
            return []
        if not keys:
            self.log.info(
                "dropping %s: no object created under s3://%s/%s", where, self.bucket, self.prefix
            )
        else:
            self.log.info("%s: spec drops %s", where, ", ".join(keys))
        return keys
