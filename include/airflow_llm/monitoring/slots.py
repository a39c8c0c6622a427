"""The price of an executor slot: what one running task instance costs per hour.

The deployment provides the catalog as YAML (``config/executor_slots.yml`` is the
example; ``$AIRFLOW_LLM_SLOT_PRICES`` or ``airflow-llm monitor --slot-prices`` names
another)::

    slots:
      - name: gpu-workers        # a name for tables and errors
        queue: gpu               # optional: only task instances of this queue
        executor: CeleryExecutor # optional: only task instances of this executor
        usd_per_hour: 1.10       # USD per hour of one slot (a worker's price / its slots)
      - name: workers            # neither queue nor executor: every other task instance
        usd_per_hour: 0.045

A task instance is priced by the first slot that matches its queue and executor; one
that no slot matches has no known cost (never a made-up zero).
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from airflow_llm.config_files import load_config, require_unique

DEFAULT_SLOT_PRICES = Path("config/executor_slots.yml")
SLOT_PRICES_ENV = "AIRFLOW_LLM_SLOT_PRICES"


class SlotPrice(BaseModel):
    """One kind of executor slot and its hourly price."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    queue: str | None = None
    executor: str | None = None
    usd_per_hour: float = Field(ge=0)

    def matches(self, queue: str | None, executor: str | None) -> bool:
        """Whether a task instance of ``queue`` run by ``executor`` uses this slot."""
        return self.queue in (None, queue) and self.executor in (None, executor)


class SlotCatalog(BaseModel):
    """The deployment's executor slots, first match wins."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    slots: list[SlotPrice] = Field(min_length=1)

    @field_validator("slots")
    @classmethod
    def _unique_names(cls, slots: list[SlotPrice]) -> list[SlotPrice]:
        require_unique((slot.name for slot in slots), "slot names")
        return slots

    def slot_for(self, queue: str | None, executor: str | None) -> SlotPrice | None:
        """The slot a task instance of ``queue`` run by ``executor`` uses, if any."""
        return next((slot for slot in self.slots if slot.matches(queue, executor)), None)

    @classmethod
    def load(cls, path: Path | None = None) -> SlotCatalog:
        """The catalog at ``path``, else ``$AIRFLOW_LLM_SLOT_PRICES``, else
        ``config/executor_slots.yml``; raise :class:`~airflow_llm.config_files.ConfigError`."""
        chosen = path or Path(os.environ.get(SLOT_PRICES_ENV, str(DEFAULT_SLOT_PRICES)))
        return load_config(chosen, cls)
