"""What model calls cost: USD per million input and output tokens, by model name."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
}
"""Public list prices. Self-hosted models are not listed: their cost is unknown (None,
reported as "n/a") until a price is configured, never a made-up zero."""


@dataclass(frozen=True)
class PriceTable:
    """USD per 1M (input, output) tokens; a model without a price has no known cost."""

    prices: Mapping[str, tuple[float, float]] = field(default_factory=lambda: dict(DEFAULT_PRICES))

    def knows(self, model: str) -> bool:
        """Whether ``model`` has a price."""
        return model in self.prices

    def cost(self, model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
        """Cost of one call in USD; None when ``model`` has no price."""
        if model not in self.prices:
            return None
        input_price, output_price = self.prices[model]
        return (prompt_tokens * input_price + completion_tokens * output_price) / 1_000_000

    @classmethod
    def from_file(cls, path: Path) -> PriceTable:
        """Defaults overlaid with ``{"model": [input_usd_per_1m, output_usd_per_1m]}`` JSON."""
        loaded = json.loads(path.read_text())
        prices = dict(DEFAULT_PRICES)
        prices.update({model: (float(i), float(o)) for model, (i, o) in loaded.items()})
        return cls(prices)

    @classmethod
    def from_env(cls) -> PriceTable:
        """``$AIRFLOW_LLM_PRICES`` (a JSON file) if set, else the defaults."""
        path = os.environ.get("AIRFLOW_LLM_PRICES")
        return cls.from_file(Path(path)) if path else cls()


def total_cost(costs: Iterable[float | None]) -> float | None:
    """The sum of ``costs`` in USD (rounded to a millionth of a dollar), or None when any
    of them is unknown: a total that leaves out unpriced calls would understate it."""
    known = 0.0
    for cost in costs:
        if cost is None:
            return None
        known += cost
    return round(known, 6)
