"""Notification patterns: tell people by email (``notify_email``: the smtp provider's
``EmailOperator``), through an SMTP connection of the environment."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, field_validator

from airflow_llm.patterns.base import StrictParameters, enum, narrowed, obj
from airflow_llm.patterns.common import NONE, none_as_null
from airflow_llm.patterns.context import TaskContext
from airflow_llm.patterns.operators import OperatorPattern, Setting, lead, names_operator
from airflow_llm.spec import EMAIL_PATTERN, PipelineSpec, TaskSpec

SMTP = "apache-airflow-providers-smtp==3.2.0"
_EMAIL = re.compile(EMAIL_PATTERN[1:-1])
_MAIL = re.compile(r"\be-?mails?\b|\bmail\b")
_TELLING = re.compile(
    r"\b(?:send|sends|sending|sent|notify|notifies|notification|notifications|alert|alerts|alerting|tell|tells|inform|informs)\b"
)
_MAIL_FIRST = re.compile(r"^\W*(?:\d+(?:\.\d+)*\.?\s*)?(?:\w+\W+)?e-?mail\b")


class EmailParameters(StrictParameters):
    """Email ``to`` (addresses, comma-separated; None: the ones ``config.yml`` names)."""

    to: str | None = None

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
        or start with "email". An email that is only data (a customer's email
        field, an "email" column) is no notification."""
        text = ctx.task.description
        if not super().applies(ctx):
            return False
        head = lead(text).lower().replace("_", " ")
        return (
            names_operator(text, "EmailOperator")
            or bool(_EMAIL.search(head))
            or bool(_MAIL.search(head) and _TELLING.search(head))
            or bool(_MAIL_FIRST.match(head))
        )

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        """Nothing to read."""
        return obj({})

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The addresses the words write out, or the spec's stakeholders when the words
        name them; else ``none`` (``config.yml``)."""
        stated = list(dict.fromkeys(m.group(0) for m in _EMAIL.finditer(ctx.task.description)))
        if not stated and "stakeholder" in ctx.text.lowered:
            stated = list(ctx.spec.stakeholders)
        return obj({"to": enum(narrowed(ctx, [", ".join(stated)] if stated else [], [NONE]))})

    def settings(self, params: EmailParameters, task: TaskSpec) -> list[Setting]:
        """The SMTP connection and the recipients."""
        return [
            Setting("smtp_conn_id", "smtp_conn_id", f"SMTP connection {task.name} sends with"),
            Setting("to", "recipients", f"email addresses {task.name} writes to", params.to),
        ]

    def arguments(
        self, params: EmailParameters, spec: PipelineSpec, task: TaskSpec
    ) -> dict[str, Any]:
        """The subject and the body: the task's words, the DAG and the logical date."""
        return {
            "subject": f"{spec.name}: {task.name} ({{{{ ds }}}})",
            "body": (
                f"<p>{html.escape(task.description)}</p>"
                "<p>{{ dag.dag_id }}, run {{ run_id }}, logical date {{ ds }}.</p>"
            ),
        }
