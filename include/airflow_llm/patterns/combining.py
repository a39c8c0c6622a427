"""Combining tables: join one to another (``join_enrich``) or stack same-shaped ones
(``union``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

import sqlglot.expressions as exp
from pydantic import BaseModel, Field, field_validator, model_validator

from airflow_llm.patterns.base import (
    ParameterError,
    Pattern,
    Rendered,
    Scope,
    StrictParameters,
    array,
    choices,
    enum,
    narrowed,
    obj,
)
from airflow_llm.patterns.common import (
    NONE,
    columns_schema,
    date_name,
    distinct,
    expand_columns,
    mentions_interval,
    nearest_outputs,
    none_as_null,
    numeric_labels,
    output_column,
    ranked_tables,
    relation_named,
    rendered,
    require,
    require_temporal,
    rows_of_run,
    stamped,
    table_options,
    time_labels,
    unique_outputs,
)
from airflow_llm.patterns.context import Relation, TaskContext
from airflow_llm.patterns.linking import name_words
from airflow_llm.patterns.writes import in_interval
from airflow_llm.spec import Column
from airflow_llm.sql_types import family, is_temporal

NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
ARITHMETIC_CUES = (
    "convert", "converted", "times", "multipl", "divid", "ratio", "per unit", "plus", "minus",
    "rate", "share", "difference",
)  # fmt: skip
Arithmetic = Literal["*", "/", "+", "-"]


class KeyPair(StrictParameters):
    """``left = right``; a timestamp against a date compares the timestamp's date.
    Written as an object or as the text ``left = right``."""

    left: str
    right: str

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        if isinstance(data, str) and data.count(" = ") == 1:
            left, right = data.split(" = ")
            return {"left": left.strip(), "right": right.strip()}
        return data

    def __str__(self) -> str:
        return f"{self.left} = {self.right}"


class Computed(StrictParameters):
    """``left operator right AS name`` over number columns (the name comes from the
    spec's tests and words)."""

    name: str = Field(pattern=NAME)
    left: str
    operator: Arithmetic
    right: str


class JoinParameters(StrictParameters):
    """Join ``right`` to ``left`` on ``on`` and keep ``columns`` (and ``computed`` ones)."""

    left: str
    right: str
    how: Literal["inner", "left"]
    on: list[KeyPair] = Field(min_length=1, max_length=4)
    columns: list[str] = Field(min_length=1)
    computed: list[Computed] = Field(default_factory=list, max_length=4)
    time_column: str | None = None
    date_column: str = Field(pattern=NAME)

    _nulls = field_validator("time_column", mode="before")(none_as_null)


class UnionParameters(StrictParameters):
    """Stack ``tables`` (their shared columns), each row labelled in ``label_column``."""

    tables: list[str] = Field(min_length=2, max_length=12)
    label_column: str | None = None
    time_column: str | None = None
    date_column: str = Field(pattern=NAME)

    _nulls = field_validator("label_column", "time_column", mode="before")(none_as_null)


class JoinEnrich(Pattern[JoinParameters]):
    """Enrich one table with another's columns by key (inner or left join)."""

    name: ClassVar[str] = "join_enrich"
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "sql"
    summary: ClassVar[str] = (
        "join a table to another on key columns (inner or left) to add its columns, with "
        "optional computed columns (a times, divided by, plus or minus b)"
    )
    cues: ClassVar[tuple[str, ...]] = (
        "join", "joined", "enrich", "lookup", "look up", "with", "convert", "converted", "rate",
        "match", "combine", "both",
    )  # fmt: skip
    parameters: ClassVar[type[BaseModel]] = JoinParameters

    def applies(self, ctx: TaskContext) -> bool:
        return len(ctx.relations) >= 2

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        left = table_options(ctx)
        if len(left) == 2 and not ctx.repairing:  # "both tables", two named or upstream
            return obj({"left": enum(left[:1]), "right": enum(left[1:])})
        return obj({"left": enum(left), "right": enum(_enrichers(ctx, left[0]))})

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        scope = _join_scope(ctx, inputs.get("left"), inputs.get("right"))
        linked, pairs = _key_pairs(ctx, scope)
        budget = max(1, len(linked))
        left_join = "left" in ctx.text.stem_set or "keep all" in ctx.text.lowered
        properties: dict[str, dict[str, Any]] = {
            "on": choices(narrowed(ctx, linked, pairs), budget, budget),
            "how": enum(narrowed(ctx, ["left"] if left_join else ["inner"], ["inner", "left"])),
            "columns": columns_schema(ctx, scope, _join_columns(scope)),
        }
        computed = _computed_schema(ctx, scope)
        if computed is not None:
            properties["computed"] = computed
        (left_alias, left), _ = scope.tables
        times = [_label(scope, left_alias, t) for t in time_labels(ctx, Scope.of([left]))]
        if mentions_interval(ctx.text):
            properties["time_column"] = enum(narrowed(ctx, times[:1], [*times, NONE]))
        else:
            properties["time_column"] = enum([NONE, *times])
        return obj(properties)

    def complete(self, answer: Mapping[str, Any], ctx: TaskContext) -> dict[str, Any]:
        scope = _join_scope(ctx, answer.get("left"), answer.get("right"))
        taken = [label.rsplit(".", 1)[-1] for label in scope.labels()]
        candidates = ctx.output_names([], taken)
        computed: list[dict[str, Any]] = []
        for item in answer.get("computed", []):
            words = set(name_words(str(item.get("left", ""))))
            free = [c for c in candidates if c not in [x["name"] for x in computed]]
            name = next((c for c in free if words & set(name_words(c))), None)
            default = f"{str(item.get('left', 'value')).rsplit('.', 1)[-1]}_computed"
            computed.append({**item, "name": name or default})
        time = answer.get("time_column")
        date = date_name(None if time in (None, NONE) else str(time), taken)[0]
        return {**answer, "computed": computed, "date_column": date}

    def render(self, params: JoinParameters, ctx: TaskContext) -> Rendered:
        scope = _join_scope(ctx, params.left, params.right)
        (left_alias, _), (right_alias, right) = scope.tables
        conditions = [
            _key_condition(scope, pair, left_alias, right_alias, ctx.dialect) for pair in params.on
        ]
        selected: list[exp.Expr] = []
        outputs: list[Column] = []
        if params.time_column is None:
            stamp, stamp_column = stamped(params.date_column)
            selected, outputs = [stamp], [stamp_column]
        labels = expand_columns(params.columns, _join_columns(scope))
        if params.time_column is not None and params.time_column not in labels:
            labels.append(params.time_column)
        for label in labels:
            expression, output = output_column(scope, label)
            selected.append(expression)
            outputs.append(output)
        for item in params.computed:
            expression, output = _computed(scope, item, ctx.dialect)
            selected.append(expression)
            outputs.append(output)
        unique_outputs(outputs)
        query = exp.select(*selected).from_(scope.from_(ctx.in_schema))
        query = query.join(
            scope.aliased(right_alias, right, ctx.in_schema),
            on=exp.and_(*conditions),
            join_type=params.how,
        )
        time_output = None
        if params.time_column is not None:
            require_temporal(scope, params.time_column, ctx.dialect)
            time = scope.column(params.time_column)
            query = query.where(in_interval(scope.expr(params.time_column), time.type, ctx.dialect))
            time_output = time.name
        return rendered(ctx, rows_of_run(ctx, outputs, query, time_output), outputs)


class Union(Pattern[UnionParameters]):
    """Same-shaped tables stacked, each row labelled with where it came from."""

    name: ClassVar[str] = "union"
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "sql"
    summary: ClassVar[str] = (
        "stack the rows of several tables with the same columns (union, append, merge "
        "regional or partitioned tables), labelling each row with its table"
    )
    cues: ClassVar[tuple[str, ...]] = (
        "union", "stack", "append", "combine", "consolidate", "merge them", "three", "all",
        "tables", "regions", "regional",
    )  # fmt: skip
    parameters: ClassVar[type[BaseModel]] = UnionParameters

    def applies(self, ctx: TaskContext) -> bool:
        return len(ctx.relations) >= 2

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        tables = ranked_tables(ctx)
        nearest = [name for name in tables if name in nearest_outputs(ctx)]
        counts = [n for n in ctx.text.numbers if isinstance(n, int) and 2 <= n <= 12]
        wanted = counts[0] if counts else max(2, len(nearest))
        offered = narrowed(ctx, nearest if len(nearest) >= 2 else [], tables)
        return obj({"tables": choices(offered, min(wanted, len(offered)), wanted)})

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        relations = [relation_named(ctx, str(name)) for name in inputs.get("tables", [])]
        shared = _shared_columns(relations)
        temporal = [name for name, declared in shared if is_temporal(declared, ctx.dialect)]
        ranked = ctx.text.rank_names(temporal)
        if mentions_interval(ctx.text):
            return obj({"time_column": enum(narrowed(ctx, ranked[:1], [*ranked, NONE]))})
        return obj({"time_column": enum([NONE, *ranked])})

    def complete(self, answer: Mapping[str, Any], ctx: TaskContext) -> dict[str, Any]:
        relations = [relation_named(ctx, str(name)) for name in answer.get("tables", [])]
        taken = [name for name, _ in _shared_columns(relations)]
        named = [name for name in ctx.text.identifiers() if name not in taken]
        said = "column" in ctx.text.stem_set or "label" in ctx.text.stem_set
        expected = [name for name in ctx.expected_columns if name not in taken]
        label = (
            (named[:1] if said else []) or expected[:1] or ([] if not said else ["source_table"])
        )
        time = answer.get("time_column")
        date = date_name(None, taken)[0]
        return {
            **answer,
            "label_column": label[0] if label else None,
            "time_column": None if time in (None, NONE) else time,
            "date_column": date,
        }

    def render(self, params: UnionParameters, ctx: TaskContext) -> Rendered:
        tables = distinct(params.tables)
        require(len(tables) >= 2, "a union needs two or more different tables")
        relations = [relation_named(ctx, name) for name in tables]
        shared = _shared_columns(relations)
        require(bool(shared), f"{', '.join(tables)} share no column")
        outputs: list[Column] = []
        if params.time_column is None:
            outputs.append(Column(name=params.date_column, type="DATE"))
        if params.label_column is not None:
            outputs.append(Column(name=params.label_column, type="VARCHAR"))
        outputs += [Column(name=name, type=declared) for name, declared in shared]
        unique_outputs(outputs)
        if params.time_column is not None:
            require(
                params.time_column in [name for name, _ in shared],
                f"{params.time_column!r} is not in every table",
            )
        labels = _labels(tables)
        queries: list[exp.Select] = []
        for relation, label in zip(relations, labels, strict=True):
            selected: list[exp.Expr] = []
            if params.time_column is None:
                selected.append(stamped(params.date_column)[0])
            if params.label_column is not None:
                selected.append(exp.alias_(exp.Literal.string(label), params.label_column))
            selected += [exp.column(name) for name, _ in shared]
            query = exp.select(*selected).from_(relation.table(ctx.in_schema))
            if params.time_column is not None:
                declared = dict(shared)[params.time_column]
                query = query.where(
                    in_interval(exp.column(params.time_column), declared, ctx.dialect)
                )
            queries.append(query)
        union: exp.Query = queries[0]
        for query in queries[1:]:
            union = exp.union(union, query, distinct=False)
        return rendered(ctx, rows_of_run(ctx, outputs, union, params.time_column), outputs)


def _join_scope(ctx: TaskContext, left: Any, right: Any) -> Scope:
    first, second = relation_named(ctx, str(left)), relation_named(ctx, str(right))
    if first.name == second.name:
        raise ParameterError(["right must be another table than left"])
    return Scope.of([first, second])


def _label(scope: Scope, alias: str, name: str) -> str:
    """The label of ``alias``'s column ``name`` in ``scope``."""
    return next(
        label
        for label in scope.labels()
        if scope.resolve(label) == (alias, scope.column(f"{alias}.{name}"))
    )


def _temporal(relation: Relation, ctx: TaskContext) -> bool:
    return any(is_temporal(column.type, ctx.dialect) for column in relation.columns)


def _temporal_labels(scope: Scope, labels: Sequence[str], ctx: TaskContext) -> list[str]:
    return [label for label in labels if is_temporal(scope.column(label).type, ctx.dialect)]


def _key_condition(
    scope: Scope, pair: KeyPair, left_alias: str, right_alias: str, dialect: str
) -> exp.Expr:
    left, right = scope.resolve(pair.left), scope.resolve(pair.right)
    require(
        left is not None and left[0] == left_alias,
        f"on.left {pair.left!r} is not a column of the left table",
    )
    require(
        right is not None and right[0] == right_alias,
        f"on.right {pair.right!r} is not a column of the right table",
    )
    assert left is not None
    assert right is not None
    kinds = {family(left[1].type, dialect), family(right[1].type, dialect)}
    left_value: exp.Expr = scope.expr(pair.left)
    right_value: exp.Expr = scope.expr(pair.right)
    if kinds == {"date", "timestamp"}:  # the timestamp's day
        day = exp.DataType.build("DATE")
        left_value = exp.Cast(this=left_value, to=day)
        right_value = exp.Cast(this=right_value, to=day)
    elif len(kinds) == 2 and not kinds <= {"integer", "decimal"}:
        raise ParameterError(
            [f"on {pair.left} = {pair.right}: {' and '.join(sorted(kinds))} do not compare"]
        )
    return exp.EQ(this=left_value, expression=right_value)


def _computed(scope: Scope, item: Computed, dialect: str) -> tuple[exp.Expr, Column]:
    left, right = scope.column(item.left), scope.column(item.right)
    for label, column in ((item.left, left), (item.right, right)):
        require(
            family(column.type, dialect) in ("integer", "decimal"),
            f"computed {item.name}: {label} is no number column",
        )
    builders: dict[str, type[exp.Binary]] = {"*": exp.Mul, "/": exp.Div, "+": exp.Add, "-": exp.Sub}
    value = builders[item.operator](this=scope.expr(item.left), expression=scope.expr(item.right))
    if item.operator == "/":
        value = exp.Div(
            this=exp.Cast(this=scope.expr(item.left), to=exp.DataType.build("DOUBLE")),
            expression=exp.Nullif(this=scope.expr(item.right), expression=exp.Literal.number(0)),
        )
    kind = "DOUBLE" if item.operator in ("*", "/") else left.type
    return exp.alias_(value, item.name), Column(name=item.name, type=kind)


def _shared_columns(relations: Sequence[Relation]) -> list[tuple[str, str]]:
    """Columns every relation has (the first one's order and types)."""
    if not relations:
        return []
    first = relations[0]
    return [
        (column.name, column.type)
        for column in first.columns
        if all(other.column(column.name) is not None for other in relations[1:])
    ]


def _labels(tables: Sequence[str]) -> list[str]:
    """What tells the tables apart: their names without the parts they share
    (``stg_sales_emea``, ``stg_sales_amer`` -> ``emea``, ``amer``)."""
    parts = [name.lower().replace(".", "_").split("_") for name in tables]
    prefix = _common_length(parts)
    suffix = _common_length([list(reversed(p)) for p in parts])
    labels = []
    for name, split in zip(tables, parts, strict=True):
        middle = split[prefix : len(split) - suffix] if prefix + suffix < len(split) else split
        labels.append("_".join(middle) or name)
    return labels


def _common_length(lists: Sequence[Sequence[str]]) -> int:
    """How many leading items all ``lists`` share."""
    length = 0
    for items in zip(*lists, strict=False):
        if len(set(items)) != 1:
            break
        length += 1
    return length


def _join_columns(scope: Scope) -> list[str]:
    """What ``*`` keeps of a join: every column of the left table, and the right table's
    columns whose names the left one does not have."""
    (left_alias, left), _ = scope.tables
    return [
        label
        for label in scope.labels()
        if scope.alias_of(label) == left_alias or left.column(label.rsplit(".", 1)[-1]) is None
    ]


def _enrichers(ctx: TaskContext, left: str) -> list[str]:
    """Tables to join to ``left``: ones sharing a column with it that add columns (a
    table with the same columns adds nothing), best-linked first."""
    base = ctx.relation(left)
    ranked = ranked_tables(ctx)
    if base is None:
        return ranked
    adding = [
        name
        for name in ranked
        if (other := ctx.relation(name)) is not None
        and name != left
        and set(other.column_names) != set(base.column_names)
        and set(other.column_names) & set(base.column_names)
    ]
    return narrowed(ctx, adding, [name for name in ranked if name != left])


ARITHMETIC = {
    "*": ("times", "multipl", "convert", "rate", "price"),
    "/": ("divid", "ratio", "per unit", "share", "average price"),
    "+": ("plus", "add", "sum of"),
    "-": ("minus", "difference", "subtract", "net of"),
}


def _key_pairs(ctx: TaskContext, scope: Scope) -> tuple[list[str], list[str]]:
    """Join conditions the tables suggest (same-named columns; a date against a timestamp
    when the task speaks of days), and every comparable pair."""
    (left_alias, left), (right_alias, right) = scope.tables
    shared = [name for name in left.column_names if right.column(name) is not None]
    linked = [f"{_label(scope, left_alias, n)} = {_label(scope, right_alias, n)}" for n in shared]
    kinds = {label: family(scope.column(label).type, ctx.dialect) for label in scope.labels()}
    left_labels = [lb for lb in scope.labels() if scope.alias_of(lb) == left_alias]
    right_labels = [lb for lb in scope.labels() if scope.alias_of(lb) == right_alias]
    if mentions_interval(ctx.text):
        temporal = {"date", "timestamp"}
        left_times = [lb for lb in left_labels if kinds[lb] in temporal]
        right_times = [lb for lb in right_labels if kinds[lb] in temporal]
        linked += [
            f"{a} = {b}"
            for a in left_times[:1]
            for b in right_times[:1]
            if a.rsplit(".", 1)[-1] not in shared
        ]
    comparable = [
        f"{a} = {b}"
        for a in left_labels
        for b in right_labels
        if kinds[a] == kinds[b] or {kinds[a], kinds[b]} <= {"integer", "decimal"}
    ]
    return distinct(linked), distinct([*linked, *comparable])


def _computed_schema(ctx: TaskContext, scope: Scope) -> dict[str, Any] | None:
    """The ``computed`` property when the description asks for arithmetic ("converted",
    "times"...): a number column of each table and an operator (names come from the
    spec, see :meth:`JoinEnrich.complete`)."""
    cued = [op for op, cues in ARITHMETIC.items() if any(cue in ctx.text.lowered for cue in cues)]
    if not cued:
        return None
    (left_alias, _), _ = scope.tables
    numbers = numeric_labels(ctx, scope)
    if not numbers:
        return None
    lefts = [label for label in numbers if scope.alias_of(label) == left_alias]
    rights = [label for label in numbers if label not in lefts]
    inputs = {label.rsplit(".", 1)[-1] for label in scope.labels()}
    named = {w for name in ctx.output_names([]) if name not in inputs for w in name_words(name)}
    lefts = [label for label in lefts if set(name_words(label)) & named] or lefts
    item = obj(
        {
            "left": enum(narrowed(ctx, lefts, numbers)),
            "operator": enum(narrowed(ctx, cued[:1], list(ARITHMETIC))),
            "right": enum(narrowed(ctx, rights, numbers)),
        }
    )
    return array(item, 1, 1)
