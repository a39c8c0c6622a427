"""Tables a description names but never declares: their names, whether the pipeline
reads or writes each, and the columns the words state for them.

A table is named as ``orders table``, ``table `users```, ``'users' table``,
``into daily_totals``, ``from raw.events`` or in a list (``Source tables: raw.a,
raw.b``, ``Target: fact_sales``, ``tables (a, b)``). Whether it is read or written is
the nearest cue word before it in its clause ("Input:", "from", "query" read; "Output:",
"into", "load", "create" write), or a ``(source)``/``(target)`` right after it. Its
columns are the lists the words give it (``with columns a, b, c``, ``users (id, email)``)
and the columns compared in a filter (``partition_date = CURRENT_DATE``) in the same
paragraph, when that paragraph reads one table only.

A table the words read and never write becomes an inferred source of the spec
(:func:`inferred_sources`), with a description that says which line it came from; one
whose words state no columns gets columns guessed from its paragraphs (common column
words, what they group by, an ``amount`` where they aggregate), else an ``id``, and
its description says so. Generic English and SQL conventions only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from airflow_llm.spec import Column, SourceTable

TableRole = Literal["read", "written", "unknown"]
INFERRED = "inferred from description line"
"""How the description of an inferred source begins."""


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_IDENT = r"[A-Za-z_][A-Za-z0-9_$]*"
_NAME = rf"{_IDENT}(?:\.{_IDENT}){{0,2}}"
_QUOTE = "[`'\"]"
_MENTIONS = (
    re.compile(rf"\btables?\s+(?:named\s+|called\s+)?{_QUOTE}(?P<name>{_NAME}){_QUOTE}", re.I),
    re.compile(rf"{_QUOTE}(?P<name>{_NAME}){_QUOTE}\s+tables?\b", re.I),
    re.compile(rf"(?<![\w.$`'\"])(?P<name>{_NAME})\s+tables?\b", re.I),
    re.compile(rf"\btables?\s+(?P<name>{_NAME})(?![\w$]|\.\w)", re.I),
    re.compile(rf"\binto\s+(?:the\s+)?`?(?P<name>{_NAME})`?(?![\w$]|\.\w)", re.I),
    re.compile(
        rf"\b(?:from|join)\s+`?(?P<name>{_IDENT}\.{_IDENT}(?:\.{_IDENT})?)`?(?![\w$]|\.\w)", re.I
    ),
    re.compile(r"(?<![\w.$])(?P<name>[a-z][A-Za-z0-9]*[a-z0-9]Table)\b"),
)
"""Single mentions (the last: a camelCase name ending in ``Table``); the name of a bare
one (unquoted, not ``X table``) needs ``_`` or ``.``."""
_BARE = (3, 4, 5)
"""Indexes of :data:`_MENTIONS` whose names are unquoted and not followed by ``table``."""
_LIST = re.compile(
    r"\b(?:(?:source|target|input|output|raw|temporary|temp|staging|intermediate)\s+)?"
    r"tables?(?:\s+(?:processed|used|read|written|created|built|loaded|updated))?\s*"
    r"(?::\s*(?P<listed>[^;]+)|\((?P<enclosed>[^)]*)\))"
    r"|\b(?:source|target)s?\s*:\s*(?P<role_listed>[^;]+)"
    rf"|(?<![\w.$])(?P<joined>{_NAME}(?:\s*,\s*{_NAME})*\s*,?\s+and\s+{_NAME})\s+tables\b",
    re.I,
)
"""``Source tables: a, b``, ``Tables processed: c``, ``tables (a, b)``, ``Target: d``,
``the orders and customers tables``."""
_ITEM_SPLIT = re.compile(r"\s*(?:,|\band\b)\s*")
_NOT_A_TABLE = _words(
    """a an the this that these those each every one any all both same other another its
    their our your new newly created create creating drop alter truncate insert update delete
    select swap replace rebuild populate load into from by per for of on in to with
    temporary temp target source raw fact dimension staging final output input analytics
    lookup existing partitioned external internal intermediate summary aggregate aggregated
    reporting database data main postgresql postgres mysql snowflake bigquery redshift sql
    warehouse hive duckdb sqlite oracle mssql delta iceberg destination metadata system
    partition empty following relevant corresponding respective specified given single
    multiple several two three base reference mapping hash cross sample test mock dummy
    target_table source_table table_name"""
)
"""Words before or after "table" that say what kind of table, not which one."""
_AIRFLOW_CLASS = re.compile(r"(?:Operator|Sensor|Hook|Trigger|Group)$")
"""An Airflow class (``temporary table (PythonOperator)``): how a step runs, no table."""
_SYSTEM_SCHEMAS = ("information_schema.", "pg_catalog.", "sys.", "sysibm.")
_FILE_NAME = re.compile(
    r"\.(?:csv|tsv|json|jsonl|parquet|txt|xml|pdf|py|sql|yaml|yml|gz|zip)$", re.I
)
_AFTER_NOT_A_TABLE = re.compile(
    r"\s*(?:\(\)|\s(?:task|tasks|function|operator|sensor|file|files|folder|bucket|api|"
    r"endpoint|dag|step|stage|connection|variable|xcom|schema|column|columns|field|key)\b)",
    re.I,
)
_AFTER_TABLE_WORD = re.compile(
    r"\s*(?:task|tasks|swaps?|updates?|structure|structures|creation|names?|schemas?|"
    r"definitions?|params|parameters|operations?|level|format|dependency|dependencies)\b",
    re.I,
)
"""What follows "X table" when X says what kind of table (``previous table task``)."""
_ADJECTIVE = re.compile(r"(?:ic|ous|ing|ed|ive|ary)$")
_NOT_A_TABLE_SUFFIX = ("_task", "_dag", "_db", "_database", "_conn", "_operator", "_sensor")
_LEAD_READ = _words(
    "extract extracts query queries read reads select selects scan scans export exports "
    "wait waits check checks monitor monitors compare compares"
)
_LEAD_WRITE = _words(
    "load loads insert inserts write writes store stores save saves create creates populate "
    "populates rebuild rebuilds build builds refresh refreshes update updates upsert upserts "
    "persist persists append appends"
)
"""Verbs of a paragraph's first lines (its title and objective) that say whether the
tables it names without a cue of their own are read or written."""
_QUOTED = re.compile(r"'[^'\n]*'|\"[^\"\n]*\"")
_CLAUSES = re.compile(r";|(?<=[a-z0-9)])\.\s|•|\s-\s")
_READ_CUES = _words(
    """from source sources input inputs read reads reading query queries querying queried
    extract extracts extracting extracted select selects selecting scan scans join joins
    joined joining with against wait waits waiting exists exist check checks checking
    compare compares compared monitor monitors poll polls raw of using uses sense"""
)
_WRITE_CUES = _words(
    """into to target targets output outputs load loads loaded loading write writes written
    writing insert inserts inserted inserting create creates created creating new populate
    populates populated rebuild rebuilds rebuilt build builds built refresh refreshes
    refreshed replace replaces replaced swap swaps update updates updated upsert upserts
    upserted store stores stored save saves saved persist persists persisted temporary temp
    destination sink processed overwrite overwrites append appends appended"""
)
_ROLE_AFTER = re.compile(r"\s*\((?P<word>source|input|target|output|destination)\)", re.I)
_SQL_TYPES = _words(
    """int integer bigint smallint tinyint varchar char text string date timestamp timestamptz
    datetime decimal numeric float double real boolean bool json jsonb"""
)
_TYPE = "|".join(sorted(_SQL_TYPES, key=len, reverse=True))
_COLUMN_LIST = rf"{_IDENT}(?:\s+(?:{_TYPE})\b(?:\(\d+(?:\s*,\s*\d+)?\))?)?"
_COLUMNS_AFTER = re.compile(
    rf"^\s*(?:\((?P<enclosed>{_COLUMN_LIST}(?:\s*,\s*{_COLUMN_LIST})*)\)"
    rf"|[^;.]*?\b(?:with|having|has|holding|containing)\s+(?:the\s+)?(?:columns?|fields?)"
    rf"\s*(?:for|:|named|called)?\s*(?P<listed>{_COLUMN_LIST}(?:\s*(?:,|,?\s*and)\s*"
    rf"{_COLUMN_LIST})*))",
    re.I,
)
_FILTER = re.compile(
    rf"(?<![\w.$]){_QUOTE}?(?P<name>[a-z][a-z0-9_]*){_QUOTE}?\s*(?:=|==|!=|<>|>=|<=|>|<|\bbetween\b)"
    rf"\s*(?P<value>[^,;\n]{{1,40}})",
    re.I,
)
_FILTER_CUE = re.compile(
    r"\b(?:filter\w*|where|partition\w*|incremental|only|rows?|records?)\b", re.I
)
_FILTER_VALUE = re.compile(
    r"current_date|current_timestamp|now\(|\{\{|'|\"|\d{4}-\d{2}-\d{2}", re.I
)
_SETTING_SUFFIXES = (
    "_conn_id", "_conn", "_interval", "_timeout", "_delay", "_retries", "_callable",
    "_context", "_kwargs", "_path", "_file", "_url", "_mode", "_rule",
)  # fmt: skip
_AIRFLOW_ARGUMENTS = _words(
    """mode retries timeout schedule owner owners catchup provide_context depends_on_past
    email_on_failure email_on_retry trigger_rule task_id dag_id conn_id start_date end_date
    schedule_interval poke_interval max_active_runs to subject files sql op_kwargs
    bash_command python_callable soft_fail exponential_backoff"""
)
"""Operator arguments the words assign (``mode='reschedule'``), which are no filters."""
COMMON_COLUMNS = (
    "date", "timestamp", "amount", "price", "quantity", "revenue", "cost", "currency",
    "region", "country", "city", "status", "category", "email", "score",
)  # fmt: skip
"""Column words a paragraph may use of a table whose columns it does not list."""
_GROUPED_BY = re.compile(
    r"\b(?:by|per)\s+([a-z][a-z0-9_]*(?:\s*(?:,|and)\s*[a-z][a-z0-9_]*)*)", re.IGNORECASE
)
_NOT_GROUPED = _words("the a an and each every one default hand name step task execution using via")
_NOT_A_NOUN = re.compile(r"(?:ed|ly|ing)$")
_AGGREGATES = re.compile(r"\b(?:aggregat\w*|sum\w*|totals?|group\w*)\b", re.IGNORECASE)
_TYPES_BY_NAME = (
    (re.compile(r"timestamp|time$|_at$|^ts$|_ts$", re.I), "TIMESTAMP"),
    (re.compile(r"date|_on$|^day$|_day$|^dt$|_dt$", re.I), "DATE"),
    (re.compile(r"^id$|_id$|_key$|count|quantity|^qty|_qty$|number|_num$|^year$", re.I), "BIGINT"),
    (
        re.compile(r"amount|price|revenue|cost|total|value|fee|balance|salary|score|rate", re.I),
        "DECIMAL(18, 2)",
    ),
)


@dataclass(frozen=True)
class TableMention:
    """One place the words name a table: the name, the role there, the description line."""

    name: str
    role: TableRole
    line: int
    columns: tuple[Column, ...] = ()


@dataclass
class NamedTable:
    """A table the description names: every mention of it, and the columns stated for it."""

    name: str
    mentions: list[TableMention] = field(default_factory=list)
    columns: list[Column] = field(default_factory=list)
    guessed: bool = False
    """Whether the columns are guessed from common words (none were stated)."""

    @property
    def role(self) -> TableRole:
        """``written`` when any mention writes it, ``read`` when one reads it."""
        roles = {mention.role for mention in self.mentions}
        return "written" if "written" in roles else "read" if "read" in roles else "unknown"

    @property
    def line(self) -> int:
        """The description line it is first named on."""
        return self.mentions[0].line

    def add_columns(self, columns: Sequence[Column]) -> None:
        """Add the columns not already known (by name)."""
        known = {column.name.lower() for column in self.columns}
        for column in columns:
            if column.name.lower() not in known:
                self.columns.append(column)
                known.add(column.name.lower())


def column_type(name: str) -> str:
    """The SQL type a column's name suggests (``order_date`` DATE, ``amount`` DECIMAL)."""
    return next(
        (sql_type for pattern, sql_type in _TYPES_BY_NAME if pattern.search(name)), "VARCHAR"
    )


def named_tables(lines: Sequence[str], first_line: int = 1) -> list[NamedTable]:
    """The tables ``lines`` name (line numbers from ``first_line``), in order of first
    mention, with their roles and columns."""
    tables: dict[str, NamedTable] = {}
    texts: dict[str, list[str]] = {}
    for paragraph in _paragraphs(lines, first_line):
        in_paragraph: list[str] = []
        lead = _lead_role(" ".join(line for _, line in paragraph[:3]))
        for found in _paragraph_mentions(paragraph):
            mention = found if found.role != "unknown" else replace(found, role=lead)
            table = tables.setdefault(mention.name, NamedTable(mention.name))
            table.mentions.append(mention)
            table.add_columns(mention.columns)
            in_paragraph += [mention.name] if mention.name not in in_paragraph else []
        read_here = [name for name in in_paragraph if tables[name].role != "written"]
        text = " ".join(line for _, line in paragraph)
        for name in in_paragraph:
            texts.setdefault(name, []).append(text)
        if len(read_here) == 1:
            tables[read_here[0]].add_columns(_filter_columns(text))
    for table in tables.values():
        if not table.columns:
            table.add_columns(_guessed_columns(" ".join(texts[table.name])))
            table.guessed = True
    return list(tables.values())


def inferred_sources(lines: Sequence[str], first_line: int = 1) -> list[SourceTable]:
    """The tables ``lines`` read and never write, as spec sources whose description says
    where they were inferred from (and whether their columns were guessed)."""
    return [
        SourceTable(name=table.name, description=_origin(table), columns=table.columns)
        for table in named_tables(lines, first_line)
        if table.role != "written"
    ]


def is_inferred(source: SourceTable) -> bool:
    """Whether ``source`` was inferred from a description's words (not declared)."""
    return source.description.startswith(INFERRED)


def _origin(table: NamedTable) -> str:
    how = "columns guessed from common words" if table.guessed else "columns as stated"
    return f"{INFERRED} {table.line} ({how})"


def _paragraphs(lines: Sequence[str], first_line: int) -> Iterator[list[tuple[int, str]]]:
    """Runs of non-blank lines, each line with its number; fenced code is skipped."""
    paragraph: list[tuple[int, str]] = []
    in_fence = False
    for number, line in enumerate(lines, first_line):
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        elif not in_fence and line.strip():
            paragraph.append((number, line))
            continue
        if paragraph:
            yield paragraph
            paragraph = []
    if paragraph:
        yield paragraph


def _paragraph_mentions(paragraph: Sequence[tuple[int, str]]) -> Iterator[TableMention]:
    for number, line in paragraph:
        for clause in _CLAUSES.split(line):
            yield from _clause_mentions(clause, number)


def _clause_mentions(clause: str, line: int) -> Iterator[TableMention]:
    taken: list[tuple[int, int]] = []
    for match in _LIST.finditer(clause):
        joined = match.group("joined")
        items = (
            joined or match.group("listed") or match.group("enclosed") or match.group("role_listed")
        )
        label = "" if joined else match.group().split(":")[0].split("(")[0]
        role = _role(f"{clause[: match.start()]} {label}")
        strict = match.group("role_listed") is not None
        for item in _ITEM_SPLIT.split(items.strip().rstrip(".")):
            name = item.strip().strip("`'\"")
            if re.fullmatch(_NAME, name) and _is_table(name, strict, listed=not joined):
                taken.append(match.span())
                yield TableMention(name, role, line)
    for index, pattern in enumerate(_MENTIONS):
        for match in pattern.finditer(clause):
            name, (start, end) = match.group("name"), match.span("name")
            if any(a <= start < b for a, b in taken):
                continue
            listed = index == len(_MENTIONS) - 1
            if not _is_table(name, index in _BARE, listed) or _AFTER_NOT_A_TABLE.match(
                clause[end:]
            ):
                continue
            if index == 2 and _plain_kind(name, match.group(), clause[match.end() :]):
                continue
            taken.append((start, end))
            after = _ROLE_AFTER.match(clause[match.end() :])
            role = _role(after.group("word")) if after else _role(clause[:start])
            yield TableMention(name, role, line, tuple(_stated_columns(clause[match.end() :])))


def _is_table(name: str, bare: bool, listed: bool = False) -> bool:
    """Whether ``name`` can be a table the words mean. ``bare``: written without quotes
    or the word "table" after it, so it needs ``_`` or ``.`` and lower case; ``listed``:
    an item of a list of tables, any identifier."""
    lowered = name.lower()
    if lowered in _NOT_A_TABLE or lowered.startswith(_SYSTEM_SCHEMAS) or _FILE_NAME.search(name):
        return False
    if _AIRFLOW_CLASS.search(name):
        return False
    if bare and (name != lowered or lowered.endswith(_NOT_A_TABLE_SUFFIX)):
        return False
    if "." not in name and "_" not in name:
        return not bare and (listed or name.islower()) and len(name) > 2
    return not name.isupper()


def _plain_kind(name: str, mention: str, after: str) -> bool:
    """Whether ``X table`` says what kind of table rather than which: a plain word
    before "tables", an adjective, or a word after "table" that makes it a noun phrase
    (``table swaps``, ``table task``)."""
    plain = "." not in name and "_" not in name
    plural = mention.lower().endswith("tables")
    return (plain and (plural or bool(_ADJECTIVE.search(name.lower())))) or bool(
        _AFTER_TABLE_WORD.match(after)
    )


def _role(before: str) -> TableRole:
    """Read or written, by the nearest cue word before a table in its clause."""
    for word in reversed(re.findall(r"[a-z0-9_]+", _QUOTED.sub(" ", before).lower())):
        if word in _READ_CUES:
            return "read"
        if word in _WRITE_CUES:
            return "written"
    return "unknown"


def _lead_role(text: str) -> TableRole:
    """Read or written, by the first verb of a paragraph's lead that says which."""
    for word in re.findall(r"[a-z0-9_]+", text.lower()):
        if word in _LEAD_READ:
            return "read"
        if word in _LEAD_WRITE:
            return "written"
    return "unknown"


def _stated_columns(after: str) -> list[Column]:
    """The columns listed right after a table's name (``(a, b)``, ``with columns a, b``)."""
    match = _COLUMNS_AFTER.match(after)
    if match is None:
        return []
    items = _ITEM_SPLIT.split(match.group("enclosed") or match.group("listed"))
    columns = []
    for item in items:
        words = item.split()
        if not words:
            continue
        if words[0].lower() in ("source", "target", "input", "output"):
            return []
        declared = words[1] if len(words) > 1 and _base_type(words[1]) in _SQL_TYPES else None
        columns.append(Column(name=words[0], type=declared or column_type(words[0])))
    return columns


def _base_type(word: str) -> str:
    return word.split("(")[0].lower()


def _filter_columns(text: str) -> list[Column]:
    """The columns a paragraph compares in a filter (``partition_date = CURRENT_DATE``):
    in a clause about filtering, or against a date, a macro or a quoted value; never an
    Airflow setting (``poke_interval=300``)."""
    found = []
    for clause in _CLAUSES.split(text):
        for match in _FILTER.finditer(clause):
            name = match.group("name")
            if name.endswith(_SETTING_SUFFIXES) or name.lower() in _AIRFLOW_ARGUMENTS:
                continue
            if _FILTER_CUE.search(clause) or _FILTER_VALUE.search(match.group("value")):
                found.append(Column(name=name, type=column_type(name)))
    return found


def _guessed_columns(text: str) -> list[Column]:
    """The columns of a table whose words state none, from its paragraphs' words: the
    common column words they use and what they group by ("by date and product"), and an
    ``amount`` to sum where they aggregate and name no number; else an ``id``."""
    words = set(re.findall(r"[a-z]+", text.lower()))
    named = [name for name in COMMON_COLUMNS if name in words or f"{name}s" in words]
    for match in _GROUPED_BY.finditer(text):
        found = re.findall(r"[a-z][a-z0-9_]*", match.group(1))
        named += [w for w in found if w not in _NOT_GROUPED and not _NOT_A_NOUN.search(w)]
    columns = [Column(name=name, type=column_type(name)) for name in dict.fromkeys(named)]
    numeric = any(column.type in ("BIGINT", "DECIMAL(18, 2)") for column in columns)
    if _AGGREGATES.search(text) and not numeric:
        columns.append(Column(name="amount", type=column_type("amount")))
    return columns or [Column(name="id", type="BIGINT")]
