"""Messages to people (``send_messages``): SMS, push notifications, WhatsApp or in-app
messages to the recipients a file or a table lists, through a messaging API.

A step whose title or objective sends messages over such a channel ("Execute the SMS
campaign", "Send push notifications to app users") reads its recipients' column (a
phone number, a device token...) from the file an upstream task wrote (the path it
returns), a file the words name or ``config.yml`` gives (DuckDB in memory), or a
table through the environment's SQL connection; it skips empty values and repeats,
and POSTs them in batches (``{"channel", "message", "recipients"}``) with the http
provider's ``HttpHook``, through an ``http`` connection of the environment (the API's
host and credentials) to the endpoint the words state or ``config.yml`` gives. The
message is the one the words quote beside "message" or "template", else
``config.yml``'s. A status of 400 or more fails the task; it returns how many
recipients it sent to. Email and Slack stay ``notify_email``'s and ``notify_slack``'s,
and a step that names an HTTP method is one call (``http_call``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

import sqlglot.expressions as exp
from pydantic import BaseModel, Field, field_validator

from airflow_llm.patterns.base import StrictParameters, enum, narrowed, obj
from airflow_llm.patterns.common import NONE, nearest_outputs, none_as_null, require
from airflow_llm.patterns.context import Relation, TaskContext
from airflow_llm.patterns.file_operations import Name, Use, column, reader
from airflow_llm.patterns.file_steps import (
    SOURCE,
    FileFacts,
    FileInput,
    FilePattern,
    arguments_of,
    check_source,
    file_inputs,
    source_choice,
)
from airflow_llm.patterns.file_words import FileFormat, mentions_s3
from airflow_llm.patterns.http import ENDPOINT, HTTP, stated_endpoints, stated_methods
from airflow_llm.patterns.notifications import NotifySlack
from airflow_llm.patterns.operators import Setting, lead, names_operator
from airflow_llm.patterns.transfers import pipeline_table
from airflow_llm.patterns.writes import one_line
from airflow_llm.spec import TABLE_PATTERN, PipelineSpec, TaskSpec

Channel = Literal["sms", "push", "whatsapp", "message"]
_PEOPLE = (
    r"customers?|users?|subscribers?|recipients?|members?|patients?|clients?|contacts?"
    r"|employees?|drivers?|students?|buyers?|shoppers?|guests?|people"
)
_CHANNELS: dict[Channel, re.Pattern[str]] = {
    "sms": re.compile(r"\bsms\b|\btext[- ]messag\w*|\btexting\b", re.IGNORECASE),
    "push": re.compile(
        r"\bpush[- ](?:notifications?|messages?|alerts?)\b|\bmobile push\b", re.IGNORECASE
    ),
    "whatsapp": re.compile(r"\bwhats\s?app\b", re.IGNORECASE),
    "message": re.compile(
        rf"\bin[- ]app (?:messages?|notifications?)\b"
        rf"|\bmessag\w*\s+(?:\w+\s+){{0,3}}?(?:{_PEOPLE})\b"
        rf"|\b(?:{_PEOPLE})\s+(?:\w+\s+){{0,2}}?messag\w*",
        re.IGNORECASE,
    ),
}
"""How words name each channel; ``message``: a messaging API's own messages to people."""
_NAMES: dict[Channel, str] = {
    "sms": "SMS",
    "push": "push notification",
    "whatsapp": "WhatsApp message",
    "message": "message",
}
_MAIL = re.compile(r"\be-?mails?\b|\bmail\b", re.IGNORECASE)
_SENDING = re.compile(
    r"\b(?:send|sends|sending|sent|deliver|delivers|delivering|notify|notifies|notifying"
    r"|campaigns?|blast|blasts|broadcast\w*|texting|remind\w*|alert|alerts|alerting"
    r"|dispatch\w*)\b",
    re.IGNORECASE,
)
"""Words of a step whose point is sending (a channel named is not enough: "count the
SMS of the day")."""
_RECIPIENT_NAMES: dict[Channel, tuple[str, ...]] = {
    "sms": ("phone", "phone_number", "mobile", "mobile_number", "msisdn", "cell"),
    "whatsapp": ("phone", "phone_number", "mobile", "mobile_number", "whatsapp", "msisdn"),
    "push": ("device_token", "push_token", "fcm_token", "device_id", "token"),
    "message": ("user_id", "customer_id", "member_id", "recipient", "recipient_id"),
}
"""Recipient columns of each channel, the usual name first (the one a file gets when
nothing says which)."""
_RECIPIENT_WORDS: dict[Channel, re.Pattern[str]] = {
    "sms": re.compile(r"phone|mobile|msisdn|cell", re.IGNORECASE),
    "whatsapp": re.compile(r"phone|mobile|msisdn|whatsapp", re.IGNORECASE),
    "push": re.compile(r"device|token|push", re.IGNORECASE),
    "message": re.compile(r"user|customer|member|recipient|account|client", re.IGNORECASE),
}
_QUOTED = re.compile(r"\"([^\"\n]{2,300})\"|“([^”\n]{2,300})”|(?<![\w])'([^'\n]{2,300})'(?![\w])")
_MESSAGE_CUE = re.compile(
    r"\b(?:message|messages|text|template|templates|saying|says|reading|content|body|copy"
    r"|wording)\b",
    re.IGNORECASE,
)
_BATCH = re.compile(
    r"\bbatch(?:es)?\s+(?:size\s+)?(?:of\s+)?(?:up\s+to\s+)?(\d{1,5})\b|\bbatch_size\W{1,3}(\d{1,5})\b"
    r"|\b(\d{1,5})\s+(?:recipients|messages|numbers|tokens|users|customers)?\s*(?:per|a|each)\s+"
    r"(?:request|call|batch|post)\b",
    re.IGNORECASE,
)
DEFAULT_BATCH_SIZE = 100
"""Recipients per request when the words do not say."""
MAX_BATCH_SIZE = 10_000


def stated_channels(text: str) -> list[Channel]:
    """The channels ``text`` names, in the order it names them (messages to people
    only when it names no channel of their own: "text messages to drivers" are SMS)."""
    found = sorted(
        (match.start(), channel)
        for channel, pattern in _CHANNELS.items()
        for match in [pattern.search(text)]
        if match is not None
    )
    named = list(dict.fromkeys(channel for _, channel in found))
    specific: list[Channel] = [channel for channel in named if channel != "message"]
    return specific or named


def stated_messages(text: str) -> tuple[list[str], list[str]]:
    """The quoted strings of ``text``: those beside a message word ("with message '…'",
    "the '…' template"), and the rest (code-like names left out)."""
    beside: list[str] = []
    others: list[str] = []
    for match in _QUOTED.finditer(text):
        quoted = next(group for group in match.groups() if group).strip()
        if re.fullmatch(r"[\w.$/{}-]*[_.$/{][\w.$/{}-]*", quoted):
            continue
        before = text[max(0, match.start() - 40) : match.start()]
        after = text[match.end() : match.end() + 20]
        near = _MESSAGE_CUE.search(before.split(".")[-1]) or re.match(r"\W*\w+", after)
        cued = near is not None and bool(_MESSAGE_CUE.search(near.group()))
        (beside if cued else others).append(quoted)
    return list(dict.fromkeys(beside)), [m for m in dict.fromkeys(others) if m not in beside]


def stated_batch_sizes(text: str) -> list[int]:
    """The batch sizes ``text`` states ("in batches of 50", "100 per request")."""
    found = [int(next(g for g in m.groups() if g)) for m in _BATCH.finditer(text)]
    return [size for size in dict.fromkeys(found) if 1 <= size <= MAX_BATCH_SIZE]


def recipient_candidates(
    channel: Channel, columns: Sequence[str], named: Sequence[str]
) -> list[str]:
    """Recipient columns for ``channel``: the known columns that look like one, then the
    names the words write out that do, then the channel's usual names."""
    looks = _RECIPIENT_WORDS[channel]
    known = [name for name in columns if looks.search(name)]
    stated = [name for name in named if looks.search(name)]
    usual = list(_RECIPIENT_NAMES[channel]) if not columns else []
    return list(dict.fromkeys([*known, *stated, *usual]))


class SendMessagesParameters(StrictParameters):
    """Send ``message`` (None: ``config.yml``'s) over ``channel`` to the values of
    ``recipient_column`` in ``source`` (an upstream task's file, a path; None and no
    ``table``: a path ``config.yml`` gives) or ``table``, ``batch_size`` a request, to
    ``endpoint`` (None: ``config.yml``'s)."""

    channel: Channel
    source: str | None = Field(default=None, pattern=SOURCE)
    input_format: FileFormat = "csv"
    table: str | None = Field(default=None, pattern=TABLE_PATTERN)
    recipient_column: Name
    message: str | None = Field(default=None, min_length=1, max_length=1000)
    endpoint: str | None = Field(default=None, pattern=ENDPOINT)
    batch_size: int = Field(default=DEFAULT_BATCH_SIZE, ge=1, le=MAX_BATCH_SIZE)

    _nulls = field_validator("source", "table", "message", "endpoint", mode="before")(none_as_null)


class SendMessages(FilePattern[SendMessagesParameters]):
    """Messages to the recipients a file or table lists, in batches through an HTTP
    messaging API (``HttpHook`` in a TaskFlow task)."""

    name: ClassVar[str] = "send_messages"
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "python"
    summary: ClassVar[str] = (
        "send an SMS, push notification or app message to every recipient a file or table "
        "lists, in batches through an HTTP messaging API"
    )
    cues: ClassVar[tuple[str, ...]] = (
        "sms", "text message", "push notification", "push", "whatsapp", "message",
        "messages", "notification", "notifications", "campaign", "recipient", "recipients",
        "send", "deliver", "gateway", "mobile",
    )  # fmt: skip
    parameters: ClassVar[type[BaseModel]] = SendMessagesParameters
    table_parameters: ClassVar[tuple[str, ...]] = ("table",)
    imports: ClassVar[tuple[str, ...]] = (
        "from airflow.providers.http.hooks.http import HttpHook",
        "from airflow.providers.standard.hooks.filesystem import FSHook",
        "from airflow.sdk import BaseHook, task",
    )
    requirements: ClassVar[tuple[str, ...]] = (*FilePattern.requirements, HTTP)
    writes_file: ClassVar[bool] = False

    def applies(self, ctx: TaskContext) -> bool:
        """A step whose title or objective sends messages over a channel it names (SMS,
        push notifications, WhatsApp, messages to customers or users), not by email (its
        title or objective say email, or its words name ``EmailOperator``) or in Slack
        (their patterns'), naming no HTTP method or HTTP operator (one call:
        ``http_call``'s), and reading nothing from S3."""
        text = ctx.task.description
        head = lead(text)
        if not stated_channels(head) or not _SENDING.search(head) or mentions_s3(text):
            return False
        calls = bool(stated_methods(text)) or names_operator(text, "HttpOperator")
        mail = bool(_MAIL.search(head)) or names_operator(text, "EmailOperator")
        return not calls and not mail and not NotifySlack().applies(ctx)

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        """Where the recipients are: the nearest upstream file, else the nearest upstream
        table, else a table or file the words name, else the environment's config (a
        file)."""
        options = _recipient_sources(ctx)
        return obj({"recipients": enum(narrowed(ctx, options[:1] or [NONE], [*options, NONE]))})

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The channel the title names first, the recipient column (a known one that
        looks like the channel's, else one the words name, else the channel's usual
        name), the message quoted beside a message word (else ``config.yml``'s), the
        endpoint the words state (else ``config.yml``'s), and the batch size stated
        (else 100)."""
        text = ctx.task.description
        channels = stated_channels(lead(text)) or stated_channels(text)
        columns, named = _columns(ctx, str(inputs.get("recipients")))
        recipients = [
            name for channel in channels for name in recipient_candidates(channel, columns, named)
        ]
        beside, others = stated_messages(text)
        endpoints = stated_endpoints(text)
        sizes = stated_batch_sizes(text)
        return obj(
            {
                "channel": enum(narrowed(ctx, channels[:1], channels)),
                "recipient_column": enum(narrowed(ctx, recipients[:1], [*recipients, *columns])),
                "message": enum(narrowed(ctx, beside[:1] or [NONE], [*beside, *others, NONE])),
                "endpoint": enum(narrowed(ctx, endpoints[:1] or [NONE], [*endpoints, NONE])),
                "batch_size": enum(sizes[:1] or [DEFAULT_BATCH_SIZE]),
            }
        )

    def complete(self, answer: Mapping[str, Any], ctx: TaskContext) -> dict[str, Any]:
        """Where the recipients are, as a file (an upstream task's or a path, and its
        format) or a table."""
        completed = {k: v for k, v in answer.items() if k != "recipients"}
        chosen = source_choice(answer.get("recipients"))
        facts = FileFacts(ctx)
        if chosen is not None and facts.upstream_named(chosen) is None and ctx.relation(chosen):
            return {**completed, "table": chosen, "source": None}
        return {**completed, "source": chosen, "input_format": facts.input_format(chosen)}

    def check(self, params: SendMessagesParameters, ctx: TaskContext) -> Relation | None:
        """Recipients from one place: a table the task may read, or a file an upstream
        task writes or at a path in its folder; a recipient column the table or file has
        (any name for a file whose columns are unknown). Nothing is written."""
        require(params.source is None or params.table is None, "recipients from one place")
        if params.table is not None:
            relation = ctx.relation(params.table)
            require(relation is not None, f"no table {params.table!r} to read")
            columns = relation.column_names if relation is not None else []
            require(
                params.recipient_column in columns,
                f"no column {params.recipient_column!r} in {params.table}",
            )
            return None
        facts = FileFacts(ctx)
        check_source(facts, params.source)
        known = [c.name for c in facts.known_columns([params.source])]
        require(
            not known or params.recipient_column in known,
            f"no column {params.recipient_column!r} in the file ({', '.join(known)})",
        )
        return None

    def file_inputs(self, params: SendMessagesParameters) -> list[FileInput]:
        """The file it reads its recipients from (none when a table lists them)."""
        if params.table is not None:
            return []
        return file_inputs([params.source], [params.input_format])

    def reads(self, params: SendMessagesParameters) -> dict[str, Use]:
        """The recipient column."""
        return {params.recipient_column: "text"}

    def settings(self, params: SendMessagesParameters, task: TaskSpec) -> list[Setting]:
        """The file's folder and path (when no upstream task gives it) or the SQL
        connection of the table, the API's connection and endpoint, and the message."""
        if params.table is not None:
            reads = [Setting("sql_conn_id", "sql_conn_id", f"SQL connection {task.name} reads")]
        else:
            reads = self.path_settings(task, self.file_inputs(params))
        return [
            *reads,
            Setting(
                "http_conn_id",
                "http_conn_id",
                f"HTTP connection (the messaging API's host) {task.name} sends through",
            ),
            Setting(
                "endpoint", "endpoint", f"endpoint {task.name} posts messages to", params.endpoint
            ),
            Setting(
                "message", "message", f"{_NAMES[params.channel]} {task.name} sends", params.message
            ),
        ]

    def arguments(
        self, params: SendMessagesParameters, spec: PipelineSpec, task: TaskSpec
    ) -> dict[str, Any]:
        """Its input (none for a table), the query of the recipients (DuckDB over the
        file, the spec's dialect over the table) and a line for the docstring."""
        if params.table is not None:
            query = recipients_query(params.recipient_column, pipeline_table(params.table, spec))
            where, sql = params.table, one_line(query, spec.dialect)
        else:
            query = recipients_query(params.recipient_column, reader(params.input_format, 1))
            where, sql = f"the {params.input_format} file", query.sql(dialect="duckdb")
        summary = (
            f"Send the {_NAMES[params.channel]} to every {params.recipient_column} of {where}, "
            f"{params.batch_size} a request."
        )
        return arguments_of(self.file_inputs(params), sql, summary, task)


def recipients_query(name: str, source: exp.Expr) -> exp.Select:
    """``SELECT DISTINCT CAST(c AS VARCHAR) FROM source WHERE TRIM(...) <> '' ORDER BY 1``:
    each recipient once, empty values left out."""
    value = exp.Cast(this=column(name), to=exp.DataType.build("VARCHAR"))
    present = exp.NEQ(this=exp.Trim(this=value.copy()), expression=exp.Literal.string(""))
    recipient = exp.alias_(value, "recipient")
    return (
        exp.select(recipient)
        .distinct()
        .from_(source)
        .where(present)
        .order_by(exp.column("recipient"))
    )


def _recipient_sources(ctx: TaskContext) -> list[str]:
    """Upstream files (nearest first), upstream tables (nearest first), the tables the
    words name, the files the words name; then every other file and table."""
    facts = FileFacts(ctx)
    files = [r.produced_by for r in facts.upstream if r.produced_by]
    tables = nearest_outputs(ctx)
    named = [r.name for r in ctx.relations if ctx.text.mentions(r.name) >= 2.5]
    rest = [*facts.source_options(), *(r.name for r in ctx.relations)]
    return list(dict.fromkeys([*files, *tables, *named, *facts.inputs, *rest]))


def _columns(ctx: TaskContext, chosen: str) -> tuple[list[str], list[str]]:
    """The known columns of where the recipients are, and the names the words write out."""
    facts = FileFacts(ctx)
    source = source_choice(chosen)
    named = list(facts.candidates([None]).named)
    table = ctx.relation(source) if source and facts.upstream_named(source) is None else None
    if table is not None:
        return table.column_names, named
    return [c.name for c in facts.known_columns([source])], named
