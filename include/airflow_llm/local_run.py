"""Set-up for generation outside Airflow (the CLI and the Python API).

Inside Airflow, endpoints come from connections; here they come from ``AIRFLOW_LLM_*``
variables (the embedded model server by default) or a named connection, and responses
are cached under the work folder so a repeated run makes no model call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from airflow_llm.llm.cache import ResponseCache
from airflow_llm.llm.client import ModelClient
from airflow_llm.llm.endpoints import router_from_connections, router_from_env
from airflow_llm.llm.pricing import PriceTable
from airflow_llm.settings import GenerationSettings
from airflow_llm.spec import PipelineSpec
from airflow_llm.spec_loading import snake_case_name
from airflow_llm.table_words import inferred_sources


def local_client(
    settings: GenerationSettings,
    *,
    base_url: str | None = None,
    model: str | None = None,
    api_key: str | None = None,
    cache: bool = True,
    conn_id: str | None = None,
) -> ModelClient:
    """A client routed from the environment (or every role to Airflow connection ``conn_id``),
    with optional overrides of the default endpoint."""
    router = router_from_connections({"default": conn_id}) if conn_id else router_from_env()
    default = router.default
    default = replace(
        default,
        base_url=base_url or default.base_url,
        model=model or default.model,
        api_key=api_key or default.api_key,
    )
    router = replace(router, default=default)
    response_cache = None
    if cache:
        folder = (settings.work_dir / "responses").resolve()
        response_cache = ResponseCache.at(f"file://{folder}")
    return ModelClient(router, cache=response_cache, prices=PriceTable.from_env())


def spec_from_description(
    description: str,
    name: str | None = None,
    *,
    owners: Sequence[str] = ("airflow",),
    stakeholders: Sequence[str] = (),
    schedule: str | None = None,
    dialect: str = "ansi",
    environments: Mapping[str, Mapping[str, Any]] | None = None,
) -> PipelineSpec:
    """A spec with only a description (the planner derives its tasks) and the tables it
    reads as sources (:func:`airflow_llm.table_words.inferred_sources`)."""
    fields: dict[str, Any] = {
        "name": name or snake_case_name(" ".join(description.split()[:6])) or "pipeline",
        "description": description,
        "owners": list(owners),
        "stakeholders": list(stakeholders),
        "schedule": schedule,
        "dialect": dialect,
        "sources": inferred_sources(description.splitlines()),
    }
    if environments is not None:
        fields["environments"] = {key: dict(value) for key, value in environments.items()}
    return PipelineSpec.model_validate(fields)
