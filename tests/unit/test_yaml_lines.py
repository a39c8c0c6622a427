"""YAML parsing with line numbers."""

from __future__ import annotations

import pytest

from airflow_llm.yaml_lines import YamlDocumentError, parse_yaml

TEXT = """\
name: p
tasks:
  - name: a
    depends_on: [x, y]
  - {name: b}
columns: {id: INT, email: TEXT}
"""


@pytest.mark.parametrize(
    ("loc", "line"),
    [
        ((), 1),
        (("name",), 1),
        (("tasks", 0, "depends_on", 1), 4),
        (("tasks", 1, "name"), 5),
        (("tasks", 1, "missing_field"), 5),
        (("tasks", 7), 3),
        (("columns", 1), 6),
        (("nope", "deeper"), 1),
    ],
)
def test_line_of(loc: tuple[str | int, ...], line: int) -> None:
    assert parse_yaml(TEXT).line_of(loc) == line


def test_line_offset_shifts_every_line() -> None:
    assert parse_yaml(TEXT, line_offset=10).line_of(("tasks", 1)) == 15


def test_duplicate_keys_are_errors_even_when_nested() -> None:
    with pytest.raises(YamlDocumentError) as caught:
        parse_yaml("a: 1\nb:\n  c: 1\n  c: 2\n")
    assert [(p.line, p.message) for p in caught.value.problems] == [
        (4, "duplicate key 'c' (first at line 3)")
    ]


def test_empty_document_is_an_error() -> None:
    with pytest.raises(YamlDocumentError):
        parse_yaml("# only a comment\n")


def test_anchors_within_limits_are_fine() -> None:
    document = parse_yaml("base: &b {conn_id: w}\ndev: *b\nprod: *b\n")
    assert document.data["prod"] == {"conn_id": "w"}
