"""The model client: one chat call with retries, structured output, usage, cost and caching.

Each attempt ends by the endpoint's ``timeout`` whatever the server does (see
:mod:`airflow_llm.llm.deadline`). Timeouts, connection faults, 429 (honouring
``Retry-After``) and 5xx are retried with backoff, and so are answers that are no
usable completion: a body that is not a chat completion, empty content, or far more
tokens than ``max_tokens`` allowed. What is still failing after the last attempt
becomes a :class:`ModelError`, which rejects the spec with that reason.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import httpx2
import openai
from pydantic import BaseModel, Field, ValidationError

from airflow_llm.llm.cache import ResponseCache, cache_key
from airflow_llm.llm.deadline import DeadlineTransport, deadline
from airflow_llm.llm.endpoints import Endpoint, ModelRouter
from airflow_llm.llm.pricing import PriceTable
from airflow_llm.llm.tokens import count_message_tokens, count_tokens


class ModelError(RuntimeError):
    """The endpoint did not give a usable answer within the retry budget."""


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries with exponential backoff and jitter; 429 honours Retry-After."""

    max_attempts: int = 4
    base_delay: float = 1.0
    max_delay: float = 30.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based)."""
        if retry_after is not None:
            return min(retry_after, self.max_delay)
        backoff = self.base_delay * 2 ** (attempt - 1)
        return float(min(backoff, self.max_delay) * (0.5 + random.random() / 2))  # noqa: S311


@dataclass(frozen=True)
class ChatRequest:
    """One request: who routes it, what it says, and how to sample."""

    role: str
    messages: list[dict[str, str]]
    prompt_version: str
    max_tokens: int = 1024
    temperature: float = 0.0
    json_schema: dict[str, Any] | None = None


@dataclass(frozen=True)
class ChatResponse:
    """The answer and what it cost."""

    content: str
    endpoint: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    """USD, from the client's price table (0 for a cache hit); None when the endpoint's
    model has no price."""
    seconds: float
    cached: bool
    attempts: int


@dataclass
class CallStats:
    """Totals over a client's life: model calls made, cache hits, tokens, cost."""

    calls: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    """USD of the answers from models with a price."""
    unpriced: dict[str, int] = field(default_factory=dict)
    """Answers (cache hits included) from models without a price, by model: with any of
    them, the cost of the calls is unknown."""

    def snapshot(self) -> CallStats:
        """A copy that later calls leave unchanged."""
        return replace(self, unpriced=dict(self.unpriced))

    def since(self, before: CallStats) -> dict[str, Any]:
        """What the calls after ``before`` (a :meth:`snapshot`) made and cost:
        ``cost_usd`` is None, and ``unpriced_models`` names the models, when a model
        without a price answered."""
        unpriced = sorted(
            model for model, count in self.unpriced.items() if count > before.unpriced.get(model, 0)
        )
        return {
            "model_calls": self.calls - before.calls,
            "cache_hits": self.cache_hits - before.cache_hits,
            "prompt_tokens": self.prompt_tokens - before.prompt_tokens,
            "completion_tokens": self.completion_tokens - before.completion_tokens,
            "cost_usd": None if unpriced else round(self.cost_usd - before.cost_usd, 6),
            "unpriced_models": unpriced,
        }

    def add_cost(self, model: str, cost: float | None) -> None:
        """Count one answer's cost (None: ``model`` has no price)."""
        if cost is None:
            self.unpriced[model] = self.unpriced.get(model, 0) + 1
        else:
            self.cost_usd += cost


_RETRYABLE = (openai.APITimeoutError, openai.APIConnectionError, openai.InternalServerError)
_OVERRUN = 2
"""An answer of more than this many times ``max_tokens`` means the endpoint ignored the
limit (the slack allows for tiktoken's estimate of another tokenizer's count)."""


class _BadReplyError(Exception):
    """The endpoint answered 200, but with no usable completion (retried like a fault)."""


class _Message(BaseModel):
    content: str | None = None


class _Choice(BaseModel):
    message: _Message


class _Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int


class _Reply(BaseModel):
    """The fields of a chat.completion body that the client reads; others are ignored."""

    choices: list[_Choice] = Field(min_length=1)
    usage: _Usage | None = None


@dataclass
class ModelClient:
    """Sends :class:`ChatRequest` s to the routed endpoint, with retries and a cache."""

    router: ModelRouter
    cache: ResponseCache | None = None
    prices: PriceTable = field(default_factory=PriceTable)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Callable[[float], None] = time.sleep
    stats: CallStats = field(default_factory=CallStats)
    http_client: httpx2.Client | None = None
    """Transport override (tests script endpoints with ``httpx2.MockTransport``); the
    default client enforces each request's deadline."""
    _clients: dict[str, openai.OpenAI] = field(default_factory=dict, repr=False)

    def complete(self, request: ChatRequest) -> ChatResponse:
        """Answer ``request`` from the cache, or from the endpoint with bounded retries."""
        endpoint = self.router.for_role(request.role)
        key = cache_key(
            {
                "endpoint": endpoint.identity,
                "prompt_version": request.prompt_version,
                "messages": request.messages,
                "max_tokens": request.max_tokens,
                "temperature": request.temperature,
                "json_schema": request.json_schema,
            }
        )
        if self.cache is not None and (hit := self.cache.get(key)) is not None:
            self.stats.cache_hits += 1
            cost = 0.0 if self.prices.knows(endpoint.model) else None
            self.stats.add_cost(endpoint.model, cost)
            return ChatResponse(
                content=hit["content"],
                endpoint=endpoint.identity,
                prompt_tokens=hit["prompt_tokens"],
                completion_tokens=hit["completion_tokens"],
                cost_usd=cost,
                seconds=0.0,
                cached=True,
                attempts=0,
            )
        response = self._call_with_retries(endpoint, request)
        if self.cache is not None:
            self.cache.put(
                key,
                {
                    "content": response.content,
                    "prompt_tokens": response.prompt_tokens,
                    "completion_tokens": response.completion_tokens,
                },
            )
        return response

    def _call_with_retries(self, endpoint: Endpoint, request: ChatRequest) -> ChatResponse:
        started = time.monotonic()
        for attempt in range(1, self.retry.max_attempts + 1):
            retry_after: float | None = None
            try:
                return self._call(endpoint, request, attempt, started)
            except openai.RateLimitError as error:
                retry_after = _retry_after(error.response.headers.get("retry-after"))
                reason: str = "429 rate limited"
            except _RETRYABLE as error:
                reason = type(error).__name__
            except _BadReplyError as error:
                reason = str(error)
            except openai.APIStatusError as error:
                raise ModelError(
                    f"{endpoint.identity}: HTTP {error.status_code}: {error}"
                ) from error
            if attempt == self.retry.max_attempts:
                raise ModelError(
                    f"{endpoint.identity}: gave up after {attempt} attempts ({reason})"
                )
            self.sleep(self.retry.delay(attempt, retry_after))
        raise AssertionError("unreachable")

    def _call(
        self, endpoint: Endpoint, request: ChatRequest, attempt: int, started: float
    ) -> ChatResponse:
        extra: dict[str, Any] = {}
        if request.json_schema is not None and endpoint.json_schema:
            extra["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": request.json_schema, "strict": True},
            }
        self.stats.calls += 1
        with deadline(endpoint.timeout):
            raw = self._client(endpoint).chat.completions.with_raw_response.create(
                model=endpoint.model,
                messages=request.messages,  # type: ignore[arg-type]
                max_tokens=request.max_tokens,
                temperature=request.temperature,
                **extra,
            )
        try:
            reply = _Reply.model_validate_json(raw.http_response.content)
        except ValidationError as error:
            raise _BadReplyError(f"malformed reply: {error.errors()[0]['msg']}") from error
        content = reply.choices[0].message.content or ""
        usage = reply.usage
        prompt_tokens = (
            usage.prompt_tokens if usage else count_message_tokens(request.messages, endpoint.model)
        )
        completion_tokens = (
            usage.completion_tokens if usage else count_tokens(content, endpoint.model)
        )
        cost = self.prices.cost(endpoint.model, prompt_tokens, completion_tokens)
        self.stats.prompt_tokens += prompt_tokens
        self.stats.completion_tokens += completion_tokens
        self.stats.add_cost(endpoint.model, cost)
        if not content.strip():
            raise _BadReplyError("empty answer")
        if completion_tokens > _OVERRUN * request.max_tokens:
            raise _BadReplyError(
                f"{completion_tokens} tokens, far over max_tokens={request.max_tokens}"
            )
        return ChatResponse(
            content=content,
            endpoint=endpoint.identity,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cost_usd=cost,
            seconds=time.monotonic() - started,
            cached=False,
            attempts=attempt,
        )

    def _client(self, endpoint: Endpoint) -> openai.OpenAI:
        if endpoint.identity not in self._clients:
            self._clients[endpoint.identity] = openai.OpenAI(
                base_url=endpoint.base_url,
                api_key=endpoint.api_key,
                timeout=endpoint.timeout,
                max_retries=0,  # retries are ours: bounded, logged, Retry-After aware
                http_client=self.http_client or httpx2.Client(transport=DeadlineTransport()),
            )
        return self._clients[endpoint.identity]


def _retry_after(header: str | None) -> float | None:
    try:
        return max(0.0, float(header)) if header else None
    except ValueError:
        return None
