"""The ``archive_files`` pattern: which steps' words archive the files upstream steps
wrote, the format and path they give, the parameters refused, the DAG snippets
(goldens), and the generated tasks run on real files: every file there, a path a branch
skipped, none at all.

After an intended change of the snippet, rewrite its goldens with::

    AIRFLOW_LLM_UPDATE_GOLDENS=1 .venv/bin/pytest -n 0 tests/unit/test_archive_files_pattern.py
"""

from __future__ import annotations

import json
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from airflow_llm.patterns import (
    ParameterError,
    Relation,
    context_for,
    pattern_menu,
    pattern_named,
    ranked_pattern_names,
)
from airflow_llm.patterns.file_archives import archives_files, stated_folder
from airflow_llm.patterns.file_steps import FileFacts
from airflow_llm.spec import Column, PipelineSpec
from tests.integration.test_file_gates import rendered_bundle
from tests.snippet_goldens import check_golden, dag_module, snippet, write_bundle

GOLDENS = Path(__file__).resolve().parents[1] / "fixtures" / "file_archives"
ARCHIVE = pattern_named("archive_files")
TASKS = [
    {
        "name": "read_claims",
        "kind": "python",
        "description": "Read claims.csv with columns claim_id, region, amount; drop duplicate "
        "rows; write claims_clean.csv.",
    },
    {
        "name": "pick_region",
        "kind": "branch",
        "depends_on": ["read_claims"],
        "description": "Send the claims of region 'north' to the XML path, the rest to the "
        "CSV path.",
    },
    {
        "name": "north_feed",
        "kind": "python",
        "depends_on": ["pick_region"],
        "description": "Write the north claims as an XML report. Output: XML report",
    },
    {
        "name": "south_rows",
        "kind": "python",
        "depends_on": ["pick_region"],
        "description": "Keep the other claims and write south_claims.csv.",
    },
]
WRITTEN = {
    "read_claims": Relation(
        "read_claims", (Column(name="claim_id", type="VARCHAR"),), "read_claims", "csv"
    ),
    "north_feed": Relation("north_feed", (), "north_feed", "xml"),
    "south_rows": Relation("south_rows", (), "south_rows", "csv"),
}


def spec_of(*steps: dict[str, Any]) -> PipelineSpec:
    return PipelineSpec.model_validate(
        {
            "name": "claim_archive",
            "description": "Route the day's claims, then keep what the paths wrote.",
            "dialect": "duckdb",
            "environments": {
                "dev": {"conn_id": "warehouse_dev", "vars": {"fs_conn_id": "claim_files"}}
            },
            "tasks": [*TASKS, *steps],
        }
    )


def step(description: str, name: str = "step") -> dict[str, Any]:
    return {
        "name": name,
        "kind": "python",
        "depends_on": ["north_feed", "south_rows"],
        "description": description,
    }


def ctx_for(description: str) -> Any:
    spec = spec_of(step(description))
    return context_for(spec, (spec.tasks or [])[-1], WRITTEN)


def first_params(ctx: Any, **changed: Any) -> Any:
    """The parameters a first answer gives (the first option of every question)."""
    inputs = {"sources": ARCHIVE.input_schema(ctx)["properties"]["sources"]["items"]["enum"]}
    schema = ARCHIVE.parameter_schema(ctx, inputs)["properties"]
    answer = {**inputs, **{name: found["enum"][0] for name, found in schema.items()}}
    return ARCHIVE.parse({**ARCHIVE.complete(answer, ctx), **changed})


# -- the words -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        (
            "Merge and archive both claim outputs for retention: compresses and stores them",
            {"archive_format": "zip", "output": None},
        ),
        ("Zip up what the two paths produced.", {"archive_format": "zip", "output": None}),
        ("Combine all the claim files into one zip.", {"archive_format": "zip", "output": None}),
        (
            "Archive the processed files to the archive folder.",
            {"archive_format": "zip", "output": "archive/step_{{ ds_nodash }}.zip"},
        ),
        (
            "Bundle the outputs into a gzipped tarball under /srv/keep/ for the auditors.",
            {"archive_format": "tar.gz", "output": "/srv/keep/step_{{ ds_nodash }}.tar.gz"},
        ),
        (
            "Compress the files into claims_YYYYMMDD.tar.gz",
            {"archive_format": "tar.gz", "output": "claims_{{ ds_nodash }}.tar.gz"},
        ),
        (
            "Archive the reports. Output: kept/claims.zip",
            {"archive_format": "zip", "output": "kept/claims.zip"},
        ),
    ],
)
def test_archiving_steps_get_every_file_the_paths_write_a_format_and_a_path(
    description: str, expected: dict[str, Any]
) -> None:
    ctx = ctx_for(description)
    assert pattern_menu(ctx) == ["archive_files"]
    params = first_params(ctx)
    assert params.sources == ["north_feed", "south_rows"]
    assert params.input_formats == ["xml", "csv"]
    assert {name: getattr(params, name) for name in expected} == expected


@pytest.mark.parametrize(
    "description",
    [
        "Merge the claim files into all_claims.csv",
        "Stack the claims of both paths.",
        "Write the claims to archive/claims.parquet",
    ],
)
def test_steps_that_stack_files_stay_merges(description: str) -> None:
    ctx = ctx_for(description)
    assert not ARCHIVE.applies(ctx)
    assert pattern_menu(ctx) == ["merge_files"]


@pytest.mark.parametrize(
    "description",
    [
        "Unzip the archive the paths left and read its files.",
        "Upload the archived claims to the S3 bucket.",
        "Load the claims into the warehouse table, then archive.",
        "Write the claims as gzip-compressed CSV.",
        "Convert the claims to Parquet with snappy compression.",
        "Look up each claim's region by zip code.",
    ],
)
def test_steps_that_unpack_upload_or_load_are_not_archives(description: str) -> None:
    ctx = ctx_for(description)
    assert not ARCHIVE.applies(ctx)
    assert "archive_files" not in ranked_pattern_names(ctx)


@pytest.mark.parametrize(
    ("description", "menu"),
    [
        ("Pack the clean claims file into a tarball.", ["archive_files"]),
        ("Pack claims_clean.csv into a tarball.", ["archive_files"]),
        ("Compress the claims CSV file for the auditors.", ["archive_files"]),
        ("Read the archived claims file and drop duplicate rows.", ["file_transform"]),
        ("Write the claims as gzip-compressed CSV.", ["file_transform"]),
    ],
)
def test_one_file_is_archived_when_the_step_is_about_an_archive(
    description: str, menu: list[str]
) -> None:
    spec = spec_of({**NAMED, "description": description})
    ctx = context_for(spec, (spec.tasks or [])[-1], WRITTEN)
    assert pattern_menu(ctx) == menu
    if menu == ["archive_files"]:  # the file read_claims writes, by its path (XCom)
        assert first_params(ctx).sources == ["read_claims"]


def test_a_step_without_an_upstream_file_is_no_archive() -> None:
    spec = PipelineSpec.model_validate(
        {
            "name": "p",
            "description": "d",
            "tasks": [{"name": "keep", "kind": "python", "description": "Zip the exports."}],
        }
    )
    assert not ARCHIVE.applies(context_for(spec, (spec.tasks or [])[0], {}))


def test_words_about_archives_and_folders() -> None:
    assert archives_files("Compress and store the reports")
    assert not archives_files("Write the rows to archive/orders.csv")
    assert not archives_files("Decompress the tarball")
    assert not archives_files("Join the stores by zip code or by zip-codes")
    assert archives_files("Keep the results for archival; zip them")
    assert stated_folder("move them into /data/archive/ daily") == "/data/archive"
    assert stated_folder("put them in the exports/old folder") == "exports/old"
    assert stated_folder("put them in the ../secret folder") is None
    assert stated_folder("archive them for retention") is None


def test_file_steps_after_an_archive_read_the_files_before_it() -> None:
    spec = spec_of(
        step("Zip the outputs."),
        {
            "name": "after",
            "kind": "python",
            "depends_on": ["step"],
            "description": "Drop duplicate rows of the claims file and write kept.csv.",
        },
    )
    written = {**WRITTEN, "step": Relation("step", (), "step", "zip")}
    ctx = context_for(spec, (spec.tasks or [])[-1], written)
    assert [r.produced_by for r in FileFacts(ctx).upstream] == ["south_rows", "read_claims"]


# -- parameters refused ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changed", "problem"),
    [
        ({"sources": ["pick_region"], "input_formats": ["csv"]}, "no upstream task writes"),
        (
            {"sources": ["south_rows", "south_rows"], "input_formats": ["csv", "csv"]},
            "sources repeat",
        ),
        ({"input_formats": ["xml"]}, "one format a source"),
        ({"output": "../../etc/claims.zip"}, "no '..' in a path"),
        ({"output": "claims.tar.gz"}, "a zip archive's path ends in .zip"),
        ({"archive_format": "tar.gz", "output": "claims.zip"}, "ends in .tar.gz"),
    ],
)
def test_parameters_the_pattern_refuses(changed: dict[str, Any], problem: str) -> None:
    ctx = ctx_for("Zip the outputs.")
    with pytest.raises(ParameterError, match=problem):
        ARCHIVE.render(first_params(ctx, **changed), ctx)


def test_an_archive_is_a_file_of_its_format_with_a_default_path() -> None:
    ctx = ctx_for("Archive the outputs for retention.")
    params = first_params(ctx)
    assert ARCHIVE.render(params, ctx).output == Relation("step", (), "step", "zip")
    output = next(s for s in ARCHIVE.settings(params, ctx.task) if s.name == "output")
    assert output.stated == "reports/step_{{ ds_nodash }}.zip"
    assert ARCHIVE.output_format(params) == "zip"


# -- the snippets and the generated tasks, run ---------------------------------------------

STEPS = {
    "zip_outputs": "Archive both paths' outputs for retention.",
    "tar_outputs": "Pack the outputs into a tarball. Output: kept/claims.tar.gz",
}
NAMED = {
    "name": "keep_exports",
    "kind": "python",
    "depends_on": ["read_claims"],
    "description": "Zip the clean claims together with the files from exports/*.csv.",
}
SPEC = spec_of(*(step(text, name) for name, text in STEPS.items()), NAMED)
CHOSEN = {
    "read_claims": "file_transform",
    "pick_region": "branch_on_file",
    "north_feed": "file_report",
    "south_rows": "file_transform",
    **dict.fromkeys([*STEPS, "keep_exports"], "archive_files"),
}


@pytest.fixture(scope="module")
def dag_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bundle")
    write_bundle(root, rendered_bundle(SPEC, CHOSEN))
    return root / "dags/claim_archive.py"


@pytest.mark.parametrize("task", [*STEPS, "keep_exports"])
def test_the_dag_snippets_match_their_goldens(dag_file: Path, task: str) -> None:
    check_golden(snippet(dag_file.read_text(), task), GOLDENS / f"{task}.py.txt")


@pytest.fixture
def archived(
    dag_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Path]:
    """Runs a task's callable from the rendered DAG file (its folder connection
    ``tmp_path``) on the paths given, writing ``out/<task>``; the archive's path."""
    connection = {"conn_type": "fs", "extra": {"path": str(tmp_path)}}
    monkeypatch.setenv("AIRFLOW_CONN_CLAIM_FILES", json.dumps(connection))
    module = dag_module(dag_file, "claim_archive")

    def run(task: str, input_2: str | None = None, **paths: str | None) -> Path:
        function = module.dag.get_task(task).python_callable
        templates = {"output": f"out/{task}", "input_2": input_2}
        written = function(**paths, templates_dict=templates)
        assert written == str(tmp_path / "out" / task)
        return Path(written)

    return run


@pytest.fixture
def outputs(tmp_path: Path) -> dict[str, str]:
    """An XML report and a CSV, as the two paths write them."""
    (tmp_path / "reports").mkdir()
    feed = tmp_path / "reports" / "north_feed_20240131.xml"
    feed.write_text("<?xml version='1.0'?><report rows='0'/>\n")
    rows = tmp_path / "south_claims.csv"
    rows.write_text("claim_id,region,amount\nc1,south,12.5\n")
    return {"north_feed_path": str(feed), "south_rows_path": str(rows)}


def test_the_zip_holds_every_file_under_its_base_name(
    archived: Callable[..., Path], outputs: dict[str, str]
) -> None:
    with zipfile.ZipFile(archived("zip_outputs", **outputs)) as archive:
        assert archive.namelist() == ["north_feed_20240131.xml", "south_claims.csv"]
        assert archive.getinfo("south_claims.csv").compress_type == zipfile.ZIP_DEFLATED
        assert archive.read("south_claims.csv") == Path(outputs["south_rows_path"]).read_bytes()


def test_the_tarball_holds_the_files_a_skipped_path_did_not_leave_out(
    archived: Callable[..., Path], outputs: dict[str, str]
) -> None:
    written = archived(
        "tar_outputs", north_feed_path=None, south_rows_path=outputs["south_rows_path"]
    )
    with tarfile.open(written, "r:gz") as archive:
        assert archive.getnames() == ["south_claims.csv"]


def test_files_of_one_name_are_kept_apart_by_task(
    archived: Callable[..., Path], tmp_path: Path
) -> None:
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "day.csv").write_text(f"{folder}\n")
    paths = {
        "north_feed_path": str(tmp_path / "a/day.csv"),
        "south_rows_path": str(tmp_path / "b/day.csv"),
    }
    with zipfile.ZipFile(archived("zip_outputs", **paths)) as archive:
        assert archive.namelist() == ["north_feed/day.csv", "south_rows/day.csv"]


def test_no_file_at_all_fails_saying_so(archived: Callable[..., Path]) -> None:
    with pytest.raises(ValueError, match="no file to archive before zip_outputs: north_feed, "):
        archived("zip_outputs", north_feed_path=None, south_rows_path=None)


def test_files_the_words_name_are_archived_by_their_glob(
    archived: Callable[..., Path], tmp_path: Path
) -> None:
    spec = spec_of(NAMED)
    ctx = context_for(spec, (spec.tasks or [])[-1], WRITTEN)
    params = first_params(ctx)
    assert (params.sources, params.input_formats) == (
        ["read_claims", "exports/*.csv"],
        ["csv", "csv"],
    )
    named = next(s for s in ARCHIVE.settings(params, ctx.task) if s.name == "input_2")
    assert named.stated == "exports/*.csv"
    (tmp_path / "exports").mkdir()
    for name in ("b.csv", "a.csv", "notes.txt"):
        (tmp_path / "exports" / name).write_text("claim_id\nc1\n")
    clean = tmp_path / "claims_clean.csv"
    clean.write_text("claim_id\nc1\n")
    written = archived("keep_exports", read_claims_path=str(clean), input_2="exports/*.csv")
    with zipfile.ZipFile(written) as archive:
        assert archive.namelist() == ["claims_clean.csv", "a.csv", "b.csv"]
