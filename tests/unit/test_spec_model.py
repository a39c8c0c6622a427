"""The spec models: dialect list, durations, graph checks, JSON Schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from pydantic import ValidationError

from airflow_llm.spec import SQL_DIALECTS, PipelineSpec, find_cycle, spec_json_schema
from airflow_llm.spec_loading import load_spec

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_dialect_list_matches_installed_sqlfluff() -> None:
    from sqlfluff.core.dialects import dialect_readout

    assert {dialect.label for dialect in dialect_readout()} == SQL_DIALECTS


@pytest.mark.parametrize(
    ("written", "seconds"), [(45, 45), ("90s", 90), ("30m", 1800), ("2h", 7200), ("1d", 86400)]
)
def test_task_timeout_accepts_seconds_and_durations(written: Any, seconds: int) -> None:
    spec = PipelineSpec.model_validate(
        {
            "name": "p",
            "description": "d",
            "tasks": [{"name": "t", "kind": "sql", "description": "d", "timeout": written}],
        }
    )
    assert spec.tasks is not None
    assert spec.tasks[0].timeout == seconds


def test_graph_errors_point_at_the_offending_reference() -> None:
    with pytest.raises(ValidationError) as caught:
        PipelineSpec.model_validate(
            {
                "name": "p",
                "description": "d",
                "tasks": [
                    {"name": "a", "kind": "sql", "description": "d"},
                    {"name": "b", "kind": "sql", "description": "d", "depends_on": ["a", "zz"]},
                ],
            }
        )
    assert [error["loc"] for error in caught.value.errors()] == [("tasks", 1, "depends_on", 1)]


@pytest.mark.parametrize(
    ("graph", "cycle"),
    [
        ({"a": [], "b": ["a"]}, []),
        ({"a": ["a"]}, ["a", "a"]),
        ({"a": ["b"], "b": ["c"], "c": ["a"]}, ["a", "b", "c", "a"]),
        ({"x": [], "a": ["x", "b"], "b": ["a"]}, ["a", "b", "a"]),
    ],
)
def test_find_cycle(graph: dict[str, list[str]], cycle: list[str]) -> None:
    assert find_cycle(graph) == cycle


def test_deep_chain_has_no_cycle() -> None:
    chain = {f"t{i}": [f"t{i - 1}"] if i else [] for i in range(500)}
    assert find_cycle(chain) == []


def test_spec_is_frozen() -> None:
    spec = PipelineSpec.model_validate({"name": "p", "description": "d"})
    with pytest.raises(ValidationError):
        spec.name = "q"  # type: ignore[misc]


def test_json_schema_accepts_the_example_yaml_specs() -> None:
    schema = spec_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    examples = sorted((REPO_ROOT / "specs").glob("*.yml"))
    assert examples
    for path in examples:
        jsonschema.validate(yaml.safe_load(path.read_text()), schema)


def test_json_schema_rejects_unknown_fields() -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"name": "p", "description": "d", "shedule": "x"}, spec_json_schema())


def test_example_specs_cover_the_promised_patterns() -> None:
    specs = [load_spec(path) for path in sorted((REPO_ROOT / "specs").iterdir())]
    assert len(specs) >= 6
    kinds = {task.kind for spec in specs for task in spec.tasks or []}
    assert {"sql", "python", "quality", "llm"} <= kinds
    assert any(spec.tasks is None for spec in specs), "one spec has only a description"
    fan_in = [t for spec in specs for t in spec.tasks or [] if len(t.depends_on) >= 3]
    assert fan_in, "one spec fans out and back in"
    assert any(t.map_over for spec in specs for t in spec.tasks or []), "an .expand() pattern"
