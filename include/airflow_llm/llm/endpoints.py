"""OpenAI-compatible endpoints and the router that picks one per kind of request.

An endpoint comes from an Airflow connection (the openai provider's ``openai`` type or
the common-ai ``pydanticai`` type: host = base URL, password = API key, extra.model),
or, for the command line, from ``AIRFLOW_LLM_*`` environment variables.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Role = Literal["plan", "sql", "python", "quality"]
ROLES: tuple[Role, ...] = ("plan", "sql", "python", "quality")
_PYDANTIC_AI_PREFIXES = ("openai-chat:", "openai:")


def role_of_kind(kind: str) -> Role:
    """The request role (and so the routed model) that writes a task of ``kind``."""
    if kind == "sql":
        return "sql"
    if kind == "quality":
        return "quality"
    return "python"


@dataclass(frozen=True)
class Endpoint:
    """One model behind one OpenAI-compatible base URL (None means api.openai.com)."""

    model: str
    base_url: str | None = None
    api_key: str = field(default="not-needed", repr=False)
    timeout: float = 120.0
    """Seconds one request may take in all, connect to last byte (a deadline, not only
    a read timeout: see :mod:`airflow_llm.llm.deadline`)."""
    json_schema: bool = True
    """Whether the server accepts ``response_format={"type": "json_schema", ...}``."""
    name: str = "default"
    """The connection id (or label) it came from, for reports."""

    @property
    def identity(self) -> str:
        """What identifies the model for caching and reports: base URL and model name."""
        return f"{self.base_url or 'openai'}|{self.model}"


@dataclass(frozen=True)
class ModelRouter:
    """Routes each request role (plan, sql, python, quality) to an endpoint."""

    default: Endpoint
    routes: Mapping[str, Endpoint] = field(default_factory=dict)

    def for_role(self, role: str) -> Endpoint:
        """The endpoint for ``role``, or the default one."""
        return self.routes.get(role, self.default)

    def describe(self) -> dict[str, str]:
        """``role -> base_url|model`` for every role, for manifests and reports."""
        return {role: self.for_role(role).identity for role in ROLES}


def model_from_extra(model: str) -> str:
    """Strip pydantic-ai's provider prefix (``openai-chat:gpt-4o`` -> ``gpt-4o``)."""
    for prefix in _PYDANTIC_AI_PREFIXES:
        if model.startswith(prefix):
            return model[len(prefix) :]
    return model


def endpoint_from_connection(conn_id: str) -> Endpoint:
    """Build an endpoint from an Airflow connection of type ``openai`` or ``pydanticai``."""
    from airflow.sdk import BaseHook

    connection = BaseHook.get_connection(conn_id)
    extra = connection.extra_dejson
    model = model_from_extra(str(extra.get("model") or ""))
    if not model:
        raise ValueError(f"connection {conn_id!r} has no extra.model naming the model to use")
    return Endpoint(
        model=model,
        base_url=connection.host or None,
        api_key=connection.password or "not-needed",
        timeout=float(extra.get("timeout", 120.0)),
        json_schema=bool(extra.get("json_schema", True)),
        name=conn_id,
    )


def router_from_connections(routes: Mapping[str, str]) -> ModelRouter:
    """A router from ``{"default": conn_id, "sql": conn_id, ...}`` (the Airflow variable)."""
    if "default" not in routes:
        raise ValueError('model routes need a "default" connection id')
    endpoints = {conn_id: endpoint_from_connection(conn_id) for conn_id in set(routes.values())}
    return ModelRouter(
        default=endpoints[routes["default"]],
        routes={role: endpoints[conn_id] for role, conn_id in routes.items() if role != "default"},
    )


def router_from_env(environ: Mapping[str, str] = os.environ) -> ModelRouter:
    """A router from ``AIRFLOW_LLM_BASE_URL``, ``AIRFLOW_LLM_MODEL``, ``AIRFLOW_LLM_API_KEY``
    and per role ``AIRFLOW_LLM_<ROLE>_BASE_URL`` / ``_MODEL`` / ``_API_KEY``.

    Without any, it points at the embedded model server.
    """
    from airflow_llm.embedded.config import EmbeddedConfig

    embedded = EmbeddedConfig.from_env(environ)

    def endpoint(prefix: str, fallback: Endpoint | None) -> Endpoint | None:
        model = environ.get(f"{prefix}MODEL")
        base_url = environ.get(f"{prefix}BASE_URL")
        if fallback is not None and model is None and base_url is None:
            return None
        return Endpoint(
            model=model or (fallback.model if fallback else embedded.model_alias),
            base_url=base_url or (fallback.base_url if fallback else embedded.model_base_url),
            api_key=environ.get(f"{prefix}API_KEY")
            or (fallback.api_key if fallback else "not-needed"),
            timeout=float(environ.get(f"{prefix}TIMEOUT", fallback.timeout if fallback else 120)),
            name=prefix.rstrip("_").lower(),
        )

    default = endpoint("AIRFLOW_LLM_", None)
    if default is None:  # pragma: no cover - endpoint() always builds the default
        raise AssertionError("no default endpoint")
    routes: dict[str, Endpoint] = {
        role: routed
        for role in ROLES
        if (routed := endpoint(f"AIRFLOW_LLM_{role.upper()}_", default)) is not None
    }
    return ModelRouter(default=default, routes=routes)
