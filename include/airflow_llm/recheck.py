"""Re-check a written bundle: ``airflow-llm validate DIR``, and promotion before it publishes.

:func:`recheck_files` takes a bundle as ``{path: content}`` (paths relative to the
bundle root, ``manifest.json`` included) and runs on those bytes every check a bundle
passed when it was first published:

- the manifest: every file's sha256 equals its entry, no file is missing from the
  bundle, none is there that the manifest does not list;
- each resource with the validators of its kind, as written (nothing fixed): SQL
  through sqlfluff, the template and statement policy (the spec's sources read-only)
  and the dry run on DuckDB sample data, then the spec's unit tests; Python through the
  code policy; expectation suites through the suite checks and their unit tests;
  operator parameters through their pattern's model;
- the placeholders of ``config.yml`` still to fill, per environment (warnings: they
  block promotion to that environment only, see :func:`unfilled`);
- the secrets scan: every pattern on the generated resources, the credential shapes
  (which the spec check refuses) on the rendered files;
- the bundle gates: mypy, the sandboxed DagBag import, structure against ``tasks.yml``,
  and the smoke run unless ``settings`` turn it off.

:func:`recheck_bundle` reads a folder into that mapping; :mod:`airflow_llm.promotion`
reads a published version's objects into it. Both run the same function.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from airflow_llm.bundle.data_flow import sql_params
from airflow_llm.bundle.render import (
    OPERATOR_SUFFIX,
    BundleLayout,
    TasksDocument,
    parse_tasks_document,
)
from airflow_llm.gates import gate_bundle
from airflow_llm.patterns import operator_patterns
from airflow_llm.patterns.operators import operator_findings, placeholders
from airflow_llm.settings import GenerationSettings
from airflow_llm.spec import PipelineSpec
from airflow_llm.validate.findings import Finding, errors, sha256_text
from airflow_llm.validate.python_policy import policy_findings
from airflow_llm.validate.quality import suite_findings
from airflow_llm.validate.secrets import CREDENTIAL_PATTERNS, find_secrets, secret_findings
from airflow_llm.validate.sql import SqlValidator
from airflow_llm.validate.sql_execution import execution_findings
from airflow_llm.validate.unit_tests import suite_test_findings, unit_test_findings

MANIFEST = "manifest.json"
_DAG_MODULE = re.compile(r"dags/([^/]+)\.py")


def recheck_bundle(root: Path, settings: GenerationSettings) -> list[Finding]:
    """Every finding on the bundle at ``root`` (a folder holding ``dags/`` and a manifest).

    The bundle is ``manifest.json`` and everything under ``dags/`` (reports beside the
    manifest are not part of it; ``__pycache__`` folders are left out).
    """
    files = {
        str(path.relative_to(root)): path.read_text()
        for path in sorted((root / "dags").rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }
    if (root / MANIFEST).is_file():
        files[MANIFEST] = (root / MANIFEST).read_text()
    return recheck_files(files, settings)


def recheck_files(files: Mapping[str, str], settings: GenerationSettings) -> list[Finding]:
    """Every finding on the bundle ``files`` (see the module's docstring)."""
    findings = manifest_findings(files)
    bundle = {path: content for path, content in files.items() if path != MANIFEST}
    pipelines = sorted(match.group(1) for path in bundle if (match := _DAG_MODULE.fullmatch(path)))
    if len(pipelines) != 1:
        message = f"expected one DAG file, found {pipelines}"
        return [*findings, Finding("dags/", None, "bundle.layout", message)]
    layout = BundleLayout(pipelines[0])
    tasks_yml, config_yml = layout.resource("tasks.yml"), layout.resource("config.yml")
    absent = [path for path in (tasks_yml, config_yml) if path not in bundle]
    if absent:
        message = f"no {' and no '.join(absent)}: the checks read the task list and config"
        return [*findings, Finding(layout.resources, None, "bundle.layout", message)]
    try:
        document = parse_tasks_document(bundle[tasks_yml])
        params = sql_params(bundle[config_yml])
        unfilled_settings = placeholders(yaml.safe_load(bundle[config_yml]))
    except (
        yaml.YAMLError,
        ValidationError,
        LookupError,
        ValueError,
        TypeError,
        AttributeError,
    ) as error:
        detail = " ".join(f"{type(error).__name__}: {error}".split())[:300]
        message = f"unreadable tasks.yml or config.yml: {detail}"
        return [*findings, Finding(layout.resources, None, "bundle.layout", message)]
    findings += [
        Finding(config_yml, None, "config.placeholder", f"{environment}: {setting}", "warning")
        for environment, settings in unfilled_settings.items()
        for setting in settings
    ]
    artifacts = {layout.resource(document.file(task)) for task in document.tasks}
    findings += resource_findings(bundle, layout, document, params)
    for path, content in sorted(bundle.items()):
        findings += (
            secret_findings(content, path) if path in artifacts else _credentials(content, path)
        )
    dags = {path: content for path, content in bundle.items() if path.startswith("dags/")}
    return findings + gate_bundle(layout.pipeline, dags, settings).findings


def manifest_findings(files: Mapping[str, str]) -> list[Finding]:
    """The bundle ``files`` against their manifest: each file's sha256 equals its entry,
    and the files are exactly those the manifest lists."""
    if MANIFEST not in files:
        return [Finding(MANIFEST, None, "manifest.missing", "the bundle has no manifest")]
    try:
        listed = json.loads(files[MANIFEST])["files"]
        if not isinstance(listed, dict):
            raise TypeError(f"its files are a {type(listed).__name__}, not a mapping")
    except (ValueError, LookupError, TypeError) as error:
        detail = f"{type(error).__name__}: {error}"[:300]
        return [Finding(MANIFEST, None, "manifest.missing", f"no readable manifest: {detail}")]
    findings = []
    for path, content in sorted(files.items()):
        if path == MANIFEST:
            continue
        if path not in listed:
            findings.append(
                Finding(path, None, "manifest.extra_file", "not listed in the manifest")
            )
        elif listed[path] != sha256_text(content):
            findings.append(
                Finding(path, None, "manifest.hash", "sha256 differs from the manifest")
            )
    findings += [
        Finding(path, None, "manifest.missing_file", "listed in the manifest but absent")
        for path in sorted(listed)
        if path not in files
    ]
    return findings


def resource_findings(
    bundle: Mapping[str, str],
    layout: BundleLayout,
    document: TasksDocument,
    params: Mapping[str, Any],
) -> list[Finding]:
    """Each task's resource through the validators of its kind, as written.

    A missing resource is the structure gate's finding, not one of these.
    """
    spec = PipelineSpec(
        name=layout.pipeline,
        description="-",
        dialect=document.dialect,
        sources=document.sources,
        tasks=document.tasks,
    )
    read_only = [source.name for source in document.sources]
    sql = SqlValidator()
    findings: list[Finding] = []
    for task in document.tasks:
        path = layout.resource(document.file(task))
        text = bundle.get(path)
        if text is None:
            continue
        relations = document.relations(task.name)
        try:
            if path.endswith(".sql"):
                found = sql.lint(text, path, spec.dialect, params, read_only)
                if not errors(found):  # only SQL that passed the policy runs, on sample data
                    found += execution_findings(text, path, spec.dialect, params, spec.sources)
                if not errors(found):
                    found += unit_test_findings(text, path, task, relations, spec.dialect, params)
            elif path.endswith(".py"):
                found = _python_findings(text, path, document.allowed_imports)
            elif path.endswith(OPERATOR_SUFFIX):
                found = operator_findings(text, path, task, operator_patterns())
            else:
                suite = json.loads(text)
                found = suite_findings(suite, path, spec, relations)
                if not errors(found):
                    found += suite_test_findings(suite, path, task, relations, spec.dialect, params)
        except Exception as error:  # hostile bytes must give a finding, not a crash
            message = f"validator failed: {type(error).__name__}: {error}"[:300]
            found = [Finding(path, None, "validator.crash", message)]
        findings += found
    return findings


def unfilled(files: Mapping[str, str], pipeline: str, environment: str) -> list[str]:
    """The settings of ``environment`` in the bundle's ``config.yml`` that are still
    placeholders (``operators.<task>.<setting>: <fill in: ...>``)."""
    config = files.get(BundleLayout(pipeline).resource("config.yml"))
    return placeholders(yaml.safe_load(config or "{}") or {}).get(environment, [])


def _python_findings(text: str, path: str, allowed_imports: list[str]) -> list[Finding]:
    try:
        return policy_findings(text, path, allowed_imports)
    except SyntaxError as error:
        return [Finding(path, error.lineno, "python.syntax", f"not valid Python: {error.msg}")]


def _credentials(text: str, path: str) -> list[Finding]:
    """Credential shapes in a rendered file (its text came from the spec, which the spec
    check scanned for these)."""
    return [
        Finding(path, number, kind.rule, f"looks like {kind.what}; a bundle holds no credentials")
        for number, kind in find_secrets(text, CREDENTIAL_PATTERNS)
    ]
