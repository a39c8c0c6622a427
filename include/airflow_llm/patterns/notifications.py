"""Notification patterns: tell people by email (``notify_email``: the smtp provider's
``EmailOperator``, through an SMTP connection of the environment) or in Slack
(``notify_slack``: the slack provider's ``SlackWebhookOperator``, through an incoming
webhook connection of the environment)."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, Field, field_validator

from airflow_llm.patterns.base import StrictParameters, choices, enum, narrowed, obj
from airflow_llm.patterns.common import NONE, nearest, none_as_null, require
from airflow_llm.patterns.context import Relation, TaskContext
from airflow_llm.patterns.file_steps import skippable
from airflow_llm.patterns.file_words import clauses
from airflow_llm.patterns.operators import (
    OperatorPattern,
    Setting,
    lead,
    named_operators,
    names_operator,
)
from airflow_llm.patterns.reads import Read
from airflow_llm.spec import EMAIL_PATTERN, NAME_PATTERN, PipelineSpec, TaskSpec

SMTP = "apache-airflow-providers-smtp==3.2.0"
SLACK = "apache-airflow-providers-slack==9.11.1"
_EMAIL = re.compile(EMAIL_PATTERN[1:-1])
_MAIL = re.compile(r"\be-?mails?\b|\bmail\b")
_TELLING = re.compile(
    r"\b(?:send|sends|sending|sent|notify|notifies|notification|notifications|alert|alerts|alerting|tell|tells|inform|informs)\b"
)
_OTHER_CHANNELS = re.compile(r"\b(?:sms|push|whatsapp|slack|teams|text messages?|in-app)\b")
"""Ways to tell people other than email."""
_MAIL_FIRST = re.compile(r"^\W*(?:\d+(?:\.\d+)*\.?\s*)?(?:\w+\W+)?e-?mail\b")
_ATTACHING = re.compile(r"\battach\w*|\bfiles\s*[:=]", re.IGNORECASE)
"""Words that attach files to an email ("with the chart attached", ``files: [...]``)."""
_FORMAT_WORDS = re.compile(r"\b(csv|jsonl|json|parquet|pdf|xml|html)\b", re.IGNORECASE)
"""Formats of files the words may attach."""


class EmailParameters(StrictParameters):
    """Email ``to`` (addresses, comma-separated; None: the ones ``config.yml`` names),
    attaching the files the upstream tasks of ``attachments`` wrote."""

    to: str | None = None
    attachments: list[Annotated[str, Field(pattern=NAME_PATTERN)]] = Field(
        default_factory=list, max_length=8
    )

    _nulls = field_validator("to", mode="before")(none_as_null)

    @field_validator("to")
    @classmethod
    def _addresses(cls, value: str | None) -> str | None:
        if value is not None and not all(_EMAIL.fullmatch(a.strip()) for a in value.split(",")):
            raise ValueError(f"not a list of email addresses: {value!r}")
        return value


class NotifyEmail(OperatorPattern[EmailParameters]):
    """An email about the run (``EmailOperator``): the task's words, the DAG and date."""

    name: ClassVar[str] = "notify_email"
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "python"
    summary: ClassVar[str] = "email people that the run is done (the recipients the words name)"
    cues: ClassVar[tuple[str, ...]] = ("email", "mail", "e-mail")
    parameters: ClassVar[type[BaseModel]] = EmailParameters
    imports: ClassVar[tuple[str, ...]] = (
        "from airflow.providers.smtp.operators.smtp import EmailOperator",
    )
    requirements: ClassVar[tuple[str, ...]] = (SMTP,)

    def applies(self, ctx: TaskContext) -> bool:
        """A step whose point is an email: its words name ``EmailOperator``, or its title
        and objective write out an address to mail, say to send, notify or alert by email,
        or start with "email", or say to send, notify or alert while a clause of its
        details tells by email and by no other channel ("Integrations: notification
        system (email)"). An email that is only data (a customer's email field, an
        "email" column) is no notification."""
        text = ctx.task.description
        if not super().applies(ctx):
            return False
        head = lead(text).lower().replace("_", " ")
        told = [c for c in clauses(text.lower()) if _TELLING.search(c)]
        by_mail = _MAIL.search(head) or (
            not _OTHER_CHANNELS.search(head)
            and any(_MAIL.search(c) and not _OTHER_CHANNELS.search(c) for c in told)
        )
        return (
            names_operator(text, "EmailOperator")
            or bool(_EMAIL.search(head))
            or bool(by_mail and _TELLING.search(head))
            or bool(_MAIL_FIRST.match(head))
        )

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        """Nothing to read."""
        return obj({})

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The addresses the words write out, or the spec's stakeholders when the words
        name them; else ``none`` (``config.yml``). When the words attach files, the
        files they attach (:func:`_attached`); else none."""
        stated = list(dict.fromkeys(m.group(0) for m in _EMAIL.finditer(ctx.task.description)))
        if not stated and "stakeholder" in ctx.text.lowered:
            stated = list(ctx.spec.stakeholders)
        to = {"to": enum(narrowed(ctx, [", ".join(stated)] if stated else [], [NONE]))}
        files = _attached(ctx) if _ATTACHING.search(ctx.task.description) else []
        return obj({**to, "attachments": choices(files, len(files), len(files))} if files else to)

    def check(self, params: EmailParameters, ctx: TaskContext) -> Relation | None:
        """Attachments are files upstream tasks write, which no branch may skip."""
        attachable = _attachable(ctx)
        stray = [name for name in params.attachments if name not in attachable]
        require(
            not stray,
            f"no file to attach from {', '.join(stray)}: attach the files of "
            f"{', '.join(attachable) or 'no upstream task'}",
        )
        return None

    def data_reads(self, params: EmailParameters, task: TaskSpec) -> list[Read]:
        """The files it attaches: the ones its upstream tasks wrote."""
        return [Read.of_task("file", name, name) for name in params.attachments]

    def settings(self, params: EmailParameters, task: TaskSpec) -> list[Setting]:
        """The SMTP connection and the recipients."""
        return [
            Setting("smtp_conn_id", "smtp_conn_id", f"SMTP connection {task.name} sends with"),
            Setting("to", "recipients", f"email addresses {task.name} writes to", params.to),
        ]

    def arguments(
        self, params: EmailParameters, spec: PipelineSpec, task: TaskSpec
    ) -> dict[str, Any]:
        """The subject and the body: the task's words, the DAG and the logical date; the
        attachments: the paths their tasks returned (XCom)."""
        return {
            "files": [f"{{{{ ti.xcom_pull(task_ids='{name}') }}}}" for name in params.attachments],
            "subject": f"{spec.name}: {task.name} ({{{{ ds }}}})",
            "body": (
                f"<p>{html.escape(task.description)}</p>"
                "<p>{{ dag.dag_id }}, run {{ run_id }}, logical date {{ ds }}.</p>"
            ),
        }


def _attachable(ctx: TaskContext) -> list[str]:
    """The upstream tasks whose files an email may attach: those writing a file (a report
    too) that no branch before them may skip (a skipped task's file is absent)."""
    writers = [r.produced_by for r in ctx.files if r.produced_by is not None]
    absent = set(skippable(ctx.spec, writers))
    return [name for name in dict.fromkeys(writers) if name not in absent]


def _attached(ctx: TaskContext) -> list[str]:
    """The upstream tasks whose files words that attach files attach: those writing a
    format the words name ("the CSV and PDF attachments"), else the nearest ones; only
    tasks :func:`_attachable` gives."""
    attachable = _attachable(ctx)
    formats = {r.produced_by: r.file_format for r in ctx.files if r.produced_by in attachable}
    named = {word.lower() for word in _FORMAT_WORDS.findall(ctx.task.description)}
    of_named = [name for name in attachable if formats[name] in named]
    return of_named or nearest(ctx, {name: name for name in attachable})


CHANNEL = r"^#[a-z][a-z0-9_-]{0,79}$"
"""A Slack channel, as words write it (``#data-alerts``)."""
_CHANNEL = re.compile(r"(?<![\w&#/])#[a-z][a-z0-9_-]{0,79}\b")
CONN_ID = r"^[A-Za-z_][A-Za-z0-9_.-]{0,249}$"
"""An Airflow connection id."""
_CONN_ID = re.compile(r"\bslack(?:_webhook)?_conn_id\W{1,3}([A-Za-z_][A-Za-z0-9_.-]{0,249})")
_SLACK_OPERATOR = re.compile(r"\bSlack(?:Webhook|APIPost)Operator\b")
_SLACK_CALLBACK = re.compile(r"\bSlack(?:Webhook)?Notifier\b|\bSlack\.\w+")
"""A Slack notifier or callback (``on_success_callback=Slack.notify_…``)."""
_SLACK = re.compile(r"\bslack")
_POSTING = re.compile(
    r"\b(?:send|sends|sending|sent|notify|notifies|notification|notifications|alert|alerts"
    r"|alerting|post|posts|posting|message|messages|tell|tells|inform|informs|announce"
    r"|announces|ping|pings)\b"
)
_NUMBER = re.compile(r"^\W*\d+(?:\.\d+)*\.?\s+")
"""A step's number, before its title."""
_CARRIERS = frozenset({"EmptyOperator", "DummyOperator"})
"""Operators that do no work of their own: one whose step names a Slack callback only
carries the notification, which is the step's point."""


def _carries_callback(text: str) -> bool:
    """Whether ``text`` names a Slack notifier or callback and only empty operators
    (which run it and do nothing else)."""
    named = named_operators(text)
    return bool(named) and named <= _CARRIERS and bool(_SLACK_CALLBACK.search(text))


class SlackParameters(StrictParameters):
    """Post to ``channel`` (None: the webhook's own) through the incoming webhook
    connection ``conn_id`` (None: the one ``config.yml`` names)."""

    channel: str | None = Field(default=None, pattern=CHANNEL)
    conn_id: str | None = Field(default=None, pattern=CONN_ID)

    _nulls = field_validator("*", mode="before")(none_as_null)


class NotifySlack(OperatorPattern[SlackParameters]):
    """A Slack message about the run (``SlackWebhookOperator``): the task's words, the
    DAG and date."""

    name: ClassVar[str] = "notify_slack"
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "python"
    summary: ClassVar[str] = "post a message about the run to Slack (an incoming webhook)"
    cues: ClassVar[tuple[str, ...]] = ("slack",)
    parameters: ClassVar[type[BaseModel]] = SlackParameters
    imports: ClassVar[tuple[str, ...]] = (
        "from airflow.providers.slack.operators.slack_webhook import SlackWebhookOperator",
    )
    stands_for: ClassVar[tuple[str, ...]] = ("SlackAPIPostOperator",)
    requirements: ClassVar[tuple[str, ...]] = (SLACK,)

    def applies(self, ctx: TaskContext) -> bool:
        """A step whose point is a Slack message: its words name a Slack operator, or
        its title and objective say to send, post, notify or alert in Slack, or its only
        operator is an empty one carrying a Slack notifier or callback. Slack among a
        step's integrations, or a failure callback of a step that does work, is no such
        step."""
        text = ctx.task.description
        head = lead(text).lower()
        said = bool(_SLACK.search(head) and _POSTING.search(head))
        return bool(_SLACK_OPERATOR.search(text)) or said or _carries_callback(text)

    def fits_named_operators(self, ctx: TaskContext) -> bool:
        """Also a step whose empty operator carries a Slack callback."""
        return _carries_callback(ctx.task.description) or super().fits_named_operators(ctx)

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        """Nothing to read."""
        return obj({})

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The channel and the connection id the words write out, else ``none``."""
        text = ctx.task.description
        channels = list(dict.fromkeys(_CHANNEL.findall(text.lower())))
        conn_ids = list(dict.fromkeys(_CONN_ID.findall(text)))
        return obj(
            {
                "channel": enum(narrowed(ctx, channels, [NONE])),
                "conn_id": enum(narrowed(ctx, conn_ids, [NONE])),
            }
        )

    def settings(self, params: SlackParameters, task: TaskSpec) -> list[Setting]:
        """The incoming webhook connection (its URL)."""
        what = f"Slack incoming webhook connection {task.name} posts with"
        return [Setting("slack_webhook_conn_id", "slack_webhook_conn_id", what, params.conn_id)]

    def arguments(
        self, params: SlackParameters, spec: PipelineSpec, task: TaskSpec
    ) -> dict[str, Any]:
        """The message: the DAG, the logical date and the step's title and objective."""
        words = _NUMBER.sub("", " ".join(lead(task.description).split())).strip(" •-*:")
        return {
            "message": f"*{{{{ dag.dag_id }}}}* ({task.name}, {{{{ ds }}}}): {words}",
        }
