"""The ``airflow-llm`` command line, run as a user runs it (a subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from airflow_llm.spec import MODULE_PATTERN
from tests.unit.test_spec_loading import GENERATED

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = REPO_ROOT / "tests" / "fixtures" / "specs"


def airflow_llm(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``airflow-llm ARGS`` as a user would, from the repository root."""
    return subprocess.run(
        [sys.executable, "-m", "airflow_llm", *args],
        env=env,
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=300,
        check=False,
    )


def test_validate_spec_passes_the_examples() -> None:
    result = airflow_llm("validate-spec", "specs")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""
    assert "0 invalid" in result.stderr


def test_validate_spec_prints_one_line_per_problem_and_exits_2() -> None:
    cases = sorted(p for p in (FIXTURES / "invalid").iterdir() if p.suffix != ".expected")
    result = airflow_llm("validate-spec", *(str(p.relative_to(REPO_ROOT)) for p in cases))
    assert result.returncode == 2
    assert "Traceback" not in result.stdout + result.stderr
    expected = []
    for case in cases:
        lines = (case.parent / f"{case.name}.expected").read_text().splitlines()
        expected += [f"tests/fixtures/specs/invalid/{line}" for line in lines]
    assert sorted(result.stdout.splitlines()) == sorted(expected)


def test_validate_spec_mixed_good_and_bad(tmp_path: Path) -> None:
    (tmp_path / "good.yml").write_text("name: good\ndescription: fine\n")
    (tmp_path / "bad.md").write_bytes(b"---\nname: [\n---\n")
    result = airflow_llm("validate-spec", str(tmp_path))
    assert result.returncode == 2
    assert result.stdout.startswith(f"{tmp_path / 'bad.md'}:2: yaml: ")
    assert "1 valid, 1 invalid" in result.stderr


def test_validate_spec_rejects_generated_hostile_files_and_accepts_injections(
    tmp_path: Path,
) -> None:
    """Huge, deeply nested and oversized specs get their one line each, no traceback; specs
    that only carry prompt injections are valid specs (the output policies stop them)."""
    for name, (make, _) in GENERATED.items():
        (tmp_path / name).write_bytes(make())
    hostile = FIXTURES / "hostile"
    result = airflow_llm("validate-spec", str(tmp_path), str(hostile.relative_to(REPO_ROOT)))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    expected = [f"{tmp_path}/{line}" for _, line in GENERATED.values()]
    assert sorted(result.stdout.splitlines()) == sorted(expected)
    assert f"{len(list(hostile.iterdir()))} valid, {len(GENERATED)} invalid" in result.stderr


def test_schema_prints_json_schema() -> None:
    result = airflow_llm("schema")
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    assert schema["title"] == "airflow-llm pipeline spec"
    assert {"name", "description"} <= set(schema["required"])
    assert "tasks" in schema["properties"]
    assert schema["properties"]["allowed_imports"]["items"]["pattern"] == MODULE_PATTERN
