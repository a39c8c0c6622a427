"""The benchmark endpoint: a harness standing in for a model server, not a model.

It answers chat completions by prompt role like ``tests/scripted_endpoint.py`` (it is
a :class:`~tests.scripted_endpoint.ScriptedModel` served over real HTTP), and behaves
like a server of fixed capacity: it admits ``concurrency`` requests at a time, queues
the rest, and spends ``seconds_per_token`` per completion token on each admitted
request (a decode stream of a large model on vLLM: 20-40 ms/token). Its books say
what the endpoint-bound ideal of a run is: total service time / concurrency.

The bulk runs start it in a process of its own (:func:`serve_in_own_process`), as a
model server is: its HTTP handling and token counting then take neither the GIL nor
the time of the run being measured. Its books come back through a JSON file.
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx2

from airflow_llm.llm.tokens import count_message_tokens, count_tokens
from tests.scripted_endpoint import ScriptedModel, Wire, chat_completion


@dataclass
class Books:
    """What the endpoint served: requests, tokens, service time, queueing, occupancy."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    service_seconds: float = 0.0
    """Sum of every request's service time (completion tokens x seconds per token)."""
    queue_seconds: float = 0.0
    """Sum of the time requests waited for admission."""
    max_in_flight: int = 0
    in_flight: int = 0
    services: list[float] = field(default_factory=list)
    """Each request's service time, in the order they were admitted."""

    def ideal_seconds(self, concurrency: int) -> float:
        """The endpoint-bound ideal of these requests: service time / concurrency."""
        return self.service_seconds / concurrency

    def packed_seconds(self, concurrency: int) -> float:
        """How long the endpoint needs for these requests if they all wait ready from the
        start: longest first, each on the slot that frees first. With requests of about
        equal length the last round is part empty, so this exceeds service / concurrency
        (the ideal) by up to one request's time; it ignores that some requests can only
        be asked after others are answered."""
        slots = [0.0] * concurrency
        for service in sorted(self.services, reverse=True):
            heapq.heapreplace(slots, slots[0] + service)
        return max(slots)

    def snapshot(self) -> dict[str, Any]:
        """JSON-ready totals."""
        return {
            "requests": self.requests,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "service_seconds": round(self.service_seconds, 3),
            "queue_seconds": round(self.queue_seconds, 3),
            "max_in_flight": self.max_in_flight,
        }


@dataclass
class BenchEndpoint(ScriptedModel):
    """Answers by role (see :class:`ScriptedModel`) at a known service time per token."""

    concurrency: int = 4
    seconds_per_token: float = 0.03
    model: str = "bench"
    books: Books = field(default_factory=Books)
    books_file: Path | None = None
    """Where to write the books after every request, when set."""
    _admission: threading.Semaphore = field(init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self._admission = threading.Semaphore(self.concurrency)

    def respond(self, body: dict[str, Any], url: str = "") -> httpx2.Response | Wire:
        """The scripted answer, after waiting for a slot and serving its tokens."""
        scripted = super().respond(body, url)
        if not isinstance(scripted, httpx2.Response) or scripted.status_code != 200:
            return scripted
        content = scripted.json()["choices"][0]["message"]["content"]
        completion_tokens = count_tokens(content, self.model)
        prompt_tokens = count_message_tokens(body["messages"], self.model)
        self._serve(prompt_tokens, completion_tokens)
        return httpx2.Response(200, json=chat_completion(content, prompt_tokens, completion_tokens))

    def _serve(self, prompt_tokens: int, completion_tokens: int) -> None:
        service = completion_tokens * self.seconds_per_token
        arrived = time.monotonic()
        with self._admission:
            admitted = time.monotonic()
            with self._lock:
                books = self.books
                books.requests += 1
                books.prompt_tokens += prompt_tokens
                books.completion_tokens += completion_tokens
                books.service_seconds += service
                books.services.append(service)
                books.queue_seconds += admitted - arrived
                books.in_flight += 1
                books.max_in_flight = max(books.max_in_flight, books.in_flight)
            time.sleep(service)
            with self._lock:
                books.in_flight -= 1
                if self.books_file is not None:
                    written = self.books_file.with_suffix(".tmp")
                    written.write_text(json.dumps(asdict(books)))
                    written.replace(self.books_file)


@dataclass(frozen=True)
class EndpointProcess:
    """A benchmark endpoint served by another process (see :func:`serve_in_own_process`)."""

    base_url: str
    concurrency: int
    books_file: Path

    def books(self) -> Books:
        """What it served so far."""
        if not self.books_file.exists():
            return Books()
        return Books(**json.loads(self.books_file.read_text()))


@contextmanager
def serve_in_own_process(
    concurrency: int, seconds_per_token: float, model: str, work_dir: Path
) -> Iterator[EndpointProcess]:
    """A benchmark endpoint with the bench's answers, in a child process, until exit."""
    books_file = work_dir / f"{model}.books.json"
    command = [
        *(sys.executable, "-m", "bench.endpoint", "--model", model),
        *("--concurrency", str(concurrency), "--seconds-per-token", str(seconds_per_token)),
        *("--books-file", str(books_file)),
    ]
    root = Path(__file__).resolve().parent.parent
    child = subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE, text=True, env=os.environ)
    try:
        assert child.stdout is not None
        base_url = child.stdout.readline().strip()  # printed once it listens
        if not base_url.startswith("http"):
            raise RuntimeError(f"the benchmark endpoint did not start (exit {child.poll()})")
        yield EndpointProcess(base_url, concurrency, books_file)
    finally:
        child.terminate()
        child.wait(timeout=30)


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the bench's answers until terminated; print the base URL once listening."""
    from bench.workload import answers

    parser = argparse.ArgumentParser(prog="python -m bench.endpoint")
    parser.add_argument("--model", required=True)
    parser.add_argument("--concurrency", type=int, required=True)
    parser.add_argument("--seconds-per-token", type=float, required=True)
    parser.add_argument("--books-file", type=Path, required=True)
    args = parser.parse_args(argv)
    endpoint = BenchEndpoint(
        answers=answers(),
        concurrency=args.concurrency,
        seconds_per_token=args.seconds_per_token,
        model=args.model,
        books_file=args.books_file,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with endpoint.serve() as base_url:
        print(base_url, flush=True)
        stop.wait()


if __name__ == "__main__":
    main()
