"""What a task reads, and what produces it.

A :class:`Read` is one input of a task: a ``table`` (a declared source, or a table an
upstream task writes), a ``file`` (a path in the data folder, a file an upstream task
returns, a file or answer of a remote service), an ``object`` in S3 (``s3://bucket/key``),
the ``xcom`` of an upstream task, or ``unknown``: what free-form code, or code the
pipeline does not see (a container image, a shell command), reads. A pattern says what
its parameters read (:meth:`~airflow_llm.patterns.operators.OperatorPattern.data_reads`);
:mod:`airflow_llm.bundle.data_flow` says what produces each read: ``source``, an upstream
``task`` (a transitive ancestor), ``external`` (outside the pipeline: a file a sensor
upstream waits for, a remote service's file, a landing path the words or ``config.yml``
name), or nothing. ``tasks.yml`` records them per task under ``reads``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal, get_args

ReadKind = Literal["table", "file", "object", "xcom", "unknown"]
READ_KINDS: tuple[ReadKind, ...] = get_args(ReadKind)
Producer = Literal["source", "task", "external"]


@dataclass(frozen=True)
class Read:
    """One thing a task reads, and what produces it (None: nothing, or not resolved yet)."""

    kind: ReadKind
    name: str
    producer: Producer | None = None
    task: str | None = None
    """The upstream task that produces it, when ``producer`` is ``task``."""

    @classmethod
    def of_task(cls, kind: ReadKind, name: str, task: str) -> Read:
        """What upstream task ``task`` produces."""
        return cls(kind, name, "task", task)

    @classmethod
    def unknown(cls, what: str) -> Read:
        """What cannot be known from the bundle (say, what free-form code reads)."""
        return cls("unknown", what)

    def produced(self, producer: Producer, task: str | None = None) -> Read:
        """The same read with its producer."""
        return replace(self, producer=producer, task=task)

    @property
    def unproduced(self) -> bool:
        """Whether nothing produces it (what is unknown is not unproduced)."""
        return self.kind != "unknown" and self.producer is None

    def describe(self) -> str:
        """For people: ``table raw.orders (source)``, ``file x.csv (task load)``..."""
        if self.kind == "unknown":
            return f"unknown: {self.name}"
        origin = f"task {self.task}" if self.producer == "task" else self.producer
        return f"{self.kind} {self.name} ({origin or 'nothing produces it'})"

    def to_dict(self) -> dict[str, Any]:
        """``tasks.yml``'s entry: ``{<kind>: <name>, produced_by: source | external |
        {task: <name>} | null}`` (an ``unknown`` one without ``produced_by``)."""
        if self.kind == "unknown":
            return {"unknown": self.name}
        producer: Any = {"task": self.task} if self.producer == "task" else self.producer
        return {self.kind: self.name, "produced_by": producer}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Read:
        """The inverse of :meth:`to_dict`; ``ValueError`` says what is wrong."""
        if not isinstance(data, Mapping):
            raise ValueError(f"expected a mapping, got {data!r}")
        kinds = [kind for kind in READ_KINDS if kind in data]
        extra = sorted(set(data) - set(READ_KINDS) - {"produced_by"})
        if len(kinds) != 1 or extra or not isinstance(data[kinds[0]], str):
            raise ValueError(f"expected one of {', '.join(READ_KINDS)} naming what is read")
        kind = kinds[0]
        name, producer = data[kind], data.get("produced_by")
        if kind == "unknown" or producer is None:
            return cls(kind, name)
        if isinstance(producer, Mapping) and set(producer) == {"task"}:
            return cls.of_task(kind, name, str(producer["task"]))
        if producer in ("source", "external"):
            return cls(kind, name, producer)
        raise ValueError("produced_by: expected source, external, {task: <name>} or null")


def table_key(name: str) -> tuple[str, ...]:
    """A table's name as lower-case parts (``Raw.Orders`` -> ``("raw", "orders")``)."""
    return tuple(part.lower() for part in name.split("."))


def same_table(one: str, other: str) -> bool:
    """Whether two names may be the same table: an unqualified ``orders`` may be
    ``raw.orders``, and ``raw.orders`` may be ``db.raw.orders``."""
    a, b = table_key(one), table_key(other)
    shorter = min(len(a), len(b))
    return a[-shorter:] == b[-shorter:]


_CONFIG_REFERENCE = "<config.yml operators.{}.{}>"


def config_reference(task: str, setting: str) -> str:
    """How a read names a value ``config.yml`` gives per environment."""
    return _CONFIG_REFERENCE.format(task, setting)


def is_config_reference(name: str) -> bool:
    """Whether a read's name holds a value only ``config.yml`` gives (which may name
    anything: it equals no other)."""
    return _CONFIG_REFERENCE.split("{}")[0] in name


_MACRO = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def same_place(one: str, other: str) -> bool:
    """Whether two stated paths or keys name the same file (macros written alike)."""
    return _MACRO.sub(r"{{ \1 }}", one) == _MACRO.sub(r"{{ \1 }}", other)
