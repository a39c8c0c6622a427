"""What a task's words say about files: the files it names and whether it reads or
writes each, the formats it names, and the names it gives columns.

Generic English and file conventions only: a file is a name with a data extension
(``stations.csv``, ``/data/in/orders_{{ ds_nodash }}.parquet``, ``*.json``), read when
the nearest cue before it in its clause is an input word ("Input:", "from", "reads"),
written when it is an output word ("Output:", "to", "saves"). Formats are the words
CSV, JSON, JSON lines and Parquet. Column names are the names the words write out
(``installation_date``, `` `sku` ``, ``DATE_COLUMN=installation_date``, "the price
column") and, less surely, common column words ("amount", "sku") the words use.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from airflow_llm.patterns.linking import stem

FileFormat = Literal["csv", "json", "jsonl", "parquet"]
FILE_FORMATS: tuple[str, ...] = get_args(FileFormat)
Role = Literal["input", "output", "unknown"]
IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]*$"
"""A column name the file patterns accept (quoted in the SQL they print)."""

_EXTENSIONS = {
    "csv": "csv",
    "tsv": "csv",
    "json": "json",
    "jsonl": "jsonl",
    "ndjson": "jsonl",
    "parquet": "parquet",
    "pq": "parquet",
}
"""Data extensions and the format each is read and written as."""
OTHER_EXTENSIONS = ("txt", "xml", "pdf", "html", "htm", "xlsx", "xls", "sql", "obo", "avro", "orc")
"""Extensions of files the file patterns neither read nor write."""
REPORT_FORMATS = ("xml", "html", "pdf")
"""Formats of the reports ``file_report`` writes (no file pattern reads them)."""
ARCHIVE_FORMATS = ("zip", "tar.gz")
"""Formats of the archives ``archive_files`` writes (no file pattern reads them)."""
_SEGMENT = r"(?:[A-Za-z0-9_=*.-]|\{\{\s*[a-z_]+\s*\}\})+"
_EXTENSION = "|".join(sorted({*_EXTENSIONS, *OTHER_EXTENSIONS}, key=len, reverse=True))
_FILE = re.compile(
    rf"(?<![\w/.{{}}:$-])(?P<path>/?(?:{_SEGMENT}/)*{_SEGMENT}\.(?P<ext>{_EXTENSION}))(?![\w{{}}])",
    re.IGNORECASE,
)
_DATE_FORMATS = {"YYYYMMDD": "{{ ds_nodash }}", "YYYY-MM-DD": "{{ ds }}"}
_MACRO_SPACING = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")
_CLAUSES = re.compile(r"\n|(?<=[a-z0-9)])\.\s|;|•|\s-\s")
_INPUT_CUES = (
    "input", "inputs", "from", "read", "reads", "reading", "ingest", "ingests", "ingesting",
    "load", "loads", "source", "sources", "extract", "extracts", "takes", "consume", "consumes",
    "pull", "pulls", "fetch", "fetches", "parse", "parses", "open", "opens", "scan", "scans",
)  # fmt: skip
_OUTPUT_CUES = (
    "output", "outputs", "to", "into", "write", "writes", "writing", "save", "saves", "saved",
    "export", "exports", "generate", "generates", "create", "creates", "produce", "produces",
    "as", "named", "store", "stores", "stored", "dump", "dumps", "emit", "emits", "result",
)  # fmt: skip
_FORMAT_WORDS = {"csv": "csv", "tsv": "csv", "json": "json", "jsonl": "jsonl", "ndjson": "jsonl"}
_FORMAT_WORDS |= {"parquet": "parquet"}
_JSON_LINES = re.compile(r"\bjson[ -]lines\b|\bnewline[- ]delimited json\b", re.IGNORECASE)
_S3 = re.compile(r"\bs3\b|s3://|\bbucket", re.IGNORECASE)


@dataclass(frozen=True)
class FileMention:
    """A file the words name: its path, its format, and whether the task reads or writes
    it (``unknown``: the words do not say)."""

    path: str
    extension: str
    role: Role

    @property
    def format(self) -> str | None:
        """The format it is read and written as; None: one the file patterns do not read."""
        return _EXTENSIONS.get(self.extension.lower())

    @property
    def stem(self) -> str:
        """Its name without folder and extension (``data/orders.csv`` -> ``orders``)."""
        return self.path.rsplit("/", 1)[-1].rsplit(".", 1)[0]


def stated_files(text: str) -> list[FileMention]:
    """The files ``text`` names, in order, date placeholders (``YYYYMMDD``) as macros;
    templates no macro fills (``table_{}.json``, ``{region}.csv``) are left out."""
    found: dict[str, FileMention] = {}
    for clause in _CLAUSES.split(text):
        for match in _FILE.finditer(clause):
            path = match.group("path")
            for placeholder, macro in _DATE_FORMATS.items():
                path = path.replace(placeholder, macro)
            path = _MACRO_SPACING.sub(r"{{ \1 }}", path)
            if re.search(r"\{(?!\{ [a-z_]+ \}\})", re.sub(r"\{\{ [a-z_]+ \}\}", "", path)):
                continue
            role = _role(clause[: match.start()])
            known = found.get(path)
            if known is None or known.role == "unknown":
                found[path] = FileMention(path, match.group("ext"), role)
    return list(found.values())


def clauses(text: str) -> list[str]:
    """``text``'s clauses: lines, sentences, bullets and `` - `` items."""
    return _CLAUSES.split(text)


def _role(before: str) -> Role:
    """Input or output, by the nearest cue word before a file in its clause."""
    for word in reversed(re.findall(r"[a-z]+", before.lower())):
        if word in _INPUT_CUES:
            return "input"
        if word in _OUTPUT_CUES:
            return "output"
    return "unknown"


def stated_formats(text: str) -> dict[Role, list[str]]:
    """The file formats the words name (CSV, JSON, JSON lines, Parquet), by role: a
    format after an output cue ("convert to JSON", "saved as Parquet") is written, one
    after an input cue ("ingest station CSV") read; the rest ``unknown``."""
    found: dict[Role, list[str]] = {"input": [], "output": [], "unknown": []}
    for clause in _CLAUSES.split(_JSON_LINES.sub(" jsonl ", text)):
        for match in re.finditer(r"[A-Za-z]+", clause):
            name = _FORMAT_WORDS.get(match.group().lower())
            if name is not None and clause[match.start() - 1 : match.start()] != ".":
                role = _role(clause[: match.start()])
                if name not in found[role]:
                    found[role].append(name)
    return found


_OTHER_FORMATS = re.compile(
    r"\b(?:html|xml|pdf|excel|xlsx?|avro|orc|obo|images?|png|jpe?g|"
    r"sql(?:\s+\w+)?\s+files?|(?:insert|sql)\s+quer(?:y|ies)\s+files?)\b",
    re.IGNORECASE,
)
"""Words for files the file patterns neither read nor write (an HTML page, a PDF, an
SQL script file)."""


def other_formats(text: str) -> dict[Role, list[str]]:
    """The formats other than the file patterns' the words name (lower case: ``pdf``,
    ``xml``, ``sql query file``), by role, as :func:`stated_formats` finds roles."""
    found: dict[Role, list[str]] = {"input": [], "output": [], "unknown": []}
    for clause in _CLAUSES.split(text):
        for match in _OTHER_FORMATS.finditer(clause):
            named = match.group().lower()
            role = _role(clause[: match.start()])
            if named not in found[role]:
                found[role].append(named)
    return found


def names_other_formats(text: str) -> bool:
    """Whether the words read or write a file of another format than the file patterns'
    (``Input: HTML file``, ``Output: PDF report``, ``SQL query file``)."""
    found = other_formats(text)
    return bool(found["input"] or found["output"])


def mentions_s3(text: str) -> bool:
    """Whether the words speak of S3 (a URI, S3, a bucket): the S3 patterns' business."""
    return bool(_S3.search(text))


_COLUMN_ASSIGNMENT = re.compile(
    r"\b[A-Z][A-Z0-9_]*COLUMNS?\s*[=:]\s*([A-Za-z_][A-Za-z0-9_]*(?:,[A-Za-z_][A-Za-z0-9_]*)*)"
)
"""``DATE_COLUMN=installation_date``, ``INPUT_COLUMNS=a,b``: a setting that names columns."""
_COLUMN_WORDS = re.compile(
    r"\b(?:columns?|fields?|headers?|attributes?)\b\s*(?:\(|:|=|named|called)\s*"
    r"((?:'?`?[A-Za-z_][A-Za-z0-9_]*`?'?)(?:\s*(?:,|and|or)\s*'?`?[A-Za-z_][A-Za-z0-9_]*`?'?)*)"
    r"|\b(?:columns?|fields?)\s+['`]([A-Za-z_][A-Za-z0-9_]*)['`]",
    re.IGNORECASE,
)
"""``columns (a, b, c)``, ``column 'City'``, ``fields: a, b``."""
_LISTED_BEFORE = re.compile(
    r"((?:[A-Za-z_][A-Za-z0-9_]*\s*,\s*)+[A-Za-z_][A-Za-z0-9_]*(?:\s*,?\s*(?:and|or)\s+"
    r"[A-Za-z_][A-Za-z0-9_]*)?|\b(?:the|a|an)\s+[A-Za-z_][A-Za-z0-9_]*)\s+(?:columns?|fields?)\b",
    re.IGNORECASE,
)
"""``product_id, quantity, price columns``, ``the location field``."""
_BACK_QUOTED = re.compile(r"`([A-Za-z_][A-Za-z0-9_]*)`")
_ASSIGNED = re.compile(r"\b([a-z][a-z0-9_]*)\s*=\s*(?:'([^'\n]{1,40})'|\"([^\"\n]{1,40})\")")
"""``warehouse_id='north'``: a name with a quoted value (a column value, or a setting)."""
_SETTING_SUFFIXES = (
    "_conn_id", "_conn", "_callable", "_context", "_kwargs", "_args", "_file", "_files",
    "_path", "_dir", "_folder", "_interval", "_timeout", "_delay", "_retries", "_param",
    "_params", "_template", "_class", "_url", "_prefix", "_suffix", "_format",
)  # fmt: skip
"""Endings of names that are a task's settings, not columns (``csv_file``, ``conn_id``)."""
_SETTINGS = frozenset(
    {"task_id", "dag_id", "conn_id", "start_date", "end_date", "catchup", "depends_on_past",
     "email_on_failure", "email_on_retry", "retry_delay", "schedule_interval", "trigger_rule",
     "provide_context", "python_callable", "op_kwargs", "max_active_runs", "poke_interval",
     "do_xcom_push", "xcom_push", "dataset_id", "table_name"}
)  # fmt: skip
"""Airflow's own argument names, which words quote but never mean as columns."""
COMMON_COLUMNS = (
    "sku", "date", "timestamp", "amount", "price", "quantity", "qty", "revenue", "cost",
    "currency", "region", "country", "city", "location", "status", "category", "email",
    "phone", "address", "temperature", "elevation", "latitude", "longitude", "score", "rating",
)  # fmt: skip
"""Column names common enough that a word of the task is a likely column."""


def column_names(text: str, excluded: Sequence[str] = ()) -> tuple[list[str], list[str]]:
    """The names the words give columns, surest first: those they write out as column
    names (settings that name columns, listed columns, back-quoted and ``snake_case``
    names), and the common column words they use ("amount", "sku"). ``excluded`` names
    (tasks, files) and Airflow's or a task's setting names are never columns."""
    skip = {name.lower() for name in excluded}
    written: list[str] = []
    for match in _COLUMN_ASSIGNMENT.finditer(text):
        written += [name.strip() for name in match.group(1).split(",")]
    for pattern in (_COLUMN_WORDS, _LISTED_BEFORE):
        for match in pattern.finditer(text):
            listed = "".join(group for group in match.groups() if group)
            written += re.findall(r"[A-Za-z_][A-Za-z0-9_]*", listed)
    written += _BACK_QUOTED.findall(text)
    written += _plain_identifiers(_FILE.sub(" ", text))
    articles = {"and", "or", "the", "a", "an", "with", "named", "called"}
    written = [name for name in written if name.lower() not in articles]
    named = list(dict.fromkeys(_column_name(name) for name in written if _usable(name, skip)))
    stems = {stem(word) for word in re.findall(r"(?<![\w-])[A-Za-z]+(?![\w-])", text)}
    common = [word for word in COMMON_COLUMNS if stem(word) in stems and word not in named]
    return named, common


def stated_constants(text: str) -> dict[str, str]:
    """``name='value'`` pairs the words state (``warehouse_id='north'``), settings left out."""
    found: dict[str, str] = {}
    for match in _ASSIGNED.finditer(text):
        name, value = match.group(1), match.group(2) or match.group(3)
        if _usable(name, set()) and "{" not in value:
            found.setdefault(name, value)
    return found


_NOT_A_COLUMN_AFTER = re.compile(
    r"\s*(?:\(\)|\.\w|\s(?:function|functions|task|tasks|table|tables|database|db|schema|dag|"
    r"job|operator|list|index|queue|bucket|key|variable|connection|file|files|folder|"
    r"directory|group|taskgroup|flag|service|system|api)\b)",
    re.IGNORECASE,
)
"""What follows a name that is no column: ``x function``, ``x table``, ``md_dwh.x``."""
_CONTAINER = re.compile(
    r"\b(?:database|db|schema|connection|bucket|system|table|warehouse)\s*[(:]?\s*['`]?$",
    re.IGNORECASE,
)
"""What precedes a name that is no column: ``database (inventory_db)``."""
_DATASET_CLAUSE = re.compile(r"^\W*(?:inputs?|outputs?)\s*:", re.IGNORECASE)


def _plain_identifiers(text: str) -> list[str]:
    """``snake_case`` names of the words that may be columns: not in an Input:/Output:
    line (there they name datasets), not a setting's all-capitals name, not followed by
    a word that makes them a table, a function or a task."""
    found: list[str] = []
    for clause in _CLAUSES.split(text):
        if _DATASET_CLAUSE.match(clause):
            continue
        for match in re.finditer(r"(?<![\w.])[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+\b", clause):
            name = match.group()
            after, before = clause[match.end() :], clause[: match.start()]
            if name.isupper() or _NOT_A_COLUMN_AFTER.match(after) or _CONTAINER.search(before):
                continue
            found.append(name.lower())
    return found


def _usable(name: str, skip: set[str]) -> bool:
    lowered = name.lower()
    return (
        bool(re.match(IDENTIFIER, name))
        and len(name) <= 63
        and lowered not in skip
        and lowered not in _SETTINGS
        and not lowered.endswith(_SETTING_SUFFIXES)
        and not (name.isupper() and len(name) > 1 and "_" in name)
    )


def _column_name(name: str) -> str:
    """A name as a column: ``City`` stays ``City`` (files keep their headers' case),
    ``DATE_column``-like mixtures are lowered."""
    return name if re.match(r"^[A-Z]?[a-z0-9_]*$", name) else name.lower()
