"""Bulk regeneration of every spec for every environment (dev, staging, prod by default).

Scheduled weekly (``AIRFLOW_LLM_REGENERATE_SCHEDULE``). Incremental: a spec whose
content, generator version, models and prompts are unchanged since its published
bundle is skipped at once, so a run over unchanged specs makes no model call and
publishes nothing. Trigger with ``force`` to regenerate everything.
"""

from __future__ import annotations

import os

from airflow.sdk import Param, dag

from airflow_llm.deployment import ENVIRONMENTS, specs_uri
from airflow_llm.flow import generation_flow


@dag(
    schedule=os.environ.get("AIRFLOW_LLM_REGENERATE_SCHEDULE", "@weekly"),
    catchup=False,
    max_active_runs=1,
    render_template_as_native_obj=True,
    tags=["airflow-llm"],
    params={"force": Param(False, type="boolean", description="regenerate even if unchanged")},
    doc_md=__doc__,
)
def airflow_llm_regenerate() -> None:
    generation_flow([], specs_uri(), ENVIRONMENTS)


airflow_llm_regenerate()
