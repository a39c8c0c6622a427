"""Loading rules that the fixture corpus does not show by itself."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from airflow_llm.spec_loading import (
    MAX_SPEC_BYTES,
    SpecError,
    check_spec_files,
    load_spec,
    name_clashes,
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


def _tasks(count: int) -> bytes:
    lines = (f"  - {{name: t{i}, kind: sql, description: d}}\n" for i in range(count))
    return b"name: many\ndescription: d\ntasks:\n" + "".join(lines).encode()


GENERATED: dict[str, tuple[Callable[[], bytes], str]] = {
    "huge.yml": (
        lambda: b"name: big\ndescription: " + b"x" * MAX_SPEC_BYTES,
        f"huge.yml: file: file is larger than {MAX_SPEC_BYTES} bytes, the most a spec may have",
    ),
    "huge_front_matter.md": (
        lambda: b"---\nname: big\n" + b"# padding\n" * (MAX_SPEC_BYTES // 10) + b"---\nbody\n",
        f"huge_front_matter.md: file: file is larger than {MAX_SPEC_BYTES} bytes, the most a "
        "spec may have",
    ),
    "deep.yml": (
        lambda: b"name: deep\ndescription: " + b"[" * 100_000,
        "deep.yml:2: yaml: nested more than 64 levels deep",
    ),
    "too_many_tasks.yml": (
        lambda: _tasks(501),
        "too_many_tasks.yml:4: tasks: List should have at most 500 items after validation, not 501",
    ),
}
"""Bad specs too big to commit: file name -> (its bytes, the one problem it must get)."""


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_generated_bad_specs_get_one_clear_problem(name: str) -> None:
    make, expected = GENERATED[name]
    with pytest.raises(SpecError) as caught:
        parse_spec(make(), name)
    assert [str(problem) for problem in caught.value.problems] == [expected]


def test_a_huge_file_is_read_no_further_than_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "huge.yml"
    with path.open("wb") as file:
        file.truncate(64 * 1024**3)  # sparse: reading it all would take minutes
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert [problem.message for problem in caught.value.problems] == [
        f"file is larger than {MAX_SPEC_BYTES} bytes, the most a spec may have"
    ]


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


DERIVED_NAMES = [
    ("titled.md", "# Customer Churn Features\n\nSteps.\n", "customer_churn_features"),
    ("x.py_description.txt", "# DAG Documentation\n\n**Stars:** 0\n\n---\n\n"
     "[file_arrival_watcher] - Comprehensive Pipeline Description\n\nSteps.\n",
     "file_arrival_watcher"),
    ("team__orders_sync.py_description.txt", "# DAG Documentation\n\n"
     "[Pipeline Name] - Comprehensive Pipeline Description\n", "team_orders_sync_py_description"),
    ("x.txt", "[PCD_ETL] - Comprehensive Pipeline Description\n\nSteps.\n", "pcd_etl"),
    ("x.md", "# README\n\nAbout this.\n\n# Orders Daily Load\n", "orders_daily_load"),
    ("daily_load.md", "# Pipeline Overview\n\n## Data Sources\n\nSteps.\n", "daily_load"),
    ("fenced.md", "# Workflow Spec\n\n```\n# Hidden Title\n[hidden] - x\n```\n", "fenced"),
    ("links.md", "See [docs].\n\n[docs]: https://example.com\n", "links"),
    ("Sequential_Pipeline_Prompt.txt", "This pipeline runs steps.\n", "sequential_pipeline_prompt"),
    ("orders.py.md", "# The DAG\n\nSteps.\n", "orders_py"),
    ("named.md", "---\nname: explicit\n---\n# DAG Documentation\n\nSteps.\n", "explicit"),
]  # fmt: skip
"""A Markdown spec without ``name:`` -> its name: the first title (a heading no deeper
than the first, or a ``[Title] - ...`` line) that names a pipeline, else the file name."""


@pytest.mark.parametrize(("file", "text", "name"), DERIVED_NAMES, ids=lambda v: str(v)[:30])
def test_markdown_name_comes_from_a_title_that_names_a_pipeline_or_the_file(
    file: str, text: str, name: str
) -> None:
    for source in (file, f"s3://bucket/specs/team/{file}"):  # the same file, the same name
        assert parse_spec(text.encode(), source).name == name


def test_every_spec_claiming_a_name_is_a_problem_naming_all_claimants() -> None:
    problems = name_clashes({"a.yml": "x", "b.yml": "y", "c.md": "x", "d.md": "x"})
    message = (
        "pipeline name 'x' is claimed by a.yml, c.md and d.md: give each a unique `name:` "
        "(front matter in Markdown)"
    )
    assert [str(problem) for problem in problems] == [
        f"{source}: name: {message}" for source in ("a.yml", "c.md", "d.md")
    ]
    assert name_clashes({"a.yml": "x", "b.yml": "y"}) == []


def test_checking_files_reports_specs_that_share_a_name(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# DAG Documentation\n\n[Orders] - Description\n")
    (tmp_path / "b.yml").write_text("name: orders\ndescription: d\n")
    (tmp_path / "c.md").write_text("# DAG Documentation\n\nNo title here.\n")
    specs, problems = check_spec_files([tmp_path])
    assert [spec.name for spec in specs] == ["c"]
    assert [(Path(p.source).name, p.field) for p in problems] == [
        ("a.md", "name"),
        ("b.yml", "name"),
    ]
    assert all(f"{tmp_path / 'a.md'} and {tmp_path / 'b.yml'}" in p.message for p in problems)
