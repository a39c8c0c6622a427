"""Plain-text tables for command-line summaries."""

from __future__ import annotations

from collections.abc import Sequence


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Left-aligned columns separated by two spaces, with a rule under the headers."""
    cells = [[str(value) for value in row] for row in rows]
    widths = [max([len(h), *(len(row[i]) for row in cells)]) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        padded = (value.ljust(width) for value, width in zip(values, widths, strict=True))
        return "  ".join(padded).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(headers), rule, *(line(row) for row in cells)])


def usd_cell(value: float | None) -> str:
    """``$12.3400``; a nonzero amount under a cent keeps six decimals (``$0.000037``) so
    that it does not read as free; None (unknown) is ``n/a``."""
    if value is None:
        return "n/a"
    return f"${value:.6f}" if 0 < abs(value) < 0.01 else f"${value:.4f}"
