"""ModelClient against a scripted endpoint (httpx2.MockTransport): routing, retries, cache."""

from __future__ import annotations

import json
from pathlib import Path

import httpx2
import pytest

from airflow_llm.llm.cache import ResponseCache
from airflow_llm.llm.client import ChatRequest, ModelClient, ModelError, RetryPolicy
from airflow_llm.llm.endpoints import Endpoint, ModelRouter
from airflow_llm.llm.pricing import PriceTable
from tests.scripted_endpoint import ScriptedModel, chat_completion

DEFAULT = Endpoint(model="small", base_url="http://default.test/v1")
SQL = Endpoint(model="coder", base_url="http://sql.test/v1", json_schema=False)


def _client(script: ScriptedModel, **kwargs: object) -> tuple[ModelClient, list[float]]:
    slept: list[float] = []
    client = ModelClient(
        router=ModelRouter(default=DEFAULT, routes={"sql": SQL}),
        http_client=script.transport(),
        sleep=slept.append,
        **kwargs,  # type: ignore[arg-type]
    )
    return client, slept


def _request(role: str = "plan", schema: dict[str, object] | None = None) -> ChatRequest:
    messages = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]
    return ChatRequest(role=role, messages=messages, prompt_version="v1", json_schema=schema)


def test_roles_route_to_their_endpoints_and_models() -> None:
    script = ScriptedModel({"*": ["ok"]})
    client, _ = _client(script)
    client.complete(_request("sql"))
    client.complete(_request("quality"))
    assert [url.split("/v1")[0] for url in script.urls] == [
        "http://sql.test",
        "http://default.test",
    ]
    assert [body["model"] for body in script.requests] == ["coder", "small"]


def test_json_schema_goes_only_to_endpoints_that_support_it() -> None:
    script = ScriptedModel({"*": ['{"a": 1}']})
    client, _ = _client(script)
    schema = {"type": "object"}
    client.complete(_request("plan", schema))
    client.complete(_request("sql", schema))
    assert script.requests[0]["response_format"]["json_schema"]["schema"] == schema
    assert "response_format" not in script.requests[1]


def test_5xx_and_timeouts_are_retried_with_backoff() -> None:
    def timeout(body: dict[str, object]) -> str:
        raise httpx2.ReadTimeout("slow")

    script = ScriptedModel({"*": [httpx2.Response(503, json={}), timeout, "fine"]})
    client, slept = _client(script, retry=RetryPolicy(max_attempts=4, base_delay=1.0))
    response = client.complete(_request())
    assert response.content == "fine"
    assert response.attempts == 3
    assert len(slept) == 2
    assert 0.5 <= slept[0] <= 1.0
    assert 1.0 <= slept[1] <= 2.0


def test_429_honours_retry_after() -> None:
    limited = httpx2.Response(
        429, headers={"retry-after": "7"}, json={"error": {"message": "slow"}}
    )
    script = ScriptedModel({"*": [limited, "ok"]})
    client, slept = _client(script)
    assert client.complete(_request()).content == "ok"
    assert slept == [7.0]


def test_retries_are_bounded() -> None:
    script = ScriptedModel({"*": [httpx2.Response(500, json={})]})
    client, slept = _client(script, retry=RetryPolicy(max_attempts=3))
    with pytest.raises(ModelError, match="gave up after 3 attempts"):
        client.complete(_request())
    assert len(script.requests) == 3
    assert len(slept) == 2


def test_client_errors_are_not_retried() -> None:
    script = ScriptedModel({"*": [httpx2.Response(400, json={"error": {"message": "bad"}})]})
    client, slept = _client(script)
    with pytest.raises(ModelError, match="HTTP 400"):
        client.complete(_request())
    assert len(script.requests) == 1
    assert slept == []


def test_usage_and_cost_are_recorded() -> None:
    script = ScriptedModel({"*": [httpx2.Response(200, json=chat_completion("x", 1000, 500))]})
    client, _ = _client(script, prices=PriceTable({"small": (2.0, 8.0)}))
    response = client.complete(_request())
    assert (response.prompt_tokens, response.completion_tokens) == (1000, 500)
    assert response.cost_usd == pytest.approx((1000 * 2.0 + 500 * 8.0) / 1_000_000)
    assert client.stats.calls == 1
    assert client.stats.cost_usd == pytest.approx(response.cost_usd)


def test_a_model_without_a_price_has_no_cost_not_a_zero(tmp_path: Path) -> None:
    script = ScriptedModel({"*": [httpx2.Response(200, json=chat_completion("x", 1000, 500))]})
    cache = ResponseCache.at(f"file://{tmp_path}")
    client, _ = _client(script, prices=PriceTable({"coder": (2.0, 8.0)}), cache=cache)
    before = client.stats.snapshot()
    assert client.complete(_request("plan")).cost_usd is None, "small has no price"
    assert client.complete(_request("plan")).cost_usd is None, "from the cache: still unknown"
    assert client.stats.unpriced == {"small": 2}
    assert client.stats.since(before)["cost_usd"] is None
    assert client.stats.since(before)["unpriced_models"] == ["small"]

    priced = client.stats.snapshot()
    answered = client.complete(_request("sql"))
    assert answered.cost_usd == pytest.approx((1000 * 2.0 + 500 * 8.0) / 1_000_000)
    assert client.complete(_request("sql")).cost_usd == 0.0, "a cache hit costs nothing"
    totals = client.stats.since(priced)
    assert (totals["cost_usd"], totals["unpriced_models"]) == (0.006, [])
    assert priced.unpriced == {"small": 2}, "a snapshot is not changed by later calls"


def test_missing_usage_is_estimated_with_tiktoken() -> None:
    body = chat_completion("hello world")
    del body["usage"]
    script = ScriptedModel({"*": [httpx2.Response(200, json=body)]})
    client, _ = _client(script)
    response = client.complete(_request())
    assert response.completion_tokens == 2
    assert response.prompt_tokens > 0


def test_cache_makes_a_rerun_free(tmp_path: Path) -> None:
    script = ScriptedModel({"*": ["answer"]})
    cache = ResponseCache.at(f"file://{tmp_path}")
    client, _ = _client(script, cache=cache)
    first = client.complete(_request())
    rerun, _ = _client(script, cache=cache)
    second = rerun.complete(_request())
    assert len(script.requests) == 1
    assert (second.content, second.cached, rerun.stats.calls) == ("answer", True, 0)
    assert second.prompt_tokens == first.prompt_tokens
    changed = ChatRequest(role="plan", messages=_request().messages, prompt_version="v2")
    rerun.complete(changed)
    assert len(script.requests) == 2, "a new prompt version is a new key"
    stored = list(tmp_path.rglob("*.json"))
    assert len(stored) == 2
    assert json.loads(stored[0].read_text())["content"] == "answer"
