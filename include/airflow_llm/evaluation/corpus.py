"""The evaluation corpus: the spec files of some folders, each loaded or with its error.

By default: the example specs in ``specs/`` and the Prompt2DAG descriptions in
``../shared/eval/prompt2dag`` (or ``$AIRFLOW_LLM_EVAL_DIR``). Files named in capitals
(``README.md``, ``SOURCE.md``, ``DATASET_README.md``) document a folder; they are not specs.
Specs of one folder that claim the same pipeline name do not load, as a run would refuse
to generate them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from airflow_llm.spec import PipelineSpec
from airflow_llm.spec_loading import SpecError, iter_spec_files, load_spec, name_clashes


@dataclass(frozen=True)
class CorpusEntry:
    """One spec file: its spec, or why it does not load."""

    path: Path
    corpus: str
    """The name of the folder it came from."""
    spec: PipelineSpec | None
    error: str | None = None


def default_corpus_folders(environ: Mapping[str, str] = os.environ) -> list[Path]:
    """``specs/`` and the Prompt2DAG descriptions."""
    return [Path("specs"), Path(environ.get("AIRFLOW_LLM_EVAL_DIR", "../shared/eval/prompt2dag"))]


def load_corpus(folders: Sequence[Path], limit: int | None = None) -> list[CorpusEntry]:
    """The spec files under each folder (sorted), at most ``limit`` per folder."""
    entries = []
    for folder in folders:
        if not folder.is_dir():
            raise FileNotFoundError(f"corpus folder {folder} does not exist")
        files = [path for path in iter_spec_files([folder]) if not _documents_folder(path)]
        loaded = []
        for path in files[:limit]:
            try:
                loaded.append(CorpusEntry(path, folder.name, load_spec(path)))
            except SpecError as error:
                loaded.append(CorpusEntry(path, folder.name, None, str(error)))
        entries += _without_name_clashes(loaded)
    return entries


def _without_name_clashes(entries: list[CorpusEntry]) -> list[CorpusEntry]:
    names = {str(entry.path): entry.spec.name for entry in entries if entry.spec is not None}
    clashes = {problem.source: str(problem) for problem in name_clashes(names)}
    return [
        (
            replace(entry, spec=None, error=clashes[str(entry.path)])
            if str(entry.path) in clashes
            else entry
        )
        for entry in entries
    ]


def _documents_folder(path: Path) -> bool:
    return path.stem.isupper()
