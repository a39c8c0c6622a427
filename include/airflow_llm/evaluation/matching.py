"""Planned structure against a reference: fuzzy one-to-one task matching, precision, recall.

Names are compared as words (``extractSalesData``, ``extract_sales_data`` and
``Extract Sales Data`` are the same): the similarity of two names is the mean of
difflib's ratio over the words and the Dice coefficient of the word sets, where two
words match when equal or when one (of 4+ letters) starts the other
(``normalize``/``normalized``). Filler words (task, the, to, ...) are ignored. Pairs at
or above the threshold (0.55: ``load_csv`` matches ``load_customer_segment_csv``,
``send_email`` does not match ``send_sms_campaign``) are assigned greedily, most similar
first, each name at most once. A planned edge counts as found when both its ends are
matched and the edge between their reference names is in the reference.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any

from airflow_llm.spec_loading import snake_case_name

Edge = tuple[str, str]
DEFAULT_THRESHOLD = 0.55
_FILLER = frozenset({"task", "the", "a", "an", "to", "of", "and", "for", "from", "into", "op"})


def name_words(name: str) -> list[str]:
    """The meaningful lower-case words of a task name."""
    return [word for word in snake_case_name(name).split("_") if word and word not in _FILLER]


def _words_match(left: str, right: str) -> bool:
    short, long = sorted((left, right), key=len)
    return short == long or (len(short) >= 4 and long.startswith(short))


def similarity(left: str, right: str) -> float:
    """How alike two task names are, from 0 to 1 (see the module docstring)."""
    a, b = name_words(left), name_words(right)
    if not a or not b:
        return 0.0
    ratio = SequenceMatcher(None, " ".join(a), " ".join(b)).ratio()
    matched_a = sum(any(_words_match(x, y) for y in b) for x in a)
    matched_b = sum(any(_words_match(y, x) for x in a) for y in b)
    return (ratio + (matched_a + matched_b) / (len(a) + len(b))) / 2


def match_names(
    planned: Sequence[str], reference: Sequence[str], threshold: float = DEFAULT_THRESHOLD
) -> dict[str, str]:
    """``planned name -> reference name``, one to one, most similar pairs first."""
    pairs = sorted(
        (
            (-similarity(p, r), ri, pi)
            for pi, p in enumerate(planned)
            for ri, r in enumerate(reference)
        ),
    )
    matches: dict[str, str] = {}
    taken: set[str] = set()
    for negative, ri, pi in pairs:
        if -negative < threshold:
            break
        if planned[pi] not in matches and reference[ri] not in taken:
            matches[planned[pi]] = reference[ri]
            taken.add(reference[ri])
    return matches


@dataclass(frozen=True)
class StructureScore:
    """Counts behind task and edge precision/recall; ``reference_edges`` None when the
    reference states no edges (edge recall and precision then undefined)."""

    planned_tasks: int
    reference_tasks: int
    matched_tasks: int
    planned_edges: int
    reference_edges: int | None
    matched_edges: int
    matches: dict[str, str] = field(default_factory=dict)

    @property
    def task_precision(self) -> float | None:
        """Matched over planned tasks."""
        return ratio(self.matched_tasks, self.planned_tasks)

    @property
    def task_recall(self) -> float | None:
        """Matched over reference tasks."""
        return ratio(self.matched_tasks, self.reference_tasks)

    @property
    def edge_precision(self) -> float | None:
        """Found over planned edges (only against a reference with edges)."""
        return (
            None if self.reference_edges is None else ratio(self.matched_edges, self.planned_edges)
        )

    @property
    def edge_recall(self) -> float | None:
        """Found over reference edges."""
        return (
            None
            if self.reference_edges is None
            else ratio(self.matched_edges, self.reference_edges)
        )

    def to_dict(self) -> dict[str, Any]:
        """Counts, rates and the name matches."""
        return {
            "planned_tasks": self.planned_tasks,
            "reference_tasks": self.reference_tasks,
            "matched_tasks": self.matched_tasks,
            "planned_edges": self.planned_edges,
            "reference_edges": self.reference_edges,
            "matched_edges": self.matched_edges,
            "task_precision": self.task_precision,
            "task_recall": self.task_recall,
            "edge_precision": self.edge_precision,
            "edge_recall": self.edge_recall,
            "matches": self.matches,
        }


def ratio(numerator: int, denominator: int) -> float | None:
    """``numerator / denominator``, None when the denominator is 0."""
    return numerator / denominator if denominator else None


def score_structure(
    planned_tasks: Sequence[str],
    planned_edges: Iterable[Edge],
    reference_tasks: Sequence[str],
    reference_edges: Iterable[Edge] | None,
    threshold: float = DEFAULT_THRESHOLD,
) -> StructureScore:
    """Compare a planned task graph with a reference one."""
    matches = match_names(planned_tasks, reference_tasks, threshold)
    planned = set(planned_edges)
    reference = None if reference_edges is None else set(reference_edges)
    mapped = {(matches[a], matches[b]) for a, b in planned if a in matches and b in matches}
    return StructureScore(
        planned_tasks=len(planned_tasks),
        reference_tasks=len(reference_tasks),
        matched_tasks=len(matches),
        planned_edges=len(planned),
        reference_edges=None if reference is None else len(reference),
        matched_edges=len(mapped & reference) if reference is not None else 0,
        matches=matches,
    )
