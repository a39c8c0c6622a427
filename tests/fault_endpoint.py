"""Endpoint faults for :class:`~tests.scripted_endpoint.ScriptedModel`: answers that
misbehave the way overloaded or broken OpenAI-compatible servers do.

Status and body faults are plain ``httpx2.Response`` s; socket faults (stalls, resets,
cut bodies, trickles) are :class:`~tests.scripted_endpoint.Wire` answers, which only
``ScriptedModel.serve()`` (real HTTP on 127.0.0.1) can give.
"""

from __future__ import annotations

import json
import socket
import struct
import threading

import httpx2

from tests.scripted_endpoint import Wire, chat_completion

JSON = {"content-type": "application/json"}


def rate_limited(retry_after: str) -> httpx2.Response:
    """429 Too Many Requests with a ``Retry-After`` header."""
    body = {"error": {"message": "slow down", "type": "rate_limit"}}
    return httpx2.Response(429, headers={"retry-after": retry_after}, json=body)


def server_error(status: int) -> httpx2.Response:
    """A 5xx answer (500 internal error, 503 overloaded, ...)."""
    return httpx2.Response(status, json={"error": {"message": f"HTTP {status}"}})


def malformed_json() -> httpx2.Response:
    """200 with a body cut in the middle of its JSON (a consistent Content-Length)."""
    body = json.dumps(chat_completion("SELECT 1"))
    return httpx2.Response(200, headers=JSON, content=body[: len(body) // 2].encode())


def wrong_shape() -> httpx2.Response:
    """200 with valid JSON that is no chat completion."""
    return httpx2.Response(200, json={"choices": "none today"})


def empty_content() -> httpx2.Response:
    """A well-formed completion whose message says nothing."""
    return httpx2.Response(200, json=chat_completion(""))


def cut_at_max_tokens(partial: str, max_tokens: int) -> httpx2.Response:
    """A model that ran out of budget mid-answer: ``partial``, cut by ``length``."""
    body = chat_completion(partial, completion_tokens=max_tokens, finish_reason="length")
    return httpx2.Response(200, json=body)


def over_max_tokens() -> httpx2.Response:
    """A server that ignored ``max_tokens``: 20,000 tokens, cut by ``length``."""
    runaway = 20_000
    body = chat_completion(
        "SELECT 1;\n" * runaway, completion_tokens=runaway, finish_reason="length"
    )
    return httpx2.Response(200, json=body)


def raw_http(response: httpx2.Response) -> bytes:
    """``response`` as the bytes of an HTTP/1.1 answer."""
    head = [f"HTTP/1.1 {response.status_code} {response.reason_phrase}"]
    head += [f"{name}: {value}" for name, value in response.headers.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + response.content


def _good_reply() -> bytes:
    return raw_http(httpx2.Response(200, json=chat_completion("SELECT 1")))


def stall(seconds: float) -> Wire:
    """Accept the request, then say nothing for ``seconds`` (past the client's timeout)."""

    def drive(sock: socket.socket, stopping: threading.Event) -> None:
        stopping.wait(seconds)

    return Wire(drive)


def reset_mid_body() -> Wire:
    """Send the head and half the body, then reset the connection (RST, not FIN)."""

    def drive(sock: socket.socket, stopping: threading.Event) -> None:
        reply = _good_reply()
        sock.sendall(reply[: len(reply) - 40])
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()

    return Wire(drive)


def cut_body() -> Wire:
    """Promise a body in Content-Length, send part of it, then close cleanly (FIN)."""

    def drive(sock: socket.socket, stopping: threading.Event) -> None:
        reply = _good_reply()
        sock.sendall(reply[: len(reply) - 40])
        sock.shutdown(socket.SHUT_WR)

    return Wire(drive)


def trickle(interval: float) -> Wire:
    """Dribble a whole good answer, status line first, one byte per ``interval``.

    Every read gets a byte long before a read timeout, so only a deadline on the
    whole request ends it.
    """

    def drive(sock: socket.socket, stopping: threading.Event) -> None:
        for byte in _good_reply():
            if stopping.wait(interval):
                return
            sock.sendall(bytes([byte]))

    return Wire(drive)
