"""Reports of a file (``file_report``): the rows of one upstream file (or a file the words
name) written as an XML document (one element a row, the element names the words
state), an HTML table, or a PDF (a bar or line chart of one column summed by another,
drawn with matplotlib's Agg backend, else the rows as table pages).

A step's words ask for one when they write a report, chart or page in one of these
formats (``Output: XML report``, ``saved to /tmp/sales_chart.pdf``) and read a data
file. A step right after a branch over the file reports the rows the branch routes it.
The DAG gets a TaskFlow task that reads the rows with DuckDB in memory and writes the
report at the path the words state, else under ``reports/`` of the filesystem
connection's folder; it returns that path (XCom), for the steps after it (an email
attaching it). An empty file gives a report of no rows, a chart that says so.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

import sqlglot.expressions as exp
from pydantic import BaseModel, Field, field_validator, model_validator

from airflow_llm.patterns.base import StrictParameters, enum, narrowed, obj
from airflow_llm.patterns.common import NONE, none_as_null, require
from airflow_llm.patterns.context import Relation, TaskContext
from airflow_llm.patterns.file_loads import column_use
from airflow_llm.patterns.file_operations import (
    Aggregation,
    FilterRows,
    Measure,
    Name,
    Use,
    column,
    reader,
    transform_query,
)
from airflow_llm.patterns.file_routes import path_filters
from airflow_llm.patterns.file_steps import (
    FS_HOOK,
    SOURCE,
    FileFacts,
    FileInput,
    FilePattern,
    arguments_of,
    check_path,
    check_source,
    file_inputs,
    source_choice,
)
from airflow_llm.patterns.file_words import (
    IDENTIFIER,
    FileFormat,
    other_formats,
    stated_files,
)
from airflow_llm.patterns.files import PATH
from airflow_llm.patterns.linking import grouping_phrases, link
from airflow_llm.patterns.operators import Setting, lead
from airflow_llm.spec import PipelineSpec, TaskSpec

MATPLOTLIB = "matplotlib==3.11.2"
ReportFormat = Literal["xml", "html", "pdf"]
Chart = Literal["bar", "line"]
_EXTENSIONS: dict[str, ReportFormat] = {"xml": "xml", "html": "html", "htm": "html", "pdf": "pdf"}
_LINE = re.compile(r"\bline\s+(?:chart|graph|plot)s?\b|\btrends?\b|\bover\s+time\b", re.I)
_CHART = re.compile(r"\b(?:charts?|graphs?|plots?|visuali[sz]\w*|histograms?|bars?)\b", re.I)
_OF = re.compile(r"\b(?:chart|graph|plot|visuali[sz]ation)s?\s+of\s+(?:the\s+)?(\w+)", re.I)
_PRONOUNS = frozenset({"it", "this", "that", "them", "these", "those", "all", "each", "every"})
"""Words after "chart of" or "by" that name no column."""
_ELEMENT = re.compile(r"<([A-Za-z_][A-Za-z0-9_]*)>")
"""An XML element the words name (``<transaction>``)."""


def report_format_of(ctx: TaskContext) -> ReportFormat | None:
    """The report format the task's words write: a written file's extension (``.pdf``),
    else a format word after an output cue ("Output: FATCA XML report"); None: none."""
    facts = FileFacts(ctx)
    for mention in stated_files(facts.own_words):
        found = _EXTENSIONS.get(mention.extension.lower())
        if mention.role == "output" and found is not None:
            return found
    written = other_formats(facts.own_words)["output"]
    return next((_EXTENSIONS[word] for word in written if word in _EXTENSIONS), None)


def stated_chart(text: str) -> Chart | None:
    """The chart the words draw: a line chart for a line chart or a trend, else a bar
    chart for any chart, graph, plot or visualization; None when they draw none."""
    if _LINE.search(text):
        return "line"
    return "bar" if _CHART.search(text) else None


class FileReportParameters(StrictParameters):
    """Read ``source`` (an upstream task's file, a path, None: ``config.yml``'s), keep
    the rows of ``filters``, write them to ``output`` as ``report_format``: XML elements
    ``root`` and one ``row`` a row, an HTML table, or a PDF (``chart`` of ``y`` summed
    by ``x``; no chart: table pages)."""

    source: str | None = Field(default=None, pattern=SOURCE)
    input_format: FileFormat
    report_format: ReportFormat
    filters: list[FilterRows] = Field(default_factory=list, max_length=4)
    chart: Chart | None = None
    x: Name | None = None
    y: Name | None = None
    root: Name = "report"
    row: Name = "row"
    output: str | None = Field(default=None, pattern=PATH)

    _nulls = field_validator("source", "output", "chart", "x", "y", mode="before")(none_as_null)

    @model_validator(mode="after")
    def _chart_axes(self) -> FileReportParameters:
        if self.chart is not None and self.report_format != "pdf":
            raise ValueError(f"a chart is drawn in a PDF, not in {self.report_format}")
        if self.chart is not None and (self.x is None or self.y is None or self.x == self.y):
            raise ValueError("a chart needs two columns: x and y")
        if self.chart is None and (self.x is not None or self.y is not None):
            raise ValueError("x and y are the columns of a chart: no chart, no columns")
        return self


class FileReport(FilePattern[FileReportParameters]):
    """One file's rows as an XML, HTML or PDF report (DuckDB, then the standard library
    or matplotlib, in a TaskFlow task)."""

    name: ClassVar[str] = "file_report"
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "python"
    summary: ClassVar[str] = (
        "write one CSV, JSON or Parquet file's rows as a report: an XML document, an HTML "
        "table, or a PDF (a bar or line chart of one column by another, or the rows)"
    )
    cues: ClassVar[tuple[str, ...]] = (
        "report", "reports", "reporting", "chart", "charts", "graph", "plot", "visualization",
        "visualisation", "visual", "pdf", "xml", "html", "page", "document", "render",
    )  # fmt: skip
    parameters: ClassVar[type[BaseModel]] = FileReportParameters
    imports: ClassVar[tuple[str, ...]] = (FS_HOOK, "from airflow.sdk import task")
    requirements: ClassVar[tuple[str, ...]] = (*FilePattern.requirements, MATPLOTLIB)

    def applies(self, ctx: TaskContext) -> bool:
        """Local words that write a report format (an XML, HTML or PDF file or word
        after an output cue), read none of those, and a data file to read (an upstream
        task's, or one the words name)."""
        facts = FileFacts(ctx)
        reads_other = bool(other_formats(facts.own_words)["input"])
        readable = bool(facts.upstream or facts.inputs)
        return facts.local and not reads_other and readable and report_format_of(ctx) is not None

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        """What it reads: the nearest upstream file, else the file the words name."""
        options = FileFacts(ctx).source_options()
        return obj({"source": enum(narrowed(ctx, options[:1] or [NONE], [*options, NONE]))})

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The chart and its columns (a PDF whose words draw one, when there are two
        columns to draw), the XML element names the words state, and the file the words
        say it writes."""
        facts = FileFacts(ctx)
        written = report_format_of(ctx)
        chart = stated_chart(lead(facts.own_words)) if written == "pdf" else None
        properties: dict[str, dict[str, Any]] = {"output": self._output_schema(ctx, facts)}
        xs, ys = _axes(ctx, facts, source_choice(inputs.get("source")))
        if chart is not None and xs and ys:
            properties["chart"] = enum(narrowed(ctx, [chart], ["bar", "line"]))
            properties["x"] = enum(narrowed(ctx, xs[:1], xs) or [NONE])
            properties["y"] = enum(narrowed(ctx, ys[:1], ys) or [NONE])
        if written == "xml":
            properties |= _elements(_ELEMENT.findall(facts.own_words))
        return obj(properties)

    @staticmethod
    def _output_schema(ctx: TaskContext, facts: FileFacts) -> dict[str, Any]:
        """The report file the words name (written), else ``config.yml``'s."""
        named = [
            m.path
            for m in stated_files(facts.own_words)
            if m.role == "output" and m.extension.lower() in _EXTENSIONS and "*" not in m.path
        ]
        return enum(narrowed(ctx, named, [*named, NONE]))

    def complete(self, answer: Mapping[str, Any], ctx: TaskContext) -> dict[str, Any]:
        """The input's format, the report's, and the rows the branch before it routes."""
        facts = FileFacts(ctx)
        source = source_choice(answer.get("source"))
        routed = [f.model_dump() for f in path_filters(ctx)]
        return {
            **answer,
            "input_format": facts.input_format(source),
            "report_format": report_format_of(ctx) or "html",
            "filters": routed,
        }

    def planned_output(self, ctx: TaskContext) -> Relation | None:
        """A report file of the format its words write (no file pattern reads it)."""
        return Relation(ctx.task.name, (), ctx.task.name, report_format_of(ctx) or "html")

    def check(self, params: FileReportParameters, ctx: TaskContext) -> Relation | None:
        """A source an upstream task writes or in its folder, a path in its folder, chart
        columns among the names the words and the file give, the branch's filters only;
        the report written."""
        facts = FileFacts(ctx)
        check_source(facts, params.source)
        check_path(params.output)
        xs, ys = _axes(ctx, facts, params.source)
        for name, options in ((params.x, xs), (params.y, ys)):
            require(
                name is None or name in options,
                f"no column {name!r} among the file's and the words' ({', '.join(options)})",
            )
        routed = path_filters(ctx)
        require(all(f in routed for f in params.filters), "filters other than the branch's route")
        return Relation(ctx.task.name, (), ctx.task.name, params.report_format)

    def file_inputs(self, params: FileReportParameters) -> list[FileInput]:
        """The file it reports."""
        return file_inputs([params.source], [params.input_format])

    def reads(self, params: FileReportParameters) -> dict[str, Use]:
        """The chart's columns (x as text, y as a number) and the filtered ones."""
        read: dict[str, Use] = {f.column: "text" for f in params.filters}
        if params.x is not None and params.y is not None:
            read |= {params.x: "text", params.y: "number"}
        return read

    def output_format(self, params: FileReportParameters) -> str | None:
        """The report's format."""
        return params.report_format

    def settings(self, params: FileReportParameters, task: TaskSpec) -> list[Setting]:
        """The filesystem connection, the input's path (when no upstream task gives it)
        and the report's path (the words', else ``reports/<task>_<date>.<format>``)."""
        default = f"reports/{task.name}_{{{{ ds_nodash }}}}.{params.report_format}"
        written = Setting(
            "output",
            "path",
            f"{params.report_format} report {task.name} writes",
            params.output or default,
        )
        return [*self.path_settings(task, self.file_inputs(params)), written]

    def arguments(
        self, params: FileReportParameters, spec: PipelineSpec, task: TaskSpec
    ) -> dict[str, Any]:
        """The query of the rows (summed by x for a chart, in x's order), the title and
        a line for the docstring."""
        rows: exp.Query = exp.select(exp.Star()).from_(reader(params.input_format, 1))
        if params.chart is not None and params.x is not None and params.y is not None:
            summed = Aggregation(
                group_by=[params.x], measures=[Measure(function="sum", column=params.y)]
            )
            query = transform_query(rows, params.filters, summed).order_by(column(params.x))
            what = f"a {params.chart} chart of {params.y} summed by {params.x}"
            statement = query.sql(dialect="duckdb")
        else:
            statement = transform_query(rows, params.filters, None).sql(dialect="duckdb")
            what = {"xml": "XML elements", "html": "an HTML table", "pdf": "PDF table pages"}[
                params.report_format
            ]
        title = task.name.replace("_", " ").capitalize()
        summary = f"Write the rows of the {params.input_format} file as {what}."
        return {**arguments_of(self.file_inputs(params), statement, summary, task), "title": title}


def _axes(ctx: TaskContext, facts: FileFacts, source: str | None) -> tuple[list[str], list[str]]:
    """The chart's x options (what the words group by: ``by product``) and y options
    (what it is a chart of: ``chart of sales``), surest first: the names the words use or
    the file's known columns that those words mean, then for y the file's known number
    columns, then the bare words (only when the file's columns are unknown: a word no
    known column has is none to draw), then the other names; never a date or time
    column, which no chart sums."""
    text = facts.own_words
    names = facts.candidates([source]).all
    known = facts.known_columns([source])
    numbers = [c.name for c in known if column_use(c.type, ctx.dialect) == "number"]
    grouped = grouping_phrases(text)
    measured = [m.group(1) for m in _OF.finditer(text)]
    xs = [found for phrase in grouped if (found := link(phrase, names))]
    xs += [phrase for phrase in grouped if _bare_column(phrase)]
    x = xs[:1]
    ys = [found for phrase in measured if (found := link(phrase, names))]
    bare = [phrase for phrase in measured if _bare_column(phrase) and not known]
    temporal = {c.name for c in known if column_use(c.type, ctx.dialect) in ("date", "timestamp")}
    ys = [y for y in _rest([*ys, *numbers, *bare], names) if y not in x and y not in temporal]
    return _rest(xs, names), ys


def _bare_column(word: str) -> bool:
    """Whether a word the words chart or group by may be a column's name as it stands."""
    return bool(re.match(IDENTIFIER, word)) and word.lower() not in _PRONOUNS


def _rest(first: Sequence[str], names: Sequence[str]) -> list[str]:
    """``first``, then the other ``names``."""
    return list(dict.fromkeys([*first, *names]))


def _elements(stated: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The XML root and row elements: the first two the words name (``<transactions>``,
    ``<transaction>``); one named is the row's; else ``report`` and ``row``."""
    root, row = stated[:2] if len(stated) >= 2 else ("report", stated[0] if stated else "row")
    return {"root": enum([root]), "row": enum([row])}
