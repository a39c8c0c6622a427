"""Endpoints from Airflow connections and from the environment."""

from __future__ import annotations

import json

import pytest

from airflow_llm.llm.endpoints import (
    endpoint_from_connection,
    model_from_extra,
    router_from_connections,
    router_from_env,
)


def test_openai_and_pydanticai_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_LLM_VLLM",
        json.dumps(
            {
                "conn_type": "openai",
                "host": "http://vllm:8000/v1",
                "password": "k",
                "extra": {"model": "qwen"},
            }
        ),
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_LLM_PAI",
        json.dumps(
            {
                "conn_type": "pydanticai",
                "host": "http://llama:8080/v1",
                "extra": {"model": "openai-chat:smol"},
            }
        ),
    )
    vllm = endpoint_from_connection("llm_vllm")
    assert (vllm.base_url, vllm.model, vllm.api_key, vllm.name) == (
        "http://vllm:8000/v1",
        "qwen",
        "k",
        "llm_vllm",
    )
    router = router_from_connections({"default": "llm_pai", "sql": "llm_vllm"})
    assert router.for_role("sql").model == "qwen"
    assert router.for_role("plan").model == "smol"


def test_connection_without_model_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_NO_MODEL", json.dumps({"conn_type": "openai", "host": "http://x/v1"})
    )
    with pytest.raises(ValueError, match=r"no extra\.model"):
        endpoint_from_connection("no_model")


def test_env_router_defaults_to_the_embedded_server_and_routes_by_role() -> None:
    router = router_from_env(
        {
            "AIRFLOW_LLM_MODEL_PORT": "9999",
            "AIRFLOW_LLM_SQL_MODEL": "coder",
            "AIRFLOW_LLM_SQL_BASE_URL": "http://gpu/v1",
        }
    )
    assert router.default.base_url == "http://127.0.0.1:9999/v1"
    assert router.for_role("sql").identity == "http://gpu/v1|coder"
    assert router.for_role("python") is router.default


def test_pydantic_ai_prefixes_are_stripped() -> None:
    assert model_from_extra("openai-chat:gpt-4o") == "gpt-4o"
    assert model_from_extra("openai:gpt-4o") == "gpt-4o"
    assert model_from_extra("qwen") == "qwen"
