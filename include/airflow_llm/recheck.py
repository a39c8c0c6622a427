"""``airflow-llm validate DIR``: re-run every validator and gate on a written bundle.

Checks each resource with the validator of its kind (as written, nothing fixed),
the manifest's hashes against the files, and the bundle gates (mypy, sandboxed
DagBag import, structure against tasks.yml).
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from airflow_llm.bundle.render import BundleLayout, artifact_file, parse_tasks_document
from airflow_llm.gates import gate_bundle
from airflow_llm.settings import GenerationSettings
from airflow_llm.spec import PipelineSpec
from airflow_llm.validate.findings import Finding, sha256_text
from airflow_llm.validate.python_policy import policy_findings
from airflow_llm.validate.quality import suite_findings
from airflow_llm.validate.secrets import secret_findings
from airflow_llm.validate.sql import SqlValidator

MANIFEST = "manifest.json"


def recheck_bundle(root: Path, settings: GenerationSettings) -> list[Finding]:
    """Every finding on the bundle at ``root`` (a folder holding ``dags/`` and a manifest)."""
    pipelines = sorted(path.stem for path in (root / "dags").glob("*.py"))
    if len(pipelines) != 1:
        return [
            Finding(str(root), None, "bundle.layout", f"expected one DAG file, found {pipelines}")
        ]
    layout = BundleLayout(pipelines[0])
    config = yaml.safe_load((root / layout.resource("config.yml")).read_text())
    environment = next(iter(config.values()))
    params = {"schema": environment.get("schema"), "bucket": environment.get("bucket")}
    params.update(environment.get("vars") or {})
    document = parse_tasks_document((root / layout.resource("tasks.yml")).read_text())
    spec = PipelineSpec(
        name=layout.pipeline, description="-", dialect=document.dialect, tasks=document.tasks
    )
    findings: list[Finding] = []
    sql = SqlValidator()
    for task in document.tasks:
        relative = layout.resource(artifact_file(task))
        text = (root / relative).read_text()
        findings += secret_findings(text, relative)
        if relative.endswith(".sql"):
            findings += sql.lint(text, relative, spec.dialect, params)
        elif relative.endswith(".py"):
            findings += policy_findings(text, relative, document.allowed_imports)
        else:
            findings += suite_findings(json.loads(text), relative, spec)
    files = {
        str(path.relative_to(root)): path.read_text()
        for path in sorted((root / "dags").rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }
    findings += _manifest_findings(root, files)
    return findings + gate_bundle(layout.pipeline, files, settings).findings


def _manifest_findings(root: Path, files: dict[str, str]) -> list[Finding]:
    try:
        manifest = json.loads((root / MANIFEST).read_text())
    except (OSError, ValueError) as error:
        return [Finding(MANIFEST, None, "manifest.missing", f"no readable manifest: {error}")]
    listed: dict[str, str] = manifest.get("files", {})
    findings = [
        Finding(path, None, "manifest.hash", "sha256 differs from the manifest")
        for path, content in files.items()
        if listed.get(path) != sha256_text(content)
    ]
    findings += [
        Finding(path, None, "manifest.missing_file", "listed in the manifest but absent")
        for path in listed
        if path not in files
    ]
    return findings
