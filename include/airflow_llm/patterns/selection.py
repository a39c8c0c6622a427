"""The ``select`` pattern: one read-only query that answers a question about tables.

It is how hybrid generation answers natural-language questions (``make eval``'s NL ->
SQL sets): output columns, aggregates, filters, grouping, a HAVING bound, ordering and
a limit, over one table or two joined on their shared key. Linking reads the question
the way text-to-SQL systems do: the tables and columns its words name, aggregates
("how many", "average"), groups ("per", "each"), values it quotes or that are values of
a column (when the database's values are known), missing values ("without an email"),
orderings ("alphabetical", "largest first"), counts ("which two").
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

import sqlglot.expressions as exp
from pydantic import BaseModel, Field, field_validator

from airflow_llm.patterns.aggregation import ALL_ROWS, FUNCTIONS, Function
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
    distinct,
    filter_conditions,
    none_as_null,
    ranked_labels,
    ranked_tables,
    relation_named,
    require,
)
from airflow_llm.patterns.context import TaskContext
from airflow_llm.patterns.linking import (
    Text,
    aggregations,
    grouping_phrases,
    link,
    name_words,
    stem,
)
from airflow_llm.patterns.predicates import Predicate
from airflow_llm.sql_types import family, sqlglot_dialect

QUESTION = "question"
"""The kind of task the select pattern serves (a question, not a pipeline task)."""
_LIST_CUES = ("list", "which", "what", "give", "show", "name", "names")
_DESCENDING = ("largest", "most", "highest", "biggest", "top", "descending", "latest", "newest")
_ASCENDING = ("alphabetical", "ascending", "smallest", "lowest", "earliest", "oldest", "by month")
_NEGATION = ("leave out", "ignore", "exclude", "except", "without counting", "not counting")
_COUNT_WORDS = {"two": 2, "three": 3, "four": 4, "five": 5, "ten": 10}


class Aggregate(StrictParameters):
    """``function(column)``; ``count`` may take ``*`` (rows)."""

    function: Function
    column: str


class Having(StrictParameters):
    """A bound on an aggregate of each group: ``COUNT(*) > 1``."""

    function: Function
    column: str
    operator: Literal[">", ">=", "<", "<=", "="]
    value: float


class SelectParameters(StrictParameters):
    """One query over ``table`` (joined to ``join`` on their shared columns)."""

    table: str
    join: str | None = None
    columns: list[str] = Field(default_factory=list, max_length=6)
    aggregates: list[Aggregate] = Field(default_factory=list, max_length=4)
    filters: list[Predicate] = Field(default_factory=list, max_length=6)
    having: Having | None = None
    order_by: str | None = None
    """An output column's label, or ``aggregate`` (the first aggregate)."""
    descending: bool = False
    limit: int | None = Field(default=None, ge=1, le=1000)
    distinct: bool = False

    _nulls = field_validator("join", "order_by", "having", mode="before")(none_as_null)


class Select(Pattern[SelectParameters]):
    """A read-only query answering a question."""

    name: ClassVar[str] = "select"
    version: ClassVar[int] = 1
    kind: ClassVar[str] = QUESTION
    summary: ClassVar[str] = (
        "one query: chosen columns and aggregates of a table (or two joined on their shared "
        "key), filtered, grouped, ordered and limited"
    )
    parameters: ClassVar[type[BaseModel]] = SelectParameters

    def input_schema(self, ctx: TaskContext) -> dict[str, Any]:
        tables = ranked_tables(ctx)
        text = Text(_ORDER_IDIOM.sub(" ", ctx.task.description))  # "alphabetical order"
        named = [name for name in tables if text.mentions(name) >= 2.0]
        owners = _column_owners(ctx, text)
        main = _main_table(ctx, named) or owners[:1] or tables[:1]
        joins = [name for name in named if name not in main and _shared(ctx, main[0], name)]
        joins += [n for n in _column_tables(ctx, main[0]) if n not in joins and n not in main]
        return obj(
            {
                "table": enum(narrowed(ctx, main, tables)),
                "join": enum(narrowed(ctx, joins[:1] or [NONE], [NONE, *tables])),
            }
        )

    def parameter_schema(self, ctx: TaskContext, inputs: Mapping[str, Any]) -> dict[str, Any]:
        scope, _ = _scope(ctx, inputs.get("table"), inputs.get("join"))
        labels = scope.labels(_shared(ctx, str(inputs.get("table")), inputs.get("join")))
        ranked = ranked_labels(ctx, scope, labels)
        superlative = _superlative(ctx, labels)
        asked = [
            a
            for a in _asked_aggregates(ctx, labels)
            if superlative is None or a[1] != superlative[0]
        ]
        groups = _groups(ctx, labels)
        subject = _subject_columns(ctx, scope, labels)
        outputs = groups or ([] if asked and not _lists(ctx.text) else subject)
        if asked and groups:
            outputs = distinct([*subject, *groups]) if _lists(ctx.text) else groups
        unknown = not outputs and not asked  # nothing linked: the model chooses
        properties: dict[str, dict[str, Any]] = {
            "columns": choices(
                narrowed(ctx, outputs, ranked),
                1 if unknown else len(outputs),
                2 if unknown else max(len(outputs), 1 if ctx.repairing else 0),
            ),
            "aggregates": array(
                obj(
                    {
                        "function": enum(narrowed(ctx, [f for f, _ in asked], FUNCTIONS)),
                        "column": enum(narrowed(ctx, [c for _, c in asked], [ALL_ROWS, *labels])),
                    }
                ),
                len(asked),
                max(len(asked), 1 if ctx.repairing else 0),
            ),
        }
        stated = [str(p) for p in _stated_filters(ctx, scope, labels)]
        properties["filters"] = choices(stated, len(stated), len(stated))
        having = _having(ctx, labels)
        properties["having"] = enum(narrowed(ctx, [having] if having else [NONE], [NONE]))
        order: str | None
        limit: int | None
        if superlative is not None:
            order, descending, limit = superlative[0], superlative[1], 1
        else:
            order, descending = _order(ctx, outputs, asked)
            limit = _limit(ctx)
        if having or (asked and outputs):  # a NULL is no value to list or group by
            stated += [f"{c} is not null" for c in outputs if f"{c} is not null" not in stated]
            properties["filters"] = choices(stated, len(stated), len(stated))
        properties["order_by"] = enum(narrowed(ctx, [order or NONE], [NONE, *labels, "aggregate"]))
        properties["descending"] = enum(narrowed(ctx, [descending], [False, True]))
        properties["limit"] = enum(
            narrowed(ctx, [limit if limit else NONE], [NONE, 1, 2, 3, 5, 10])
        )
        return obj(properties)

    def complete(self, answer: Mapping[str, Any], ctx: TaskContext) -> dict[str, Any]:
        values = dict(answer)
        if isinstance(values.get("having"), str) and values["having"] != NONE:
            values["having"] = _having_from_text(values["having"])
        if values.get("limit") == NONE:
            values["limit"] = None
        return values

    def render(self, params: SelectParameters, ctx: TaskContext) -> Rendered:
        scope, shared = _scope(ctx, params.table, params.join)
        selected: list[exp.Expr] = [scope.expr(label) for label in distinct(params.columns)]
        aggregates = [_aggregate(item, scope, ctx) for item in distinct(params.aggregates)]
        selected += [
            exp.alias_(value, f"{item.function}_{index}")
            for index, (item, value) in enumerate(zip(params.aggregates, aggregates, strict=False))
        ]
        require(bool(selected), "the query selects nothing: name a column or an aggregate")
        query = exp.select(*selected).from_(scope.from_(False))
        if params.join is not None:
            (left, _), (right, relation) = scope.tables
            on = exp.and_(
                *[exp.EQ(this=exp.column(k, left), expression=exp.column(k, right)) for k in shared]
            )
            query = query.join(scope.aliased(right, relation, False), on=on, join_type="inner")
        conditions = filter_conditions(params.filters, scope, ctx.dialect)
        if conditions:
            query = query.where(exp.and_(*conditions))
        if (aggregates or params.having is not None) and params.columns:
            query = query.group_by(*[scope.expr(label) for label in distinct(params.columns)])
        if params.having is not None:
            bound = _aggregate(
                Aggregate(function=params.having.function, column=params.having.column), scope, ctx
            )
            builders: dict[str, type[exp.Binary]] = {
                ">": exp.GT,
                ">=": exp.GTE,
                "<": exp.LT,
                "<=": exp.LTE,
                "=": exp.EQ,
            }
            query = query.having(
                builders[params.having.operator](
                    this=bound, expression=exp.Literal.number(params.having.value)
                )
            )
        if params.order_by is not None:
            key: exp.Expr = (
                aggregates[0]
                if params.order_by == "aggregate" and aggregates
                else scope.expr(params.order_by)
            )
            query = query.order_by(exp.Ordered(this=key, desc=params.descending))
        if params.limit is not None:
            query = query.limit(params.limit)
        if params.distinct:
            query = query.distinct()
        return Rendered(query.sql(dialect=sqlglot_dialect(ctx.dialect), pretty=True) + "\n")


def _scope(ctx: TaskContext, table: Any, join: Any) -> tuple[Scope, list[str]]:
    main = relation_named(ctx, str(table))
    if join in (None, NONE):
        return Scope.of([main]), []
    other = relation_named(ctx, str(join))
    if other.name == main.name:
        raise ParameterError(["join must be another table"])
    shared = _shared(ctx, main.name, other.name)
    require(bool(shared), f"{main.name} and {other.name} share no column to join on")
    return Scope.of([main, other]), shared


def _shared(ctx: TaskContext, first: str, second: Any) -> list[str]:
    """Columns two tables share that look like keys (``*_id``), else any they share."""
    a, b = ctx.relation(first), ctx.relation(str(second)) if second not in (None, NONE) else None
    if a is None or b is None:
        return []
    both = [name for name in a.column_names if b.column(name) is not None]
    keys = [name for name in both if name.endswith(("_id", "_key")) or name == "id"]
    return keys or both


def _main_table(ctx: TaskContext, named: Sequence[str]) -> list[str]:
    """The table whose rows the question counts or lists: the first named after "how
    many" / "which" / "list", else the first named."""
    lowered = ctx.text.lowered
    positions = []
    for name in named:
        words = name_words(name)
        found = [lowered.find(w) for w in words if lowered.find(w) >= 0]
        positions.append((min(found) if found else len(lowered), name))
    return [min(positions)[1]] if positions else []


_ORDER_IDIOM = re.compile(
    r"\b(?:alphabetical|descending|ascending|reverse|chronological)\s+order\b", re.I
)


def _column_owners(ctx: TaskContext, text: Text) -> list[str]:
    """Tables ranked by how many of their columns the question names (when it names no
    table: "how many different genres" is a question about the table with ``genre``)."""
    scored = [
        (sum(text.mentions(c) >= 2.0 for c in r.column_names if not c.endswith("_id")), r.name)
        for r in ctx.relations
    ]
    return [name for score, name in sorted(scored, key=lambda pair: -pair[0]) if score > 0]


def _column_tables(ctx: TaskContext, main: str) -> list[str]:
    """Tables (sharing a key with ``main``) that own a column the question names and
    ``main`` lacks."""
    base = ctx.relation(main)
    found = []
    for relation in ctx.relations:
        if base is None or relation.name == main or not _shared(ctx, main, relation.name):
            continue
        own = [c for c in relation.column_names if base.column(c) is None]
        if any(ctx.text.mentions(c) >= 2.5 for c in own):
            found.append(relation.name)
    return found


def _lists(text: Text) -> bool:
    return any(cue in text.stem_set for cue in _LIST_CUES)


def _asked_aggregates(ctx: TaskContext, labels: Sequence[str]) -> list[tuple[str, str]]:
    """(function, column label) of the aggregates the question asks for."""
    asked: list[tuple[str, str]] = []
    for aggregation in aggregations(ctx.task.description):
        column = ALL_ROWS
        if aggregation.function != "count" or _counts_values(aggregation.phrase, labels):
            column = link(aggregation.phrase, labels) or ALL_ROWS
        if aggregation.function in ("sum", "avg", "min", "max") and column == ALL_ROWS:
            continue
        if aggregation.function == "count_distinct" and column == ALL_ROWS:
            continue
        asked.append((aggregation.function, column))
    return distinct(asked)[:2]


def _counts_values(phrase: str, labels: Sequence[str]) -> bool:
    """Whether "how many <phrase>" counts a column's values rather than rows."""
    found = link(phrase, labels)
    return found is not None and not found.endswith("_id")


def _groups(ctx: TaskContext, labels: Sequence[str]) -> list[str]:
    """Columns the question groups by: "per status", "for each country"."""
    return distinct(
        [
            found
            for phrase in grouping_phrases(ctx.task.description)
            if (found := link(phrase, labels))
        ]
    )


def _subject_columns(ctx: TaskContext, scope: Scope, labels: Sequence[str]) -> list[str]:
    """The columns a question asks to see: those its parentheses name ("which products
    (names)"), else the noun after "which", "list the", "what is the"... linked to a
    column, or to a table and then that table's name-like column or key."""
    text = ctx.task.description
    hints = re.findall(r"\(([^)]{1,40})\)", text)
    found = [
        c for hint in hints for part in re.split(r",|\band\b", hint) if (c := link(part, labels))
    ]
    if found:
        return distinct(found)[:3]
    columns: list[str] = []
    for match in re.finditer(
        r"\b(?:which|list(?: the)?|what (?:is|are) the|give(?: the| its| their)?|show(?: the)?)\s+"
        r"((?:\w+\s+){0,2}\w+)",
        text,
        re.IGNORECASE,
    ):
        phrase = re.split(rf"\b(?:{_VERB_WORDS}|and|of)\b", match.group(1).lower())[0].strip()
        words = phrase.split()
        if not words or words[0] in _AGGREGATE_WORDS:
            continue  # "the total amount": an aggregate, not a column to show
        column = link(phrase, [label for label in labels if not label.endswith("_id")])
        if column is not None and ctx.text.mentions(column) >= 1.0:
            columns.append(column)
            continue
        for alias, relation in scope.tables:
            if stem(words[-1]) in name_words(relation.name):
                named = [c for c in relation.column_names if "name" in c or c == "title"]
                keys = [c for c in relation.column_names if c.endswith("_id")]
                chosen = (named or keys)[:1]
                columns += [
                    label
                    for label in labels
                    if chosen and scope.resolve(label) == (alias, relation.column(chosen[0]))
                ]
                break
    return distinct(columns)[:3]


_AGGREGATE_WORDS = frozenset(
    [
        "total",
        "average",
        "sum",
        "number",
        "count",
        "mean",
        "maximum",
        "minimum",
        "highest",
        "lowest",
        "amount",
        "percentage",
    ]
)
_VERB_WORDS = "is|are|was|were|have|has|had|do|does|did|belong|contain|placed|sold|spent|come"


def _stated_filters(ctx: TaskContext, scope: Scope, labels: Sequence[str]) -> list[Predicate]:
    """Values of a column the question names (quoted, a code, or a known value), ids
    ("order 108") and missing values it speaks of ("no email", "without a customer")."""
    text = ctx.text
    found: list[Predicate] = []
    for label in labels:
        resolved = scope.resolve(label)
        column = scope.column(label)
        if resolved is None or family(column.type, ctx.dialect) != "text":
            continue
        table = dict(scope.tables)[resolved[0]].name
        known = ctx.values.get(f"{table}.{column.name}", ())
        said = [
            v
            for v in known
            if re.search(rf"(?<![\w-]){re.escape(v.lower())}(?![\w-])", text.lowered)
        ]
        said += [v for v in [*text.quoted, *text.codes] if v in known and v not in said]
        if said:
            value: Any = said[0] if len(said) == 1 else said
            operator = "=" if len(said) == 1 else "in"
            found.append(
                Predicate.model_validate({"column": label, "operator": operator, "value": value})
            )
    for match in re.finditer(r"\b([a-z]+)\s+(\d+)\b", text.lowered):  # "order 108"
        key = next(
            (lb for lb in labels if lb.rsplit(".", 1)[-1] == f"{stem(match.group(1))}_id"), None
        )
        if key is not None:
            found.append(Predicate(column=key, operator="=", value=int(match.group(2))))
    for match in re.finditer(r"\b(?:not|never)\s+(?:been\s+|yet\s+)?(\w+)", text.lowered):
        verb = stem(match.group(1))  # "not been returned": no return date yet
        for label in labels:
            column = scope.column(label)
            if (
                verb[:5] in "_".join(name_words(label))
                and column.nullable
                and not label.endswith("_id")
            ):
                found.append(Predicate(column=label, operator="is null"))
    numbers = [
        lb for lb in labels if family(scope.column(lb).type, ctx.dialect) in ("integer", "decimal")
    ]
    for match in re.finditer(
        r"\b(\w+)\s+(before|after|above|below|over|under|more than|less than)\s+(\d+(?:\.\d+)?)\b",
        text.lowered,
    ):
        compared = link(match.group(1), [lb for lb in numbers if not lb.endswith("_id")])
        if compared is not None:
            operator = "<" if match.group(2) in ("before", "below", "under", "less than") else ">"
            number = float(match.group(3))
            value = int(number) if number.is_integer() else number
            found.append(
                Predicate.model_validate({"column": compared, "operator": operator, "value": value})
            )
    found += _date_ranges(ctx, scope, labels)
    negated = any(cue in text.lowered for cue in _NEGATION)
    for label in labels:
        words = name_words(label)
        head = re.escape(words[-1]) if words else ""
        if not head:
            continue
        missing = re.search(
            rf"\b(?:no|without an?|without)\s+(?:\w+\s+)?{head}\b"
            rf"|\b{head}\w*\s+is\s+(?:unknown|missing|null)",
            text.lowered,
        )
        present = re.search(rf"\b(?:have|has|with)\s+an?\s+{head}\b", text.lowered)
        if label.endswith("_id") and not re.search(rf"without an? {head}\b", text.lowered):
            continue
        if missing:
            found.append(Predicate(column=label, operator="is not null" if negated else "is null"))
        elif present:
            found.append(Predicate(column=label, operator="is not null"))
    return list({str(predicate): predicate for predicate in found}.values())[:6]


_MONTHS = {
    name: number
    for number, name in enumerate(
        [
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ],
        1,
    )
}


def _date_ranges(ctx: TaskContext, scope: Scope, labels: Sequence[str]) -> list[Predicate]:
    """ "in March 2024", "in 2023", "between January 1 and March 31, 2024": a range on
    the date column the question's verb names ("borrowed" -> ``borrowed_date``), else on
    the only date column."""
    lowered = ctx.text.lowered
    dates = [
        lb for lb in labels if family(scope.column(lb).type, ctx.dialect) in ("date", "timestamp")
    ]
    if not dates:
        return []
    verbs = set(Text(lowered).stems)
    column = next((lb for lb in dates if set(name_words(lb)) & verbs), None)
    column = column or next(
        (lb for lb in dates if any(w[:5] in lb for w in verbs if len(w) > 4)), None
    )
    column = column or (dates[0] if len(dates) == 1 else None)
    if column is None:
        return []
    months = "|".join(_MONTHS)
    between = re.search(
        rf"between ({months}) (\d{{1,2}}) and ({months}) (\d{{1,2}}),? (\d{{4}})", lowered
    )
    if between:
        year = int(between.group(5))
        start = f"{year}-{_MONTHS[between.group(1)]:02d}-{int(between.group(2)):02d}"
        end = f"{year}-{_MONTHS[between.group(3)]:02d}-{int(between.group(4)):02d}"
        return [
            Predicate(column=column, operator=">=", value=start),
            Predicate(column=column, operator="<=", value=end),
        ]
    month = re.search(rf"\bin ({months}) (\d{{4}})\b", lowered)
    if month:
        year, number = int(month.group(2)), _MONTHS[month.group(1)]
        following = f"{year + number // 12}-{number % 12 + 1:02d}-01"
        return [
            Predicate(column=column, operator=">=", value=f"{year}-{number:02d}-01"),
            Predicate(column=column, operator="<", value=following),
        ]
    year_only = re.search(r"\b(?:in|of|during) (\d{4})\b", lowered)
    if year_only:
        year = int(year_only.group(1))
        return [
            Predicate(column=column, operator=">=", value=f"{year}-01-01"),
            Predicate(column=column, operator="<", value=f"{year + 1}-01-01"),
        ]
    return []


def _having(ctx: TaskContext, labels: Sequence[str]) -> str | None:
    """``count(*) > 1`` for "more than one ...", ``count_distinct(x) > 1`` for "more than
    one different x"."""
    match = re.search(
        r"\b(more than|at least)\s+(one|two|three|four|five|\d+)\s+"
        r"(different\s+|distinct\s+)?(\w+)",
        ctx.text.lowered,
    )
    if match is None:
        return None
    word = match.group(2)
    number = 1 if word == "one" else _COUNT_WORDS.get(word) or int(word)
    operator = ">" if match.group(1) == "more than" else ">="
    if match.group(3):
        column = link(match.group(4), labels)
        return f"count_distinct({column}) {operator} {number}" if column else None
    return f"count(*) {operator} {number}"


def _having_from_text(text: str) -> dict[str, Any]:
    match = re.match(r"^(\w+)\(([^)]*)\) (>=|<=|>|<|=) (-?[\d.]+)$", text)
    if match is None:
        raise ParameterError([f"not a bound: {text!r}"])
    return {
        "function": match.group(1),
        "column": match.group(2),
        "operator": match.group(3),
        "value": float(match.group(4)),
    }


def _superlative(ctx: TaskContext, labels: Sequence[str]) -> tuple[str, bool] | None:
    """ "the product with the highest list price": the row with the greatest value, an
    ordering (column, descending) rather than an aggregate."""
    match = re.search(
        r"\b(?:with|has|have|had) the (highest|largest|biggest|most|greatest|lowest|smallest|"
        r"least|earliest|latest|oldest|newest)\s+((?:\w+\s+){0,2}\w+)",
        ctx.text.lowered,
    )
    if match is None:
        return None
    column = link(match.group(2), labels)
    if column is None:
        return None
    return column, match.group(1) not in ("lowest", "smallest", "least", "earliest", "oldest")


def _order(
    ctx: TaskContext, outputs: Sequence[str], asked: Sequence[tuple[str, str]]
) -> tuple[str | None, bool]:
    """What the question orders by and whether descending."""
    lowered = ctx.text.lowered
    descending = any(re.search(rf"\b{cue}\b", lowered) for cue in _DESCENDING)
    ascending = any(cue in lowered for cue in _ASCENDING)
    ordered = re.search(r"\b(?:in \w+ order|order by|ordered|sorted|by \w+ order)\b", lowered)
    if not (descending or ascending or ordered or _limit(ctx)):
        return None, False
    if asked and (descending or _limit(ctx)):
        return "aggregate", descending or not ascending
    return (outputs[0] if outputs else None), descending


def _limit(ctx: TaskContext) -> int | None:
    """How many rows the question asks for: "which two", "the customer who spent the
    most"."""
    lowered = ctx.text.lowered
    match = re.search(r"\b(?:which|top|first|the)\s+(two|three|four|five|ten|\d+)\b", lowered)
    if match:
        word = match.group(1)
        return _COUNT_WORDS.get(word) or int(word)
    most = (
        r"(?:the most|the highest|the largest|the lowest|the least|the fewest|most often|"
        r"most times)"
    )
    if re.search(
        rf"\b(?:which|what)\s+(?:\w+\s+){{0,3}}(?:\(\w+\)\s+)?(?:\w+\s+){{0,3}}{most}\b", lowered
    ):
        return 1
    return None


def _aggregate(item: Aggregate, scope: Scope, ctx: TaskContext) -> exp.Expr:
    if item.column == ALL_ROWS:
        require(item.function == "count", f"{item.function}(*) is not an aggregate; use count")
        return exp.Count(this=exp.Star())
    value = scope.expr(item.column)
    kind = family(scope.column(item.column).type, ctx.dialect)
    if item.function in ("sum", "avg"):
        require(
            kind in ("integer", "decimal"), f"{item.function}({item.column}) needs a number column"
        )
    if item.function == "count_distinct":
        return exp.Count(this=exp.Distinct(expressions=[value]))
    builders: dict[str, type[exp.Func]] = {
        "count": exp.Count,
        "sum": exp.Sum,
        "avg": exp.Avg,
        "min": exp.Min,
        "max": exp.Max,
    }
    return builders[item.function](this=value)
