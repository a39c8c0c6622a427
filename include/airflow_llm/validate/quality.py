"""Quality artifacts: a Great Expectations suite that must load into great_expectations."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from airflow_llm.patterns.context import Relation
from airflow_llm.spec import TABLE_PATTERN, PipelineSpec
from airflow_llm.validate.findings import Finding

EXPECTATION_TYPES = (
    "expect_table_row_count_to_be_between",
    "expect_column_to_exist",
    "expect_column_values_to_not_be_null",
    "expect_column_values_to_be_unique",
    "expect_column_values_to_be_between",
    "expect_column_values_to_be_in_set",
    "expect_column_values_to_match_regex",
    "expect_column_values_to_be_increasing",
    "expect_column_max_to_be_between",
    "expect_column_value_lengths_to_equal",
)
_KWARGS = ("column", "min_value", "max_value", "value_set", "regex", "value", "mostly")


def suite_schema(tables: list[str]) -> dict[str, Any]:
    """The structured-output schema the quality prompt asks for; ``table`` is one of
    ``tables`` when any are known (sources and tables written by upstream tasks)."""
    table: dict[str, Any] = {"type": "string", "enum": tables} if tables else {"type": "string"}
    return {**_SUITE_SCHEMA, "properties": {**_SUITE_SCHEMA["properties"], "table": table}}


_SUITE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "table": {"type": "string"},
        "expectations": {
            "type": "array",
            "minItems": 1,
            "maxItems": 6,
            "items": {
                "type": "object",
                "properties": {
                    "type": {"type": "string", "enum": list(EXPECTATION_TYPES)},
                    "kwargs": {
                        "type": "object",
                        "properties": {
                            "column": {"type": "string"},
                            "min_value": {"type": ["number", "null"]},
                            "max_value": {"type": ["number", "null"]},
                            "value_set": {"type": "array", "items": {"type": ["string", "number"]}},
                            "regex": {"type": "string"},
                        },
                    },
                },
                "required": ["type", "kwargs"],
            },
        },
    },
    "required": ["table", "expectations"],
}


def normalize_suite(document: dict[str, Any], name: str) -> dict[str, Any]:
    """The suite as written to the bundle: known keys only, in a stable order."""
    expectations = []
    for item in document.get("expectations") or []:
        if not isinstance(item, dict):
            continue
        raw = item.get("kwargs")
        kwargs: dict[str, Any] = raw if isinstance(raw, dict) else {}
        kept = {key: kwargs[key] for key in _KWARGS if kwargs.get(key) is not None}
        meta = item.get("meta")
        expectations.append(
            {"type": item.get("type"), "kwargs": kept}
            | ({"meta": meta} if isinstance(meta, dict) else {})
        )
    return {"name": name, "table": document.get("table"), "expectations": expectations}


def suite_findings(
    suite: dict[str, Any],
    filename: str,
    spec: PipelineSpec,
    relations: Sequence[Relation] = (),
) -> list[Finding]:
    """Whether the suite names a safe table, known columns (of the spec's sources and of
    the ``relations`` upstream tasks write), and loads into GX."""
    import great_expectations as gx

    findings = []
    table = suite.get("table")
    if not isinstance(table, str) or not re.match(TABLE_PATTERN, table):
        findings.append(Finding(filename, None, "gx.table", f"table {table!r} is not a table name"))
    if not suite["expectations"]:
        findings.append(Finding(filename, None, "gx.empty", "the suite has no expectation"))
    known = {t.name.split(".")[-1]: {c.name for c in t.columns} for t in spec.sources}
    known |= {r.short_name: set(r.column_names) for r in relations}
    columns = known.get(str(table).split(".")[-1])
    for index, expectation in enumerate(suite["expectations"]):
        if expectation["type"] not in EXPECTATION_TYPES:
            message = f"expectations[{index}]: unknown type {expectation['type']!r}"
            findings.append(Finding(filename, None, "gx.type", message))
            continue
        column = expectation["kwargs"].get("column")
        if columns is not None and column is not None and column not in columns:
            message = f"expectations[{index}]: {table} has no column {column!r}"
            findings.append(Finding(filename, None, "gx.column", message))
    if not findings:
        try:
            gx.ExpectationSuite(name=suite["name"], expectations=suite["expectations"])
        except Exception as error:
            message = " ".join(str(error).split())[:300]
            findings.append(Finding(filename, None, "gx.load", message))
    return findings


def suite_json(suite: dict[str, Any]) -> str:
    """The suite file's bytes: sorted keys, two-space indent, final newline."""
    return json.dumps(suite, indent=2, sort_keys=True) + "\n"
