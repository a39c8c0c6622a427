"""Loading rules that the fixture corpus does not show by itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_llm.spec_loading import (
    MAX_SPEC_BYTES,
    SpecError,
    check_spec_files,
    load_spec,
    parse_spec,
    snake_case_name,
)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Multi-Region E-Commerce Analytics", "multi_region_e_commerce_analytics"),
        ("RunELT_Alert", "run_elt_alert"),
        ("6587093polakornming__RiskAlertPM25", "pipeline_6587093polakornming_risk_alert_pm25"),
        ("Café Ünïcode", "cafe_unicode"),
        ("x" * 100, "x" * 64),
        ("!!!", ""),
    ],
)
def test_snake_case_name(text: str, name: str) -> None:
    assert snake_case_name(text) == name


def test_huge_file_is_rejected_before_parsing() -> None:
    data = b"name: big\ndescription: " + b"x" * MAX_SPEC_BYTES
    with pytest.raises(SpecError) as caught:
        parse_spec(data, "big.yml")
    assert str(caught.value).startswith("big.yml: file: file is ")


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as caught:
        load_spec(tmp_path / "nope.yml")
    assert "nope.yml: file: No such file or directory" in str(caught.value)


def test_front_matter_lines_are_counted_from_the_file_start() -> None:
    text = b"---\nname: ok\ntasks:\n  - {name: a, kind: nope, description: d}\n---\nbody\n"
    with pytest.raises(SpecError) as caught:
        parse_spec(text, "f.md")
    assert [p.line for p in caught.value.problems] == [4]


def test_one_bad_file_does_not_hide_the_others(tmp_path: Path) -> None:
    (tmp_path / "good.yml").write_text("name: good\ndescription: d\n")
    (tmp_path / "bad.yml").write_text("name: Bad\ndescription: d\n")
    (tmp_path / "notes.json").write_text("{}")
    specs, problems = check_spec_files([tmp_path])
    assert [spec.name for spec in specs] == ["good"]
    assert [problem.field for problem in problems] == ["name"]
