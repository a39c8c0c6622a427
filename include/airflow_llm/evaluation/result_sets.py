"""Comparing query results for execution accuracy.

Two results are the same when some order of the answer's columns gives the expected
rows: as multisets (row order ignored) unless the question asks for an order. Column
names never matter; numbers compare rounded to two decimals (``3``, ``3.0`` and
``Decimal('3.000')`` are equal), dates and times as ISO text, NULL only equals NULL.
"""

from __future__ import annotations

import datetime
import decimal
from collections import Counter
from collections.abc import Sequence
from itertools import permutations
from typing import Any

Row = tuple[Any, ...]
MAX_PERMUTED_COLUMNS = 6
"""Wider results are compared in their own column order only (6! = 720 orders at most)."""


def normalize_value(value: Any) -> Any:
    """The comparable form of one result value."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float | decimal.Decimal):
        return round(float(value), 2) + 0.0  # + 0.0 turns -0.0 into 0.0
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return str(value)


def normalize_rows(rows: Sequence[Sequence[Any]]) -> list[Row]:
    """Every value of every row normalized."""
    return [tuple(normalize_value(value) for value in row) for row in rows]


def same_result(
    expected: Sequence[Sequence[Any]], actual: Sequence[Sequence[Any]], ordered: bool = False
) -> bool:
    """Whether ``actual`` answers like ``expected`` (see the module docstring)."""
    want, got = normalize_rows(expected), normalize_rows(actual)
    if len(want) != len(got):
        return False
    if not want:
        return True
    width = len(want[0])
    if any(len(row) != width for row in [*want, *got]):
        return False
    orders = permutations(range(width)) if width <= MAX_PERMUTED_COLUMNS else [range(width)]
    target: list[Row] | Counter[Row] = want if ordered else Counter(want)
    for order in orders:
        permuted = [tuple(row[i] for i in order) for row in got]
        if (permuted if ordered else Counter(permuted)) == target:
            return True
    return False
