"""``airflow_llm_generate`` with its bundle gates stubbed (every bundle passes them at
once): the cluster bench's run without gates, beside the real DAG's run with them.

The same task graph (:func:`airflow_llm.flow.generation_flow`), queues and pools; the
stub is started when a task's process loads this file, so it covers this DAG's tasks
only. Manual runs only (``make bench-cluster`` triggers it with ``spec_uris``).
"""

from __future__ import annotations

from airflow.sdk import Param, dag

from airflow_llm.deployment import ENVIRONMENTS, specs_uri
from airflow_llm.flow import generation_flow
from bench.gate_stub import stubbed_gates

stubbed_gates().start()


@dag(
    schedule=None,
    catchup=False,
    render_template_as_native_obj=True,
    tags=["airflow-llm-bench"],
    params={
        "spec_uris": Param([], type="array"),
        "prefix": Param("specs/", type="string"),
        "environment": Param(ENVIRONMENTS[0], enum=ENVIRONMENTS),
        "force": Param(False, type="boolean"),
    },
    doc_md=__doc__,
)
def bench_generate_gates_stubbed() -> None:
    generation_flow(
        "{{ params.spec_uris }}", specs_uri("{{ params.prefix }}"), ["{{ params.environment }}"]
    )


bench_generate_gates_stubbed()
