"""The ``file_report`` pattern: which steps' words ask for an XML, HTML or PDF report of
a file, the chart and columns they give, the parameters refused, the DAG snippet
(golden), and the generated task run on real files (a chart of an empty file too).

After an intended change of the snippet, rewrite its golden with::

    AIRFLOW_LLM_UPDATE_GOLDENS=1 .venv/bin/pytest -n 0 tests/unit/test_file_report_pattern.py
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

from airflow_llm.patterns import ParameterError, Relation, context_for, pattern_menu, pattern_named
from airflow_llm.patterns.file_steps import FileFacts
from airflow_llm.patterns.file_words import other_formats
from airflow_llm.spec import Column, PipelineSpec
from tests.integration.test_file_gates import rendered_bundle
from tests.snippet_goldens import check_golden, dag_module, snippet, write_bundle

GOLDENS = Path(__file__).resolve().parents[1] / "fixtures" / "file_reports"
REPORT = pattern_named("file_report")
PREPARE = {
    "name": "prepare_trips",
    "kind": "python",
    "description": "Read trips.csv, drop rows with nulls in fare, write trips_clean.csv.",
}
TRIPS = Relation(
    "prepare_trips",
    (Column(name="fare", type="DOUBLE"), Column(name="zone", type="VARCHAR")),
    "prepare_trips",
    "csv",
)


def spec_of(*tasks: dict[str, Any], environments: dict[str, Any] | None = None) -> PipelineSpec:
    return PipelineSpec.model_validate(
        {
            "name": "trip_reports",
            "description": "Reports of the taxi trips.",
            "dialect": "postgres",
            "environments": environments or {"dev": {"conn_id": "warehouse_dev"}},
            "tasks": list(tasks),
        }
    )


def report_step(description: str, name: str = "report") -> dict[str, Any]:
    return {
        "name": name,
        "kind": "python",
        "depends_on": ["prepare_trips"],
        "description": description,
    }


def ctx_for(description: str) -> Any:
    spec = spec_of(PREPARE, report_step(description))
    return context_for(spec, (spec.tasks or [])[1], {"prepare_trips": TRIPS})


def first_params(ctx: Any, **changed: Any) -> Any:
    """The parameters a first answer gives (the first option of every question)."""
    inputs = {"source": REPORT.input_schema(ctx)["properties"]["source"]["enum"][0]}
    schema = REPORT.parameter_schema(ctx, inputs)["properties"]
    answer = {**inputs, **{name: found["enum"][0] for name, found in schema.items()}}
    return REPORT.parse({**REPORT.complete(answer, ctx), **changed})


# -- the words -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        (
            "Render the monthly trip feed for the city's tax office. Output: XML report",
            {"report_format": "xml", "output": None, "chart": None},
        ),
        (
            "Plot a bar chart of fare by zone with matplotlib; save it to charts/fares.pdf",
            {"report_format": "pdf", "output": "charts/fares.pdf", "chart": "bar"},
        ),
        (
            "Draw the fare trend as a PDF line graph of fare by zone.",
            {"report_format": "pdf", "output": None, "chart": "line"},
        ),
        (
            "Build a web page listing the cleaned trips. Output: trips.html",
            {"report_format": "html", "output": "trips.html", "chart": None},
        ),
        (
            "Create the closing summary report of the trips. Output: closing_summary.pdf",
            {"report_format": "pdf", "output": "closing_summary.pdf", "chart": None},
        ),
    ],
)
def test_report_steps_get_their_format_path_and_chart(
    description: str, expected: dict[str, Any]
) -> None:
    ctx = ctx_for(description)
    assert pattern_menu(ctx) == ["file_report"]
    params = first_params(ctx)
    assert params.source == "prepare_trips"
    assert {name: getattr(params, name) for name in expected} == expected


@pytest.mark.parametrize(
    ("description", "menu"),
    [
        ("Parse the HTML file the portal returned. Input: HTML file. Output: JSON", []),
        ("Email the PDF report to finance@trips.example", ["notify_email"]),
        ("Upload the XML report to the S3 bucket.", []),
        ("Write the trips to a CSV file, trips.csv", ["file_transform"]),
    ],
)
def test_steps_that_read_a_report_send_it_or_write_data_are_not_reports(
    description: str, menu: list[str]
) -> None:
    ctx = ctx_for(description)
    assert not REPORT.applies(ctx)
    assert pattern_menu(ctx) == menu


def test_a_chart_is_of_what_the_words_chart_by_what_they_group_by() -> None:
    params = first_params(ctx_for("Create a PDF bar chart of fare by zone."))
    assert (params.chart, params.x, params.y) == ("bar", "zone", "fare")
    known = first_params(ctx_for("Create a PDF bar chart of tips by driver."))
    assert (known.x, known.y) == ("driver", "fare")  # the file's number column for y
    assert REPORT.reads(known) == {"driver": "text", "fare": "number"}
    spec = spec_of(PREPARE, report_step("Create a PDF bar chart of tips by driver."))
    unknown = Relation("prepare_trips", (), "prepare_trips", "csv")
    ctx = context_for(spec, (spec.tasks or [])[1], {"prepare_trips": unknown})
    assert (first_params(ctx).x, first_params(ctx).y) == ("driver", "tips")
    wordless = Relation(
        "prepare_trips",
        (Column(name="zone", type="VARCHAR"), Column(name="day", type="DATE")),
        "prepare_trips",
        "csv",
    )
    spec = spec_of(PREPARE, report_step("Create a PDF bar chart of tips by zone."))
    ctx = context_for(spec, (spec.tasks or [])[1], {"prepare_trips": wordless})
    assert first_params(ctx).chart is None  # no known column to sum: table pages


def test_a_chart_without_two_columns_to_draw_is_table_pages() -> None:
    spec = spec_of(
        {**PREPARE, "description": "Read trips.csv and write trips_clean.csv."},
        report_step("Plot a PDF chart of it."),
    )
    ctx = context_for(
        spec,
        (spec.tasks or [])[1],
        {"prepare_trips": Relation("prepare_trips", (), "prepare_trips", "csv")},
    )
    assert first_params(ctx).chart is None


def test_xml_elements_are_the_ones_the_words_name() -> None:
    stated = first_params(ctx_for("Output: XML report, <trips> with one <trip> element a row"))
    assert (stated.root, stated.row) == ("trips", "trip")
    one = first_params(ctx_for("Output: XML report with one <trip> element per row"))
    assert (one.root, one.row) == ("report", "trip")


def test_other_formats_have_roles() -> None:
    found = other_formats("Input: HTML file from the portal. Output: PDF report; notes in XML")
    assert found == {"input": ["html"], "output": ["pdf"], "unknown": ["xml"]}


def test_file_steps_after_a_report_read_the_file_before_it() -> None:
    spec = spec_of(
        PREPARE,
        report_step("Output: XML report of the trips"),
        {
            "name": "keep_trips",
            "kind": "python",
            "depends_on": ["report"],
            "description": "Drop duplicate rows of the trips file and write kept.csv.",
        },
    )
    report = Relation("report", (), "report", "xml")
    ctx = context_for(spec, (spec.tasks or [])[2], {"prepare_trips": TRIPS, "report": report})
    assert [r.produced_by for r in FileFacts(ctx).upstream] == ["prepare_trips"]


# -- parameters refused ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changed", "problem"),
    [
        ({"report_format": "xml"}, "a chart is drawn in a PDF"),
        ({"y": None}, "a chart needs two columns"),
        ({"y": "zone"}, "a chart needs two columns"),
    ],
)
def test_answers_the_parameter_model_refuses(changed: dict[str, Any], problem: str) -> None:
    with pytest.raises(ParameterError, match=problem):
        first_params(ctx_for("Create a PDF bar chart of fare by zone."), **changed)


@pytest.mark.parametrize(
    ("changed", "problem"),
    [
        ({"x": "colour"}, "no column 'colour'"),
        ({"source": "other_task"}, "no upstream task writes a file 'other_task'"),
        ({"source": "../secrets.csv"}, "no '..' in a path"),
        ({"output": "../../etc/report.pdf"}, "no '..' in a path"),
        (
            {"filters": [{"op": "filter", "column": "zone", "comparison": "=", "value": "a"}]},
            "filters other than the branch's route",
        ),
    ],
)
def test_parameters_the_pattern_refuses(changed: dict[str, Any], problem: str) -> None:
    ctx = ctx_for("Create a PDF bar chart of fare by zone.")
    with pytest.raises(ParameterError, match=problem):
        REPORT.render(first_params(ctx, **changed), ctx)


def test_a_report_is_a_file_of_its_format_with_a_default_path() -> None:
    ctx = ctx_for("Render the trips for the tax office. Output: XML report")
    params = first_params(ctx)
    assert REPORT.render(params, ctx).output == Relation("report", (), "report", "xml")
    output = next(s for s in REPORT.settings(params, ctx.task) if s.name == "output")
    assert output.stated == "reports/report_{{ ds_nodash }}.xml"


# -- the snippet and the generated task, run -----------------------------------------------

STEPS = {
    "fare_chart": "Plot a PDF bar chart of fare by zone. Output: charts/fares.pdf",
    "trip_feed": "Output: XML report, <trips> with one <trip> element a row",
    "trip_page": "Publish the trips as an HTML page. Output: trips.html",
    "trip_summary": "Create the final summary report of the trips. Output: summary.pdf",
}
SPEC = spec_of(
    PREPARE,
    *(report_step(text, name) for name, text in STEPS.items()),
    environments={"dev": {"conn_id": "warehouse_dev", "vars": {"fs_conn_id": "trip_files"}}},
)
CHOSEN = {"prepare_trips": "file_transform", **dict.fromkeys(STEPS, "file_report")}


@pytest.fixture(scope="module")
def dag_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bundle")
    write_bundle(root, rendered_bundle(SPEC, CHOSEN))
    return root / "dags/trip_reports.py"


@pytest.mark.parametrize("task", list(STEPS))
def test_the_dag_snippets_match_their_goldens(dag_file: Path, task: str) -> None:
    check_golden(snippet(dag_file.read_text(), task), GOLDENS / f"{task}.py.txt")


@pytest.fixture
def generated(
    dag_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[[str], Callable[..., str]]:
    """A task's callable from the rendered DAG file, its folder connection ``tmp_path``."""
    connection = {"conn_type": "fs", "extra": {"path": str(tmp_path)}}
    monkeypatch.setenv("AIRFLOW_CONN_TRIP_FILES", json.dumps(connection))
    module = dag_module(dag_file, "trip_reports")
    return lambda task: module.dag.get_task(task).python_callable  # type: ignore[no-any-return]


TRIPS_CSV = "fare,zone\n12.5,north\n7.5,south\n3,north\n,east\n"
EMPTY_CSV = "fare,zone\n"


def run_report(
    generated: Callable[[str], Callable[..., str]], task: str, tmp_path: Path, content: str
) -> Path:
    source = tmp_path / "trips_clean.csv"
    source.write_text(content)
    output = {"fare_chart": "out/chart.pdf", "trip_feed": "out/feed.xml"}.get(task, f"out/{task}")
    written = generated(task)(prepare_trips_path=str(source), templates_dict={"output": output})
    assert written == str(tmp_path / output)
    return Path(written)


def test_the_xml_report_has_one_element_a_row(
    generated: Callable[[str], Callable[..., str]], tmp_path: Path
) -> None:
    written = run_report(generated, "trip_feed", tmp_path, TRIPS_CSV)
    root = ElementTree.parse(written).getroot()  # noqa: S314 - the test's own file
    assert (root.tag, root.get("rows")) == ("trips", "4")
    rows = [{field.tag: field.text or "" for field in row} for row in root]
    assert [row.tag for row in root] == ["trip"] * 4
    assert rows[0] == {"fare": "12.5", "zone": "north"}
    assert rows[3] == {"fare": "", "zone": "east"}


def test_the_html_report_is_a_table_of_the_rows(
    generated: Callable[[str], Callable[..., str]], tmp_path: Path
) -> None:
    page = run_report(generated, "trip_page", tmp_path, TRIPS_CSV).read_text()
    assert "<th>fare</th><th>zone</th>" in page
    assert page.count("<tr>") == 5  # the header and 4 rows
    assert "<td>7.5</td><td>south</td>" in page


@pytest.mark.parametrize("task", ["fare_chart", "trip_summary"])
@pytest.mark.parametrize("content", [TRIPS_CSV, EMPTY_CSV], ids=["rows", "empty"])
def test_pdf_reports_are_written_for_rows_and_for_no_rows(
    generated: Callable[[str], Callable[..., str]], tmp_path: Path, task: str, content: str
) -> None:
    written = run_report(generated, task, tmp_path, content).read_bytes()
    assert written.startswith(b"%PDF-")
    assert b"/Type /Page" in written


# -- an email attaching the reports ------------------------------------------------------


def test_an_email_attaches_the_files_upstream_tasks_wrote_when_its_words_attach() -> None:
    email = pattern_named("notify_email")
    mail = {
        "name": "mail_report",
        "kind": "python",
        "depends_on": ["report"],
        "description": "Email the chart to ops@trips.example with the PDF attached.",
    }
    spec = spec_of(PREPARE, report_step("Create a PDF bar chart of fare by zone."), mail)
    outputs = {"prepare_trips": TRIPS, "report": Relation("report", (), "report", "pdf")}
    ctx = context_for(spec, (spec.tasks or [])[2], outputs)
    schema = email.parameter_schema(ctx, {})["properties"]
    assert schema["attachments"]["items"]["enum"] == ["report"]  # the PDF the words attach
    params = email.parse({"to": "ops@trips.example", "attachments": ["report"]})
    assert email.arguments(params, spec, ctx.task)["files"] == [
        "{{ ti.xcom_pull(task_ids='report') }}"
    ]
    with pytest.raises(ParameterError, match="no file to attach from mail_report"):
        email.render(email.parse({"attachments": ["mail_report"]}), ctx)
    plain = {**mail, "description": "Email ops@trips.example the results as attachments."}
    spec = spec_of(PREPARE, report_step("Create a PDF bar chart of fare by zone."), plain)
    nearest = context_for(spec, (spec.tasks or [])[2], outputs)
    assert email.parameter_schema(nearest, {})["properties"]["attachments"]["items"] == {
        "enum": ["report"]
    }
    silent = {**mail, "description": "Email ops@trips.example that the chart is ready."}
    spec = spec_of(PREPARE, report_step("Create a PDF bar chart of fare by zone."), silent)
    quiet = context_for(spec, (spec.tasks or [])[2], outputs)
    assert "attachments" not in email.parameter_schema(quiet, {})["properties"]
