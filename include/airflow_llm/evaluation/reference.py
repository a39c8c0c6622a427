"""The reference structure a description states: its task names and, where stated, its edges.

Only what the text says counts. Tasks are the numbered items of the "Pipeline Steps"
section (``1. query_sales_data``, ``### 2. Reconciliation (Geocoding)``); a step that
is a TaskGroup or a segment stands for the members it lists (``1.1 ingest_vendor_a``,
``- Financial_Expense: ...`` after a line ending in ``:``), and a group that lists none
is a container of other steps, so it is dropped. Edges come from, in order:

1. a statement that the whole pipeline is linear ("strictly sequential", "sequential
   linear topology", ...) when no step was expanded into members: the steps in order;
2. otherwise the union of arrow chains whose every element names a task
   (``get_user → process_user``, ``a >> [b, c]``), task names mentioned on a step's
   ``Input:`` (upstream) or ``Output:`` (downstream) line, and files one step outputs
   and another inputs (``table_data_{}.json``).

Edges are kept only when every task of a multi-task reference is in at least one of
them; otherwise the text does not state the whole graph and ``edges`` is ``None``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from airflow_llm.spec_loading import snake_case_name

Edge = tuple[str, str]

_STEPS_HEADING = re.compile(r"^\W*pipeline steps\W*$", re.IGNORECASE)
_SECTION_END = re.compile(
    r"^\W*(orchestration|infrastructure|failure handling|pattern-specific)", re.IGNORECASE
)
_STEP = re.compile(r"^(?:#+\s*)?(\d+)(?:\.(\d+)|\.)\s+(\S.*?)\s*$")
_MEMBER = re.compile(r"^\s*-\s+([A-Za-z]\w*):")
_IO_LINE = re.compile(r"^[\s\-•*]*(input|output)\**\s*:\**(.*)$", re.IGNORECASE)
_IDENTIFIER = re.compile(r"[A-Za-z]\w*")
_ARROW = re.compile(r"\s*(?:→|->|>>)\s*")
_FILE = re.compile(r"[\w{}*\-]+\.(?:json|csv|txt|parquet|pdf|sql|xml|obo)\b", re.IGNORECASE)
_LINEAR = re.compile(
    r"strictly sequential|strict (?:sensor-gated )?(?:linear|sequential)"
    r"|linear sequential|sequential linear"
    r"|(?:sequential|linear) (?:topology|pattern|pipeline|workflow|order|execution model"
    r"|(?:etl|elt) pipeline)"
    r"|topology pattern:\W*linear",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ReferenceStructure:
    """Tasks and edges a description states; ``edges`` is None when it does not state them all."""

    tasks: tuple[str, ...]
    edges: frozenset[Edge] | None
    note: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, edges sorted."""
        edges = None if self.edges is None else [list(edge) for edge in sorted(self.edges)]
        return {"tasks": list(self.tasks), "edges": edges, "note": self.note}


@dataclass
class _Step:
    name: str
    is_group: bool
    lines: list[str] = field(default_factory=list)
    members: list[str] = field(default_factory=list)


def extract_reference(text: str) -> ReferenceStructure | None:
    """The structure ``text`` states, or None when it has no numbered pipeline steps.

    Names come out snake-cased (``Check_PCD_SFTP_Folder`` -> ``check_pcd_sftp_folder``).
    """
    steps = _steps(_steps_section(text))
    tasks: list[str] = []
    groups: dict[str, list[str]] = {}
    for step in steps:
        if step.members:
            groups[step.name] = step.members
        names = step.members or ([] if step.is_group else _split_names(step.name))
        tasks += [name for name in names if name not in tasks]
    if not tasks:
        return None
    edges, note = _edges(text, steps, tasks, groups)
    snake = {name: snake_case_name(name) or name for name in tasks}
    return ReferenceStructure(
        tuple(snake[name] for name in tasks),
        None if edges is None else frozenset((snake[a], snake[b]) for a, b in edges),
        note,
    )


def _edges(
    text: str, steps: list[_Step], tasks: list[str], groups: dict[str, list[str]]
) -> tuple[set[Edge] | None, str]:
    if len(tasks) == 1:
        return set(), "one step"
    if _LINEAR.search(text) and not groups:
        return set(pairwise(tasks)), "steps in order (stated linear)"
    resolve = _Resolver(tasks, groups)
    found = _arrow_edges(text, resolve) | _mention_edges(steps, resolve)
    found |= _file_edges(steps, resolve)
    edges = {edge for edge in found if edge[0] in tasks and edge[1] in tasks}
    covered = {name for edge in edges for name in edge}
    if covered != set(tasks):
        return None, f"edges not stated for: {', '.join(n for n in tasks if n not in covered)}"
    return edges, "edges stated by arrows, inputs and outputs"


def _steps_section(text: str) -> list[str]:
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if _STEPS_HEADING.match(line)), None)
    if start is None:
        return []
    section = []
    for line in lines[start + 1 :]:
        if _SECTION_END.match(line):
            break
        section.append(line)
    return section


def _steps(section: list[str]) -> list[_Step]:
    steps: list[_Step] = []
    parent: _Step | None = None
    for line in section:
        match = _STEP.match(line)
        if match is None:
            if steps:
                steps[-1].lines.append(line)
            continue
        _, sub, title = match.groups()
        step = _step(title)
        if sub is not None and parent is not None:
            parent.members += _split_names(step.name)
        else:
            parent = step
        steps.append(step)
    for step in steps:
        step.members += [m for m in _listed_members(step) if m not in step.members]
    return steps


def _step(title: str) -> _Step:
    title = title.replace("**", "").strip()
    listing = title.endswith(":")
    is_group = bool(re.search(r"\btaskgroup\b", title, re.IGNORECASE))
    title = re.sub(r"\s*\([^)]*\)", "", title).rstrip(":").strip()
    title = re.sub(r"\s+taskgroup$", "", title, flags=re.IGNORECASE)
    if ":" in title and _IDENTIFIER.fullmatch(after := title.rsplit(":", 1)[1].strip()):
        title = after  # "Branch Path A: store_deaths_in_postgres"
    step = _Step(title, is_group)
    if listing:
        step.lines.append("containing:")
    return step


def _split_names(title: str) -> list[str]:
    parts = [part.strip() for part in title.split("&")]
    if len(parts) > 1 and all(_IDENTIFIER.fullmatch(part) for part in parts):
        return parts
    return [title if _IDENTIFIER.fullmatch(title) else snake_case_name(title)]


def _listed_members(step: _Step) -> list[str]:
    """``- name: ...`` lines right after a line ending in ``containing:`` or the step title's
    colon (which ``_step`` records as such a line)."""
    members: list[str] = []
    listing = False
    for line in step.lines:
        stripped = line.strip()
        if stripped.endswith("containing:"):
            listing = True
        elif listing and (match := _MEMBER.match(line)):
            members.append(match.group(1))
        elif listing and stripped:
            listing = False
    return members


@dataclass(frozen=True)
class _Resolver:
    """Maps a mentioned identifier to the tasks it names (a group names its members)."""

    tasks: list[str]
    groups: dict[str, list[str]]

    def __call__(self, word: str) -> list[str]:
        lowered = word.lower()
        for name in [*self.tasks, *self.groups]:
            if name.lower() == lowered:
                return self.groups.get(name, [name])
        if "_" in word:  # "manual_review" for route_to_manual_review, when unique
            suffixed = [name for name in self.tasks if name.lower().endswith(f"_{lowered}")]
            if len(suffixed) == 1:
                return suffixed
        return []

    def own(self, step: _Step) -> list[str]:
        """The tasks a step stands for."""
        return step.members or _split_names(step.name)


def _arrow_edges(text: str, resolve: _Resolver) -> set[Edge]:
    edges: set[Edge] = set()
    for line in text.splitlines():
        parts = _ARROW.split(line)
        if len(parts) < 2:
            continue
        # the chain starts at the last word (or [list]) before the first arrow and ends
        # at the first word (or [list]) after the last one
        first = re.search(r"(\[[^\]]*\]|\S+)$", parts[0])
        last = re.match(r"\[[^\]]*\]|\S+", parts[-1])
        elements = [first[0] if first else "", *parts[1:-1], last[0] if last else ""]
        resolved = [_resolve_element(element, resolve) for element in elements]
        if all(resolved):
            for upstream, downstream in pairwise(resolved):
                edges |= {(a, b) for a in upstream for b in downstream}
    return edges


def _resolve_element(element: str, resolve: _Resolver) -> list[str]:
    """``name`` or ``[a, b]`` to task names; empty when any part names no task."""
    names = [part.strip(" []`'\".,;") for part in element.strip().split(",")]
    resolved = [resolve(name) for name in names]
    return [task for tasks in resolved for task in tasks] if all(resolved) else []


def _mention_edges(steps: list[_Step], resolve: _Resolver) -> set[Edge]:
    edges: set[Edge] = set()
    for step in steps:
        own = resolve.own(step)
        for line in step.lines:
            match = _IO_LINE.match(line)
            if match is None:
                continue
            direction, words = match.group(1).lower(), _IDENTIFIER.findall(match.group(2))
            mentioned = {task for word in words for task in resolve(word)} - set(own)
            for other in mentioned:
                edges |= {(other, o) if direction == "input" else (o, other) for o in own}
    return edges


def _file_edges(steps: list[_Step], resolve: _Resolver) -> set[Edge]:
    """Step A outputs a file that step B inputs (file names compared with digits and
    ``{}``/``*`` placeholders masked)."""

    def files(step: _Step, direction: str) -> set[str]:
        found: set[str] = set()
        for line in step.lines:
            match = _IO_LINE.match(line)
            if match and match.group(1).lower() == direction:
                found |= {re.sub(r"[{}*\d]+", "#", f) for f in _FILE.findall(match.group(2))}
        return found

    edges: set[Edge] = set()
    for producer in steps:
        outputs = files(producer, "output")
        for consumer in steps:
            if consumer is not producer and outputs & files(consumer, "input"):
                edges |= {(a, b) for a in resolve.own(producer) for b in resolve.own(consumer)}
    return edges
