"""The fixed vocabulary of row operations the file patterns apply, and the one DuckDB
statement they compile to.

An operation is a typed object (pick columns, rename one, parse one as a date, clean
up a text column, drop rows with NULLs or duplicates, keep rows by a comparison with a
stated value, multiply a number column by a stated factor, add a constant column);
optionally an aggregation ends the list. :func:`copy_statement` prints them as one
``COPY (WITH step_1 AS (...), ... SELECT * FROM step_n) TO $output (FORMAT ...)``: each
operation one step over the one before, identifiers quoted, values literals, the file
paths DuckDB parameters (``$input_1``, ``$output``) bound when the task runs. What the
operations read is typed by use (:func:`input_uses`: a parsed column holds dates, a
multiplied one numbers), which the smoke run's sample files follow.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal, get_args

import sqlglot.expressions as exp
from pydantic import Field

from airflow_llm.patterns.base import StrictParameters
from airflow_llm.patterns.file_words import IDENTIFIER
from airflow_llm.spec import Column

Use = Literal["text", "number", "date", "timestamp"]
SQL_TYPES: dict[str, str] = {
    "text": "VARCHAR",
    "number": "DOUBLE",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
}
"""The SQL type of a column of each use (what the output relation records)."""
Name = Annotated[str, Field(pattern=IDENTIFIER, max_length=63)]
Value = Annotated[str, Field(max_length=200)] | int | float
Comparison = Literal["=", "!=", ">", ">=", "<", "<="]
TextCase = Literal["trim", "upper", "lower"]
DateFormat = Literal["%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y%m%d"]
DATE_FORMATS: dict[str, DateFormat] = {
    "YYYY-MM-DD": "%Y-%m-%d",
    "DD/MM/YYYY": "%d/%m/%Y",
    "MM/DD/YYYY": "%m/%d/%Y",
    "DD-MM-YYYY": "%d-%m-%Y",
    "DD.MM.YYYY": "%d.%m.%Y",
    "YYYYMMDD": "%Y%m%d",
}
"""Date formats words write, as DuckDB's ``strptime`` formats."""
_COMPARISONS: dict[str, type[exp.Binary]] = {
    "=": exp.EQ,
    "!=": exp.NEQ,
    ">": exp.GT,
    ">=": exp.GTE,
    "<": exp.LT,
    "<=": exp.LTE,
}
READERS: dict[str, str] = {
    "csv": "read_csv_auto",
    "json": "read_json_auto",
    "jsonl": "read_json_auto",
    "parquet": "read_parquet",
}
"""DuckDB's reader of each format."""
COPY_OPTIONS: dict[str, str] = {
    "csv": "FORMAT csv, HEADER true",
    "json": "FORMAT json, ARRAY true",
    "jsonl": "FORMAT json",
    "parquet": "FORMAT parquet",
}
"""How each format is written (``COPY ... TO ... (options)``): JSON as one array, JSON
lines one object a line."""
OUTPUT = "output"
"""The DuckDB parameter of the file written."""


def identifier(name: str) -> exp.Identifier:
    """A quoted identifier."""
    return exp.to_identifier(name, quoted=True)


def column(name: str) -> exp.Column:
    """A quoted column reference."""
    return exp.Column(this=identifier(name))


def literal(value: str | int | float) -> exp.Expr:
    """A value as an SQL literal (never spliced as text)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return exp.Literal.string(str(value))
    return exp.Literal.number(value)


def as_text(name: str) -> exp.Expr:
    """``CAST("name" AS VARCHAR)``."""
    return exp.Cast(this=column(name), to=exp.DataType.build("VARCHAR"))


def as_number(name: str) -> exp.Expr:
    """``TRY_CAST("name" AS DOUBLE)``: NULL where a value is no number."""
    return exp.TryCast(this=column(name), to=exp.DataType.build("DOUBLE"))


def is_number(value: str | int | float) -> bool:
    """Whether a stated value is a number (compared with a column as numbers)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def compare(left: exp.Expr, comparison: Comparison, value: str | int | float) -> exp.Expr:
    """``left`` compared so with the literal ``value``."""
    return _COMPARISONS[comparison](this=left, expression=literal(value))


def compared(name: str, comparison: Comparison, value: str | int | float) -> exp.Expr:
    """Column ``name`` compared so with ``value``: as numbers when the value is one (a
    value that is no number is NULL), else as text."""
    return compare(as_number(name) if is_number(value) else as_text(name), comparison, value)


def _replacing(previous: str, name: str, value: exp.Expr) -> exp.Select:
    """``SELECT * REPLACE (value AS "name") FROM previous``."""
    star = exp.Star(replace=[exp.alias_(value, identifier(name))])
    return exp.select(star).from_(previous)


class SelectColumns(StrictParameters):
    """Keep only these columns, in this order."""

    op: Literal["select"] = "select"
    columns: list[Name] = Field(min_length=1)

    def step(self, previous: str) -> exp.Select:
        """The step's query."""
        return exp.select(*(column(name) for name in self.columns)).from_(previous)


class RenameColumn(StrictParameters):
    """Rename ``column`` to ``to``."""

    op: Literal["rename"] = "rename"
    column: Name
    to: Name

    def step(self, previous: str) -> exp.Select:
        """The step's query."""
        star = exp.Star(rename=[exp.alias_(column(self.column), identifier(self.to))])
        return exp.select(star).from_(previous)


class ParseDate(StrictParameters):
    """Parse ``column`` as a date or timestamp (in ``format``, else ISO); a value that
    does not parse becomes NULL."""

    op: Literal["parse_date"] = "parse_date"
    column: Name
    type: Literal["date", "timestamp"] = "date"
    format: DateFormat | None = None

    def step(self, previous: str) -> exp.Select:
        """The step's query."""
        target = exp.DataType.build(self.type.upper())
        if self.format is None:
            parsed: exp.Expr = exp.TryCast(this=column(self.column), to=target)
        else:
            stamp = exp.Anonymous(
                this="try_strptime",
                expressions=[as_text(self.column), exp.Literal.string(self.format)],
            )
            parsed = exp.Cast(this=stamp, to=target) if self.type == "date" else stamp
        return _replacing(previous, self.column, parsed)


class CleanText(StrictParameters):
    """Trim ``column`` (a text), and upper- or lower-case it."""

    op: Literal["clean_text"] = "clean_text"
    column: Name
    case: TextCase = "trim"

    def step(self, previous: str) -> exp.Select:
        """The step's query."""
        cleaned: exp.Expr = exp.Trim(this=as_text(self.column))
        if self.case == "upper":
            cleaned = exp.Upper(this=cleaned)
        elif self.case == "lower":
            cleaned = exp.Lower(this=cleaned)
        return _replacing(previous, self.column, cleaned)


class DropNulls(StrictParameters):
    """Drop the rows where any of ``columns`` is NULL (an empty CSV field is NULL)."""

    op: Literal["drop_nulls"] = "drop_nulls"
    columns: list[Name] = Field(min_length=1)

    def step(self, previous: str) -> exp.Select:
        """The step's query."""
        conditions = [
            exp.Not(this=exp.Is(this=column(name), expression=exp.Null())) for name in self.columns
        ]
        return exp.select(exp.Star()).from_(previous).where(exp.and_(*conditions))


class DropDuplicates(StrictParameters):
    """Keep one row per value of ``keys`` (none: drop rows repeated whole)."""

    op: Literal["drop_duplicates"] = "drop_duplicates"
    keys: list[Name] = Field(default_factory=list)

    def step(self, previous: str) -> exp.Select:
        """The step's query."""
        keys = [column(key) for key in self.keys]
        return exp.select(exp.Star()).from_(previous).distinct(*keys)


class FilterRows(StrictParameters):
    """Keep the rows whose ``column`` compares so with ``value`` (as a number when the
    value is one)."""

    op: Literal["filter"] = "filter"
    column: Name
    comparison: Comparison
    value: Value

    def step(self, previous: str) -> exp.Select:
        """The step's query."""
        condition = compared(self.column, self.comparison, self.value)
        return exp.select(exp.Star()).from_(previous).where(condition)


class MultiplyColumn(StrictParameters):
    """``to`` = ``column`` (a number) times ``factor`` (``to`` may be ``column``)."""

    op: Literal["multiply"] = "multiply"
    column: Name
    factor: float
    to: Name

    def step(self, previous: str) -> exp.Select:
        """The step's query."""
        product = exp.Mul(this=as_number(self.column), expression=literal(self.factor))
        if self.to == self.column:
            return _replacing(previous, self.to, product)
        return exp.select(exp.Star(), exp.alias_(product, identifier(self.to))).from_(previous)


class AddConstant(StrictParameters):
    """A new column ``column`` holding ``value`` on every row."""

    op: Literal["add_constant"] = "add_constant"
    column: Name
    value: Value

    def step(self, previous: str) -> exp.Select:
        """The step's query."""
        constant = exp.alias_(literal(self.value), identifier(self.column))
        return exp.select(exp.Star(), constant).from_(previous)


Operation = Annotated[
    SelectColumns
    | RenameColumn
    | ParseDate
    | CleanText
    | DropNulls
    | DropDuplicates
    | FilterRows
    | MultiplyColumn
    | AddConstant,
    Field(discriminator="op"),
]
AggregateFunction = Literal["sum", "count", "avg", "min", "max"]
AGGREGATE_FUNCTIONS: tuple[str, ...] = get_args(AggregateFunction)


class Measure(StrictParameters):
    """One aggregate: ``function`` of ``column`` (a count of rows without one)."""

    function: AggregateFunction
    column: Name | None = None

    @property
    def name(self) -> str:
        """Its output column: ``sum_amount``, ``row_count``."""
        return f"{self.function}_{self.column}" if self.column else "row_count"

    def expr(self) -> exp.Expr:
        """The aggregate expression, named."""
        if self.column is None:
            value: exp.Expr = exp.Count(this=exp.Star())
        elif self.function == "count":
            value = exp.Count(this=column(self.column))
        else:
            function = {"sum": exp.Sum, "avg": exp.Avg, "min": exp.Min, "max": exp.Max}
            value = function[self.function](this=as_number(self.column))
        return exp.alias_(value, identifier(self.name))


class Aggregation(StrictParameters):
    """Group the rows by ``group_by`` and compute ``measures`` per group."""

    group_by: list[Name] = Field(default_factory=list)
    measures: list[Measure] = Field(min_length=1)

    def step(self, previous: str) -> exp.Select:
        """The step's query."""
        groups = [column(name) for name in self.group_by]
        query = exp.select(*groups, *(measure.expr() for measure in self.measures))
        return query.from_(previous).group_by(*groups) if groups else query.from_(previous)


def operation_problems(
    operations: Sequence[Operation], aggregation: Aggregation | None, known: Sequence[str]
) -> list[str]:
    """What in the operations cannot work: a column neither ``known`` (the input's
    columns or the words' names) nor made by an earlier operation, a name made twice, a
    count that is not a row count only where it should be."""
    problems: list[str] = []
    available = list(known)
    for position, operation in enumerate(operations, start=1):
        for name in _references(operation):
            if name not in available:
                problems.append(f"operation {position} ({operation.op}): no column {name!r}")
        created = _created(operation)
        if created is not None and isinstance(operation, AddConstant) and created in available:
            problems.append(f"operation {position} (add_constant): {created!r} exists")
        if isinstance(operation, SelectColumns) and len(set(operation.columns)) < len(
            operation.columns
        ):
            problems.append(f"operation {position} (select): columns repeat")
        available = [*available, created] if created and created not in available else available
        if isinstance(operation, RenameColumn):
            available = [operation.to if n == operation.column else n for n in available]
    if aggregation is not None:
        for name in [*aggregation.group_by, *(m.column for m in aggregation.measures if m.column)]:
            if name not in available:
                problems.append(f"aggregation: no column {name!r}")
        names = [m.name for m in aggregation.measures] + list(aggregation.group_by)
        if len(set(names)) < len(names):
            problems.append("aggregation: output columns repeat")
    return problems


def _references(operation: Operation) -> list[str]:
    """The columns an operation reads."""
    if isinstance(operation, SelectColumns | DropNulls):
        return list(operation.columns)
    if isinstance(operation, DropDuplicates):
        return list(operation.keys)
    if isinstance(operation, AddConstant):
        return []
    return [operation.column]


def _created(operation: Operation) -> str | None:
    """The column an operation adds (or renames to)."""
    if isinstance(operation, RenameColumn | MultiplyColumn):
        return operation.to
    if isinstance(operation, AddConstant):
        return operation.column
    return None


def input_uses(operations: Sequence[Operation], aggregation: Aggregation | None) -> dict[str, Use]:
    """The input columns the operations read, typed by use: parsed ones dates or
    timestamps, multiplied, compared with a number or summed ones numbers, others text."""
    uses: dict[str, Use] = {}
    created: set[str] = set()
    renamed: dict[str, str] = {}

    def read(name: str, use: Use) -> None:
        original = renamed.get(name, name)
        if name in created and original == name:
            return
        if uses.get(original, "text") == "text":
            uses[original] = use

    for operation in operations:
        use: Use = "text"
        if isinstance(operation, ParseDate):
            use = operation.type
        elif isinstance(operation, MultiplyColumn) or (
            isinstance(operation, FilterRows) and not isinstance(operation.value, str)
        ):
            use = "number"
        for name in _references(operation):
            read(name, use)
        target = _created(operation)
        if isinstance(operation, RenameColumn):
            renamed[operation.to] = renamed.get(operation.column, operation.column)
        elif target is not None:
            created.add(target)
    for name in aggregation.group_by if aggregation else []:
        read(name, "text")
    for measure in aggregation.measures if aggregation else []:
        if measure.column:
            read(measure.column, "text" if measure.function == "count" else "number")
    return uses


def output_columns(
    inputs: Sequence[Column],
    operations: Sequence[Operation],
    aggregation: Aggregation | None,
) -> list[Column]:
    """The columns of the file written, as far as they are known: the ``inputs`` (the
    known columns of what is read) as the operations change them."""
    columns = {column.name: column.type for column in inputs}
    for operation in operations:
        if isinstance(operation, SelectColumns):
            columns = {name: columns.get(name, "VARCHAR") for name in operation.columns}
        elif isinstance(operation, RenameColumn):
            columns = {
                (operation.to if name == operation.column else name): kind
                for name, kind in columns.items()
            }
        elif isinstance(operation, ParseDate):
            columns[operation.column] = SQL_TYPES[operation.type]
        elif isinstance(operation, CleanText):
            columns[operation.column] = "VARCHAR"
        elif isinstance(operation, MultiplyColumn):
            columns[operation.to] = "DOUBLE"
        elif isinstance(operation, AddConstant):
            numeric = not isinstance(operation.value, str)
            columns[operation.column] = "DOUBLE" if numeric else "VARCHAR"
    if aggregation is not None:
        grouped = {name: columns.get(name, "VARCHAR") for name in aggregation.group_by}
        for measure in aggregation.measures:
            grouped[measure.name] = "BIGINT" if measure.function == "count" else "DOUBLE"
        columns = grouped
    return [Column(name=name, type=kind) for name, kind in columns.items()]


def reader(file_format: str, position: int) -> exp.Expr:
    """DuckDB's reader of a file in ``file_format`` at parameter ``$input_<position>``."""
    parameter = exp.Placeholder(this=f"input_{position}")
    return exp.Table(this=exp.Anonymous(this=READERS[file_format], expressions=[parameter]))


Combine = Literal["union", "join", "left_join"]


def combined(
    formats: Sequence[str], combine: Combine = "union", keys: Sequence[str] = ()
) -> exp.Query:
    """The rows of the input files: one file's, or several's stacked by column name
    (``union``) or joined on ``keys``."""
    readers = [reader(file_format, n) for n, file_format in enumerate(formats, start=1)]
    if len(readers) == 1 or combine == "union":
        selects = [exp.select(exp.Star()).from_(table) for table in readers]
        query: exp.Query = selects[0]
        for select in selects[1:]:
            query = exp.Union(this=query, expression=select, distinct=False, by_name=True)
        return query
    query = exp.select(exp.Star()).from_(exp.alias_(readers[0], "input_1", table=True))
    using: list[int | str | exp.Expr] = [identifier(key) for key in keys]
    for position, table in enumerate(readers[1:], start=2):
        query = query.join(
            exp.alias_(table, f"input_{position}", table=True),
            using=using,
            join_type="left" if combine == "left_join" else "inner",
        )
    return query


INPUTS = "inputs"
"""The DuckDB parameter of a list of files read as one (see :func:`stacked`)."""


def stacked(file_format: str) -> exp.Query:
    """The rows of the files at parameter ``$inputs`` (a list, as long as the files
    there are), all in ``file_format``, stacked by column name: files that may be
    absent at run time (a path a branch skipped) are left out of the list."""
    by_name = exp.EQ(this=exp.column("union_by_name"), expression=exp.true())
    files = exp.Anonymous(
        this=READERS[file_format], expressions=[exp.Placeholder(this=INPUTS), by_name]
    )
    return exp.select(exp.Star()).from_(exp.Table(this=files))


def transform_query(
    rows: exp.Query, operations: Sequence[Operation], aggregation: Aggregation | None
) -> exp.Query:
    """``WITH step_1 AS (rows), step_2 AS (...) ... SELECT * FROM step_n``: one step per
    operation, over the one before."""
    steps: list[exp.Query] = [rows]
    for operation in operations:
        steps.append(operation.step(f"step_{len(steps)}"))
    if aggregation is not None:
        steps.append(aggregation.step(f"step_{len(steps)}"))
    query = exp.select(exp.Star()).from_(f"step_{len(steps)}")
    for position, step in enumerate(steps, start=1):
        query = query.with_(f"step_{position}", as_=step)
    return query


def copy_statement(query: exp.Query, file_format: str) -> str:
    """``COPY (query) TO $output (FORMAT ...)``, for DuckDB."""
    return f"COPY ({query.sql(dialect='duckdb')}) TO ${OUTPUT} ({COPY_OPTIONS[file_format]})"
