"""The embedded llama.cpp model server, started for real, used through the openai client."""

from __future__ import annotations

import json

import pytest
from openai import OpenAI

from airflow_llm.embedded.config import EmbeddedConfig

# one test worker runs every test of the model server (one server, 2 threads, at a time)
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("model_server")]


def _client(config: EmbeddedConfig) -> OpenAI:
    return OpenAI(base_url=config.model_base_url, api_key="not-needed", timeout=120, max_retries=0)


def test_models_lists_the_alias(model_server: EmbeddedConfig) -> None:
    models = [model.id for model in _client(model_server).models.list()]
    assert models == [model_server.model_alias]


def test_chat_completion_answers(model_server: EmbeddedConfig) -> None:
    reply = _client(model_server).chat.completions.create(
        model=model_server.model_alias,
        messages=[{"role": "user", "content": "Name one colour."}],
        max_tokens=16,
        temperature=0,
    )
    assert reply.choices[0].message.content
    assert reply.usage is not None
    assert 0 < reply.usage.completion_tokens <= 16


def test_json_schema_response_format_is_enforced(model_server: EmbeddedConfig) -> None:
    schema = {
        "type": "object",
        "properties": {"kind": {"type": "string", "enum": ["sql", "python", "quality"]}},
        "required": ["kind"],
        "additionalProperties": False,
    }
    reply = _client(model_server).chat.completions.create(
        model=model_server.model_alias,
        messages=[{"role": "user", "content": "Which kind of task loads a table with SQL?"}],
        response_format={"type": "json_schema", "json_schema": {"name": "task", "schema": schema}},
        max_tokens=32,
        temperature=0,
    )
    answer = json.loads(reply.choices[0].message.content or "")
    assert answer["kind"] in ("sql", "python", "quality")
