"""Intake rules that need every spec's check at once."""

from __future__ import annotations

from typing import Any

from airflow_llm.intake import with_name_clashes


def check(uri: str, pipeline: str | None) -> dict[str, Any]:
    """A check as ``check_spec_object`` gives it: a spec without a name is invalid."""
    problems = [] if pipeline else [f"{uri}:1: yaml: bad"]
    return dict(uri=uri, pipeline=pipeline, tasks=None, valid=not problems, problems=problems)


def test_specs_that_share_a_name_are_all_invalid_and_name_each_other() -> None:
    checks = [check("s3://b/a.md", "x"), check("s3://b/b.yml", "x"), check("s3://b/c.yml", "c")]
    checks.append(check("s3://b/bad.yml", None))
    marked = with_name_clashes(checks)
    assert [c["valid"] for c in marked] == [False, False, True, False]
    assert marked[2:] == checks[2:]
    for uri in ("s3://b/a.md", "s3://b/b.yml"):
        [problem] = next(c for c in marked if c["uri"] == uri)["problems"]
        assert problem == (
            f"{uri}: name: pipeline name 'x' is claimed by s3://b/a.md and s3://b/b.yml: "
            "give each a unique `name:` (front matter in Markdown)"
        )
