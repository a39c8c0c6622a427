"""Validate every spec in the bucket: discover -> validate (one mapped task per spec) -> summary.

The first stage of the spec -> bundle flow. Trigger it manually (optionally with another
``prefix``) to check what people dropped into ``s3://<bucket>/specs/``; each spec's
problems appear as ``URI:LINE: field: message`` in its mapped task's return value.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import Param, dag, get_current_context, task

from airflow_llm.connections import S3_CONN_ID
from airflow_llm.deployment import specs_uri

SPECS_URI = specs_uri("{{ params.prefix }}")


@dag(
    schedule=None,
    catchup=False,
    tags=["airflow-llm"],
    params={"prefix": Param("specs/", type="string", description="key prefix of the specs")},
    doc_md=__doc__,
)
def airflow_llm_validate_specs() -> None:
    @task
    def discover(specs_uri: str) -> list[str]:
        from airflow_llm.intake import discover_spec_uris

        return discover_spec_uris(specs_uri, S3_CONN_ID)

    @task(map_index_template="{{ spec_uri }}", multiple_outputs=False)
    def validate(uri: str) -> dict[str, Any]:
        from airflow_llm.intake import check_spec_object

        get_current_context()["spec_uri"] = uri  # type: ignore[typeddict-unknown-key]
        return dict(check_spec_object(uri, S3_CONN_ID))

    @task(multiple_outputs=False)
    def summarize(results: list[dict[str, Any]]) -> dict[str, int]:
        from airflow_llm.intake import with_name_clashes

        checks = with_name_clashes(results[:])  # one request; a name shared is a problem
        invalid = [check for check in checks if not check["valid"]]
        for check in invalid:
            for problem in check["problems"]:
                print(problem)
        return {"specs": len(checks), "valid": len(checks) - len(invalid), "invalid": len(invalid)}

    summarize(validate.expand(uri=discover(SPECS_URI)))


airflow_llm_validate_specs()
