"""Spec intake from object storage: find spec files under a prefix and validate each one.

These are the first two steps of the spec -> bundle flow (discover, parse+validate),
kept free of Airflow task wiring so they are unit-testable. Results are small dicts
that travel through XCom; the spec bytes stay in object storage.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypedDict

from airflow_llm.spec_loading import SpecError, name_clashes, parse_spec
from airflow_llm.storage import list_spec_objects, plain_uri, storage_path


class SpecCheck(TypedDict):
    """Outcome of validating one spec object."""

    uri: str
    pipeline: str | None
    tasks: int | None
    valid: bool
    problems: list[str]


def discover_spec_uris(prefix_uri: str, conn_id: str | None) -> list[str]:
    """URIs of the spec files under ``prefix_uri`` (e.g. ``s3://bucket/specs/``), sorted."""
    prefix = storage_path(prefix_uri, conn_id)
    return [plain_uri(path) for path in list_spec_objects(prefix)]


def check_spec_object(uri: str, conn_id: str | None) -> SpecCheck:
    """Read one spec object and validate it; problems come back as ``URI:LINE: field: msg``."""
    try:
        spec = parse_spec(storage_path(uri, conn_id).read_bytes(), uri)
    except SpecError as error:
        problems = [str(problem) for problem in error.problems]
        return SpecCheck(uri=uri, pipeline=None, tasks=None, valid=False, problems=problems)
    except OSError as error:
        problems = [f"{uri}: file: cannot read ({error})"]
        return SpecCheck(uri=uri, pipeline=None, tasks=None, valid=False, problems=problems)
    tasks = len(spec.tasks) if spec.tasks is not None else None
    return SpecCheck(uri=uri, pipeline=spec.name, tasks=tasks, valid=True, problems=[])


def with_name_clashes(checks: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """``checks`` (:class:`SpecCheck` dicts), with every spec whose pipeline name another
    claims too made invalid: one spec alone cannot know, its check names every claimant."""
    names = {check["uri"]: check["pipeline"] for check in checks if check["pipeline"]}
    clashes = {problem.source: str(problem) for problem in name_clashes(names)}
    return [
        (
            {**check, "valid": False, "problems": [clashes[check["uri"]]]}
            if check["uri"] in clashes
            else check
        )
        for check in checks
    ]
