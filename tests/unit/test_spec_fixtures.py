"""Data-driven spec tests (sqlfluff style): every file under fixtures/specs is a case.

- ``valid/<case>``: must load; its ``model_dump`` must equal ``valid/<case>.golden.json``.
- ``invalid/<case>``: must fail with exactly the lines in ``invalid/<case>.expected``.

Regenerate the expected files after an intended change with
``UPDATE_GOLDEN=1 pytest tests/unit/test_spec_fixtures.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from airflow_llm.spec_loading import SPEC_SUFFIXES, SpecError, parse_spec

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "specs"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


GOLDEN_SUFFIXES = (".golden.json", ".expected")


def _cases(folder: str) -> list[Path]:
    return sorted(p for p in (FIXTURES / folder).iterdir() if not p.name.endswith(GOLDEN_SUFFIXES))


def _golden(path: Path, actual: str, suffix: str) -> str:
    expected_file = path.parent / (path.name + suffix)
    if UPDATE:
        expected_file.write_text(actual)
    assert expected_file.exists(), f"missing {expected_file.name}: run with UPDATE_GOLDEN=1"
    return expected_file.read_text()


@pytest.mark.parametrize("path", _cases("valid"), ids=lambda p: p.name)
def test_valid_spec_loads_as_expected(path: Path) -> None:
    spec = parse_spec(path.read_bytes(), path.name)
    actual = json.dumps(spec.model_dump(mode="json", by_alias=True), indent=2) + "\n"
    assert actual == _golden(path, actual, ".golden.json")


@pytest.mark.parametrize("path", _cases("invalid"), ids=lambda p: p.name)
def test_invalid_spec_reports_file_line_and_field(path: Path) -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec(path.read_bytes(), path.name)
    actual = "".join(f"{problem}\n" for problem in caught.value.problems)
    assert actual == _golden(path, actual, ".expected")
    assert all(problem.source == path.name for problem in caught.value.problems)


def test_valid_cases_use_spec_suffixes() -> None:
    assert all(path.suffix.lower() in SPEC_SUFFIXES for path in _cases("valid"))
