"""An overall deadline per HTTP request, not only per socket read.

httpx's timeouts bound each connect, read and write on its own: a server that
dribbles one byte a second never trips a 10 s read timeout, and the request lasts as
long as the server likes. Inside :func:`deadline`, an ``httpx2`` client over
:class:`DeadlineTransport` gives every socket operation only the time left, and
fails with the matching timeout once none is left, so a request ends by its deadline
whatever the server does.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import httpcore2
import httpx2

_DEADLINE: ContextVar[float | None] = ContextVar("airflow_llm_http_deadline", default=None)

_HTTPCORE_ERRORS = (
    httpcore2.TimeoutException,
    httpcore2.NetworkError,
    httpcore2.ProtocolError,
    httpcore2.ProxyError,
    httpcore2.UnsupportedProtocol,
)


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """HTTP requests made inside (over :class:`DeadlineTransport`) end within ``seconds``."""
    token = _DEADLINE.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def _time_left(timeout: float | None, expired: type[Exception]) -> float | None:
    """``timeout`` cut to the time left before the deadline; raise ``expired`` past it."""
    end = _DEADLINE.get()
    if end is None:
        return timeout
    left = end - time.monotonic()
    if left <= 0:
        raise expired("the request's deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore2.NetworkStream):
    """A connection whose every read and write gets at most the time left."""

    def __init__(self, inner: httpcore2.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _time_left(timeout, httpcore2.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _time_left(timeout, httpcore2.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore2.NetworkStream:
        left = _time_left(timeout, httpcore2.ConnectTimeout)
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, left))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore2.SyncBackend):
    """TCP connections that honour the deadline from connect to close."""

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.NetworkStream:
        left = _time_left(timeout, httpcore2.ConnectTimeout)
        return _DeadlineStream(super().connect_tcp(host, port, left, local_address, socket_options))


def _as_httpx2(error: Exception) -> httpx2.TransportError:
    """httpcore2's exception as httpx2's class of the same name (what openai catches)."""
    kind: type[httpx2.TransportError] = getattr(httpx2, type(error).__name__, httpx2.TransportError)
    return kind(str(error))


class _ResponseStream(httpx2.SyncByteStream):
    def __init__(self, inner: Iterable[bytes]) -> None:
        self._inner = inner

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._inner
        except _HTTPCORE_ERRORS as error:
            raise _as_httpx2(error) from error

    def close(self) -> None:
        close = getattr(self._inner, "close", None)
        if close is not None:
            close()


class DeadlineTransport(httpx2.BaseTransport):
    """HTTP/1.1 over a connection pool whose sockets honour :func:`deadline`."""

    def __init__(self) -> None:
        self._pool = httpcore2.ConnectionPool(
            ssl_context=httpx2.create_ssl_context(), network_backend=_DeadlineBackend()
        )

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        """Send ``request``; the body is read (and bounded) as the caller iterates it."""
        url = request.url
        core_request = httpcore2.Request(
            method=request.method,
            url=httpcore2.URL(
                scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        try:
            response = self._pool.handle_request(core_request)
        except _HTTPCORE_ERRORS as error:
            raise _as_httpx2(error) from error
        assert isinstance(response.stream, Iterable)  # a sync pool gives a sync stream
        return httpx2.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(response.stream),
            extensions=response.extensions,
        )

    def close(self) -> None:
        """Close the pooled connections."""
        self._pool.close()
