"""The Prompt2DAG descriptions in ../shared/eval (written by no one here) all load as specs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from airflow_llm.spec_loading import load_spec

REPO_ROOT = Path(__file__).resolve().parents[2]
EVAL_DIR = Path(
    os.environ.get("AIRFLOW_LLM_EVAL_DIR", REPO_ROOT.parent / "shared" / "eval" / "prompt2dag")
)
DESCRIPTIONS = sorted(EVAL_DIR.glob("*.txt")) if EVAL_DIR.is_dir() else []


def test_eval_corpus_is_present_in_ci() -> None:
    if not DESCRIPTIONS and os.environ.get("CI") != "true":
        pytest.skip(f"no eval corpus at {EVAL_DIR} (set AIRFLOW_LLM_EVAL_DIR)")
    assert len(DESCRIPTIONS) >= 25


@pytest.mark.parametrize("path", DESCRIPTIONS, ids=lambda path: path.name[:60])
def test_eval_description_loads(path: Path) -> None:
    spec = load_spec(path)
    assert spec.tasks is None
    assert len(spec.description) > 100
