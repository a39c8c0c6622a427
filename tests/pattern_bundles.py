"""Bundles that a scripted model taking the first option of every question writes (what
linking and rendering do alone), through generation and every gate, smoke run included:
the integration tests of the patterns share this."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from airflow_llm.engine import BundleResult, build_bundle
from airflow_llm.patterns import pattern_named
from airflow_llm.settings import GenerationSettings
from airflow_llm.spec import PipelineSpec
from tests.scripted_endpoint import ScriptedModel, first_choices
from tests.unit.test_engine import client


def smoke_run_of(
    spec: PipelineSpec,
    patterns: Mapping[str, str],
    tmp_path: Path,
    states: Mapping[str, str] | None = None,
) -> tuple[BundleResult, dict[str, dict[str, Any]]]:
    """The bundle written for ``spec``, after it passed every gate with each task written
    by its pattern of ``patterns`` and each task of the smoke run in its state of
    ``states`` (all successful when not given); the smoke run's tasks by name."""
    settings = GenerationSettings(
        work_dir=tmp_path / "work", strategy="hybrid", smoke_run=True, smoke_timeout=240
    )
    result = build_bundle(spec, client(ScriptedModel({"hybrid": [first_choices]})), settings)
    assert result.valid, result.report
    written = {task["name"]: task["pattern"] for task in result.report["tasks"]}
    versions = {name: pattern_named(pattern).version for name, pattern in patterns.items()}
    assert written == {name: f"{patterns[name]}@{versions[name]}" for name in patterns}
    smoke = {task["name"]: task for task in result.report["smoke_run"]["tasks"]}
    expected = dict(states) if states is not None else dict.fromkeys(patterns, "success")
    assert {name: task["state"] for name, task in smoke.items()} == expected
    return result, smoke
