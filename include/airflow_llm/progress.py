"""Progress lines: one for each step a spec or one of its tasks finishes.

They go to the ``airflow_llm.progress`` logger at INFO level, so they land in the task
logs of an Airflow run; ``make demo`` prints them as they come (:func:`print_progress`)
instead of leaving minutes of silence before its summary.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

LOGGER = logging.getLogger("airflow_llm.progress")


def progress(message: str, *args: object) -> None:
    """Report one finished step (``%``-style ``args``, as :mod:`logging` takes them)."""
    LOGGER.info(message, *args)


def print_progress(stream: TextIO = sys.stdout) -> None:
    """Print every progress line to ``stream`` (once per process)."""
    if any(getattr(h, "airflow_llm_progress", False) for h in LOGGER.handlers):
        return
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("  %(message)s"))
    handler.airflow_llm_progress = True  # type: ignore[attr-defined]
    LOGGER.addHandler(handler)
    LOGGER.setLevel(logging.INFO)
    LOGGER.propagate = False
