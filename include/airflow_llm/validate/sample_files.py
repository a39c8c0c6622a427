"""Sample files for the file patterns' tasks in the smoke run.

A file task reads what an upstream file task wrote (the path it returned: the smoke run
runs that task first) or a file at a path of its settings, which no task of the DAG
writes. For each of those, :func:`seed_files` writes a file in the filesystem
stand-in's folder, in the format the task reads, with sample rows
(:func:`~airflow_llm.validate.sample_data.sample_table`: a NULL and a duplicate row
among them) of the columns the task and every file task after it read
(:func:`required_columns`), typed by use: a column a task parses holds ISO dates, one
it multiplies numbers. A path named after a declared source gets that source's columns
too. The files tasks download or wait for on a remote service are written the same way
in the folder its stand-in serves (:func:`seed_served`), and so are the answers an API
call passes on to a step that parses them: a JSON document of sample records with the
fields it reads (:func:`seed_answers`). :func:`count_rows` counts the rows of a file a
task wrote, for the report.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import duckdb

from airflow_llm.patterns.file_operations import COPY_OPTIONS, READERS, SQL_TYPES, Use
from airflow_llm.patterns.file_steps import FilePattern
from airflow_llm.patterns.operators import BoundOperator
from airflow_llm.spec import Column, SourceTable
from airflow_llm.validate.sample_data import SAMPLE_DATE, sample_table
from airflow_llm.validate.sql import SAMPLE_CONTEXT
from airflow_llm.validate.stand_ins import hold_file, served_folder

_MACRO = re.compile(r"\{\{\s*(\w+)\s*\}\}")
RAW_SAMPLE = b"<!doctype html>\n<title>sample</title>\n<p>A sample page.</p>\n"
"""What a remote file of no rows (an HTML page) holds in the smoke run."""
_STRENGTH = {"text": 0, "number": 1, "date": 2, "timestamp": 3}


@dataclass(frozen=True)
class FileTask:
    """A task a file pattern serves, with its parameters."""

    pattern: FilePattern[Any]
    params: Any


def file_tasks(operators: Mapping[str, BoundOperator]) -> dict[str, FileTask]:
    """The tasks a file pattern serves."""
    return {
        name: FileTask(bound.pattern, bound.params)
        for name, bound in operators.items()
        if isinstance(bound.pattern, FilePattern)
    }


def required_columns(operators: Mapping[str, BoundOperator]) -> dict[str, dict[str, Use]]:
    """Per file task, the columns its input files must hold: the ones it reads, and,
    where its columns pass to its file, the ones the file tasks after it read that it
    does not make itself."""
    tasks = file_tasks(operators)
    readers: dict[str, list[str]] = {}
    for name, bound in tasks.items():
        for found in bound.pattern.file_inputs(bound.params):
            if found.upstream in tasks:
                readers.setdefault(found.upstream, []).append(name)
    needs: dict[str, dict[str, Use]] = {}

    def required(task: str) -> dict[str, Use]:
        if task not in needs:
            bound = tasks[task]
            found = dict(bound.pattern.reads(bound.params))
            if bound.pattern.keeps_columns(bound.params):
                made = bound.pattern.created(bound.params)
                for reader in readers.get(task, []):
                    for name, use in required(reader).items():
                        if (
                            name not in made
                            and _STRENGTH[use] >= _STRENGTH[found.get(name, "text")]
                        ):
                            found[name] = use
            needs[task] = found
        return needs[task]

    return {task: required(task) for task in tasks}


def seed_files(
    folder: Path,
    operators: Mapping[str, BoundOperator],
    values: Mapping[str, Mapping[str, Any]],
    sources: list[SourceTable],
    dialect: str,
) -> list[str]:
    """Write, under ``folder``, each file a file task reads from a setting's path
    (``values``: the tasks' settings, pointed at the stand-ins) that no task writes;
    the files written, relative to ``folder``."""
    tasks = file_tasks(operators)
    written = {
        str(values[name]["output"])
        for name, bound in tasks.items()
        if bound.pattern.writes_file and "output" in values[name]
    }
    columns = required_columns(operators)
    seeded: list[str] = []
    for name, bound in tasks.items():
        for found in bound.pattern.file_inputs(bound.params):
            if found.setting is None or str(values[name][found.setting]) in written:
                continue
            relative = rendered(str(values[name][found.setting])).replace("*", "sample")
            _write_rows(folder / relative, found.format, columns[name], sources, dialect)
            seeded.append(relative)
    return seeded


def seed_served(
    home: Path,
    operators: Mapping[str, BoundOperator],
    values: Mapping[str, Mapping[str, Any]],
    sources: list[SourceTable],
    dialect: str,
) -> list[str]:
    """Write, in the folder of each remote service's stand-in, the file each operator
    reads or waits for there (``remote_file``; ``values``: the settings, pointed at the
    stand-ins): a download's with sample rows of the columns the downloads of that file
    and the file tasks after them read, in its format (a raw one: a small page); a file
    only waited for, empty. The files written, as ``service:path``."""
    tasks = file_tasks(operators)
    columns = required_columns(operators)
    downloaded: dict[tuple[str, str], tuple[str | None, dict[str, Use]]] = {}
    waited: list[tuple[str, str]] = []
    for name, bound in operators.items():
        if bound.pattern.remote_file is None:
            continue
        service, setting = bound.pattern.remote_file
        where = (service, rendered(urlsplit(str(values[name][setting])).path).lstrip("/"))
        if name not in tasks:
            waited.append(where)
            continue
        file_format, uses = downloaded.get(
            where, (tasks[name].pattern.output_format(tasks[name].params), {})
        )
        for column, use in columns[name].items():
            if _STRENGTH[use] >= _STRENGTH[uses.get(column, "text")]:
                uses[column] = use
        downloaded[where] = (file_format, uses)
    for (service, relative), (file_format, uses) in downloaded.items():
        path = served_folder(home, service) / relative
        if file_format is None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(RAW_SAMPLE)
            continue
        _write_rows(path, file_format, uses, sources, dialect)
    held = [where for where in dict.fromkeys(waited) if where not in downloaded]
    for service, relative in held:
        hold_file(str(served_folder(home, service)), relative)
    answered = seed_answers(home, operators, values)
    return [f"{service}:{relative}" for service, relative in [*downloaded, *held, *answered]]


def seed_answers(
    home: Path, operators: Mapping[str, BoundOperator], values: Mapping[str, Mapping[str, Any]]
) -> list[tuple[str, str]]:
    """Write, in the folder of each remote service's stand-in, the answer an operator that
    passes one on (``answers_from``) gets where it asks, for each file task that reads
    that answer: a JSON document ``{"data": [records]}`` of sample records with the
    fields it reads (a dotted path as nested objects). The files written."""
    written: list[tuple[str, str]] = []
    for found in file_tasks(operators).values():
        answer = found.pattern.answer_of(found.params)
        bound = operators.get(answer[0]) if answer else None
        if answer is None or bound is None or bound.pattern.answers_from is None:
            continue
        service, setting = bound.pattern.answers_from
        relative = rendered(urlsplit(str(values[answer[0]][setting])).path).lstrip("/")
        path = served_folder(home, service) / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"data": sample_records(answer[1])}))
        written.append((service, relative))
    return written


def sample_records(fields: Mapping[str, Use]) -> list[dict[str, Any]]:
    """Sample records with ``fields`` (dotted paths), typed by use (NULLs and a duplicate
    among them, as in sample files); a dotted path nests objects."""
    paths = list(fields)
    columns = {re.sub(r"\W", "_", path): use for path, use in fields.items()}
    table = SourceTable(name="answer", columns=_columns(columns, []))
    sample = sample_table(table, "duckdb", SAMPLE_DATE)
    records: list[dict[str, Any]] = []
    for row in sample.rows:
        record: dict[str, Any] = {}
        for path, value in zip(paths, row, strict=True):
            *parents, last = path.split(".")
            node = record
            for parent in parents:
                node = node.setdefault(parent, {})
            node[last] = value if value is None or isinstance(value, int | float) else str(value)
        records.append(record)
    return records


def rendered(path: str) -> str:
    """A path with the sample run's macros filled in (``{{ ds }}``)."""
    return _MACRO.sub(lambda match: SAMPLE_CONTEXT.get(match.group(1), match.group(0)), path)


def write_sample(path: Path, file_format: str, table: SourceTable, dialect: str) -> None:
    """A file of ``table``'s sample rows in ``file_format``."""
    sample = sample_table(table, dialect, SAMPLE_DATE)
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect() as connection:
        connection.execute(sample.ddl)
        marks = ", ".join("?" for _ in sample.columns)
        insert = f"INSERT INTO sample VALUES ({marks})"  # noqa: S608 - placeholders only
        connection.executemany(insert, sample.rows)
        copy = f"COPY sample TO $path ({COPY_OPTIONS[file_format]})"
        connection.execute(copy, {"path": str(path)})


def count_rows(path: str, file_format: str) -> int | None:
    """The rows of a file a task wrote (None: it cannot be read)."""
    query = f"SELECT count(*) FROM {READERS[file_format]}($path)"  # noqa: S608 - constant
    try:
        with duckdb.connect() as connection:
            found = connection.execute(query, {"path": path}).fetchone()
    except duckdb.Error:
        return None
    return int(found[0]) if found else 0


def _write_rows(
    path: Path, file_format: str, uses: Mapping[str, Use], sources: list[SourceTable], dialect: str
) -> None:
    """A sample file of the columns read (typed by use), with those of the declared
    source it is named after (typed in the spec's ``dialect``)."""
    declared = _declared(path.name, sources)
    table = SourceTable(name="sample", columns=_columns(uses, declared))
    write_sample(path, file_format, table, dialect if declared else "duckdb")


def _declared(path: str, sources: list[SourceTable]) -> list[Column]:
    """The columns of the declared source a file is named after."""
    stem = path.rsplit("/", 1)[-1].split(".", 1)[0].lower()
    found = next((s for s in sources if s.name.rsplit(".", 1)[-1].lower() == stem), None)
    return list(found.columns) if found else []


def _columns(uses: Mapping[str, Use], declared: list[Column]) -> list[Column]:
    """The declared columns, then the columns read typed by use (a file with none gets
    an ``id``: a file has a column at least)."""
    columns = list(declared)
    names = {column.name for column in columns}
    columns += [Column(name=n, type=SQL_TYPES[u]) for n, u in uses.items() if n not in names]
    return columns or [Column(name="id", type="BIGINT")]
