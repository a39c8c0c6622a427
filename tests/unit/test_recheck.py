"""The re-check that `airflow-llm validate DIR` and promotion share, on a folder and on bytes."""

from __future__ import annotations

import json
from pathlib import Path

from airflow_llm.publish import MANIFEST
from airflow_llm.recheck import manifest_findings, recheck_bundle, recheck_files
from airflow_llm.settings import GenerationSettings
from airflow_llm.validate.findings import errors
from tests.integration.test_promotion import bundle_files

PIPELINE = "recheck_me"
RESOURCES = f"dags/resources/{PIPELINE}"


def write(files: dict[str, str], root: Path) -> Path:
    for path, content in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(content)
    return root


def test_the_manifest_check_names_each_changed_added_and_missing_file() -> None:
    files = bundle_files(PIPELINE)
    assert manifest_findings(files) == []
    files[f"{RESOURCES}/stage_orders.sql"] += "-- changed\n"
    files[f"{RESOURCES}/extra.sql"] = "SELECT 1\n"
    del files[f"{RESOURCES}/tasks.yml"]
    assert [(f.file, f.rule) for f in manifest_findings(files)] == [
        (f"{RESOURCES}/extra.sql", "manifest.extra_file"),
        (f"{RESOURCES}/stage_orders.sql", "manifest.hash"),
        (f"{RESOURCES}/tasks.yml", "manifest.missing_file"),
    ]
    assert [f.rule for f in manifest_findings({})] == ["manifest.missing"]
    unreadable = manifest_findings({**files, MANIFEST: '{"files": ["a list"]}'})
    assert [f.rule for f in unreadable] == ["manifest.missing"]


def test_validate_dir_finds_what_promotion_finds(tmp_path: Path) -> None:
    settings = GenerationSettings(work_dir=tmp_path / "work", smoke_run=False)
    files = bundle_files(PIPELINE)
    root = write(files, tmp_path / "bundle")
    (root / "report.md").write_text("# reports beside the manifest are not the bundle\n")
    assert errors(recheck_bundle(root, settings)) == []

    (root / RESOURCES / "stage_orders.sql").write_text("DROP TABLE everything\n")
    (root / RESOURCES / "notes.txt").write_text("aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n")
    found = errors(recheck_bundle(root, settings))
    changed = {
        **files,
        f"{RESOURCES}/stage_orders.sql": "DROP TABLE everything\n",
        f"{RESOURCES}/notes.txt": "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n",
    }
    assert found == errors(recheck_files(changed, settings)), "the same checks on the same bytes"
    assert {(f.file.rsplit("/", 1)[-1], f.rule) for f in found} == {
        ("stage_orders.sql", "manifest.hash"),
        ("stage_orders.sql", "policy.statement"),
        # the tampered script no longer writes the table the check after it reads
        ("check_staged_expectations.json", "structure.unproduced_input"),
        # and tasks.yml still records the reads the untampered script gave
        ("tasks.yml", "structure.stale_reads"),
        ("notes.txt", "manifest.extra_file"),
        ("notes.txt", "secret.aws_access_key"),
    }


def test_unreadable_bundles_give_findings_not_crashes(tmp_path: Path) -> None:
    settings = GenerationSettings(work_dir=tmp_path / "work", smoke_run=False)
    files = bundle_files(PIPELINE)
    broken = {**files, f"{RESOURCES}/tasks.yml": "tasks: {not: a list}\n"}
    rules = {f.rule for f in errors(recheck_files(broken, settings))}
    assert rules == {"manifest.hash", "bundle.layout"}
    two_dags = {**files, "dags/other.py": "x = 1\n"}
    assert {f.rule for f in recheck_files(two_dags, settings)} == {
        "manifest.extra_file",
        "bundle.layout",
    }
    suite = f"{RESOURCES}/check_staged_expectations.json"
    bad_suite = {**files, suite: json.dumps({"expectations": "nope"})}
    found = errors(recheck_files(bad_suite, settings))
    assert ("manifest.hash", suite) in {(f.rule, f.file) for f in found}
    assert any(f.file == suite and f.rule.startswith(("gx.", "validator.")) for f in found)
