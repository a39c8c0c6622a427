"""The Prompt2DAG descriptions in ../shared/eval (written by no one here) all load as specs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from airflow_llm.evaluation.corpus import load_corpus
from airflow_llm.spec_loading import load_spec, name_clashes

REPO_ROOT = Path(__file__).resolve().parents[2]
EVAL_DIR = Path(
    os.environ.get("AIRFLOW_LLM_EVAL_DIR", REPO_ROOT.parent / "shared" / "eval" / "prompt2dag")
)
DESCRIPTIONS = sorted(EVAL_DIR.glob("*.txt")) if EVAL_DIR.is_dir() else []


def require_corpus(path: Path = EVAL_DIR) -> None:
    """Skip a test that needs ``path`` of the corpus when it is absent, saying how to run
    it; under ``CI=true`` (``.ci/run`` sets it) fail instead: CI has the corpus."""
    if path.exists() and (path != EVAL_DIR or DESCRIPTIONS):
        return
    why = (
        f"no Prompt2DAG corpus at {path}: to run this test, check the repository out beside "
        "the shared folder (../shared/eval/prompt2dag, as CI does) or set "
        "AIRFLOW_LLM_EVAL_DIR to a folder of its *.txt descriptions"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(f"{why} (CI=true: the corpus must be there)")
    pytest.skip(why)


def test_eval_corpus_is_present_in_ci() -> None:
    require_corpus()
    assert len(DESCRIPTIONS) >= 25


@pytest.mark.parametrize(
    "path", DESCRIPTIONS or [None], ids=lambda path: path.name[:60] if path else "no-corpus"
)
def test_eval_description_loads(path: Path | None) -> None:
    if path is None:
        require_corpus()
        return
    spec = load_spec(path)
    assert spec.tasks is None
    assert len(spec.description) > 100


def test_eval_descriptions_each_name_their_own_pipeline() -> None:
    """16 of them start with ``# DAG Documentation``: a heading that names no pipeline."""
    require_corpus()
    assert name_clashes({str(path): load_spec(path).name for path in DESCRIPTIONS}) == []


def test_corpus_specs_that_share_a_name_do_not_load(tmp_path: Path) -> None:
    for name in ("a", "b"):
        (tmp_path / f"{name}.md").write_text("# DAG Documentation\n\n[Same] - Description\n")
    (tmp_path / "c.yml").write_text("name: same_too\ndescription: d\n")
    entries = load_corpus([tmp_path])
    assert [entry.spec is None for entry in entries] == [True, True, False]
    assert all("pipeline name 'same' is claimed by" in str(entry.error) for entry in entries[:2])
