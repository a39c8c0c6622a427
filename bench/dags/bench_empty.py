"""One task that does nothing: what ``dag.test()`` costs by itself (the bench's baseline)."""

from __future__ import annotations

from airflow.sdk import dag, task


@dag(schedule=None, catchup=False, tags=["airflow-llm-bench"], doc_md=__doc__)
def bench_empty() -> None:
    @task
    def nothing() -> None:
        """Nothing."""

    nothing()


bench_empty()
