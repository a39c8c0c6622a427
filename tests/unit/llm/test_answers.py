"""Reading code and JSON out of model answers."""

from __future__ import annotations

import pytest

from airflow_llm.llm.answers import extract_code_block, parse_json_object


@pytest.mark.parametrize(
    ("answer", "value"),
    [
        ('{"a": 1}', {"a": 1}),
        ('Sure! ```json\n{"a": [1, 2]}\n``` hope it helps', {"a": [1, 2]}),
        ('Here: {"a": {"b": "}"}} and more {"c": 2}', {"a": {"b": "}"}}),
        ('[1, 2] then {"a": 1}', {"a": 1}),
    ],
)
def test_parse_json_object(answer: str, value: dict[str, object]) -> None:
    assert parse_json_object(answer) == value


def test_no_json_object_is_an_error() -> None:
    with pytest.raises(ValueError, match="no JSON object"):
        parse_json_object("I cannot do that. [1, 2]")


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        ("```sql\nSELECT 1\n```\nThis selects one.", "SELECT 1\n"),
        ("```SQL\nSELECT 1\n", "SELECT 1\n"),  # the closing fence never came
        ("```\nSELECT 2\n```", "SELECT 2\n"),
        ("SELECT 3", "SELECT 3\n"),
        ("text ```python\nx = 1\n``` more ```sql\nSELECT 4\n```", "x = 1\n"),
    ],
)
def test_extract_code_block(answer: str, code: str) -> None:
    assert extract_code_block(answer, ("sql", "python")) == code
