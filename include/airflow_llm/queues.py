"""Which executor queue each kind of task goes to: deployment settings, read from the
environment when a DAG file is parsed (a task's queue is fixed when it is defined).

Model-bound tasks (planning, generation and repair, healing) go to the queue named in
``AIRFLOW_LLM_QUEUE_LLM``, CPU-bound ones (the gates, the re-check before a promotion)
to ``AIRFLOW_LLM_QUEUE_GATES``; unset, and for every other task, Airflow's
``[operators] default_queue``. Workers subscribe to the queues they serve
(``airflow celery worker -q ...``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

LLM_QUEUE_VARIABLE = "AIRFLOW_LLM_QUEUE_LLM"
GATES_QUEUE_VARIABLE = "AIRFLOW_LLM_QUEUE_GATES"


def named_queue(variable: str, environ: Mapping[str, str] = os.environ) -> str | None:
    """The queue ``variable`` names, or None when it is unset or blank."""
    return environ.get(variable, "").strip() or None
