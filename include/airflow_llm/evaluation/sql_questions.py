"""The NL -> SQL question set and its sample database (DuckDB, in memory, sandboxed).

A question set is a folder with ``schema.sql`` (the DDL the model sees), ``seed.sql``
(the sample rows) and ``questions.yml`` (``id``, ``question``, ``gold``, ``expected``,
optional ``ordered``). Answers run in a database that cannot reach files or the
network, must be one read-only query, and are interrupted after a timeout.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import sqlglot
import sqlglot.expressions as exp
import yaml

from airflow_llm.evaluation.result_sets import Row
from airflow_llm.patterns.context import Relation
from airflow_llm.spec import Column
from airflow_llm.sql_types import family

DEFAULT_QUESTION_SET = Path("eval/sql_accuracy")


class QueryError(ValueError):
    """An answer that is not one read-only query, or that failed or timed out."""


@dataclass(frozen=True)
class Question:
    """One natural-language question, its gold query and the rows that query returns."""

    id: str
    question: str
    gold: str
    expected: list[Row]
    ordered: bool = False


@dataclass(frozen=True)
class QuestionSet:
    """The schema the model sees, the rows behind it, and the questions."""

    schema: str
    seed: str
    questions: list[Question]

    @classmethod
    def load(cls, folder: Path) -> QuestionSet:
        """Read ``schema.sql``, ``seed.sql`` and ``questions.yml`` from ``folder``.

        Raises ``ValueError`` naming the file when ``questions.yml`` is malformed.
        """
        path = folder / "questions.yml"
        try:
            questions = [
                Question(
                    id=str(item["id"]),
                    question=str(item["question"]),
                    gold=str(item["gold"]),
                    expected=[tuple(row) for row in item["expected"]],
                    ordered=bool(item.get("ordered", False)),
                )
                for item in yaml.safe_load(path.read_text())["questions"]
            ]
        except (yaml.YAMLError, KeyError, TypeError, AttributeError) as error:
            message = f"{path}: not a question set ({type(error).__name__}: {error})"
            raise ValueError(message) from error
        ids = [question.id for question in questions]
        if len(set(ids)) != len(ids):
            raise ValueError(f"{path}: question ids are not unique")
        return cls(
            (folder / "schema.sql").read_text(), (folder / "seed.sql").read_text(), questions
        )

    def database(self) -> SampleDatabase:
        """A fresh in-memory database with the schema and the seed rows."""
        return SampleDatabase(self.schema, self.seed)


class SampleDatabase:
    """An in-memory DuckDB with the sample rows; answers can read it and nothing else."""

    def __init__(self, schema: str, seed: str) -> None:
        self._connection = duckdb.connect(":memory:")
        self._connection.execute(schema)
        self._connection.execute(seed)
        self._connection.execute("SET enable_external_access = false")
        self._connection.execute("SET lock_configuration = true")

    def run(self, sql: str, timeout: float = 10.0) -> list[Row]:
        """The rows of one read-only query; raises :class:`QueryError` otherwise."""
        try:
            statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
        except sqlglot.errors.SqlglotError as error:
            raise QueryError(f"not parseable: {str(error).splitlines()[0]}") from error
        if len(statements) != 1 or not isinstance(statements[0], exp.Query):
            raise QueryError("the answer must be exactly one SELECT query")
        timer = threading.Timer(timeout, self._connection.interrupt)
        timer.start()
        try:
            rows: list[tuple[Any, ...]] = self._connection.execute(sql).fetchall()
        except duckdb.Error as error:
            reason = "timed out" if isinstance(error, duckdb.InterruptException) else error
            raise QueryError(str(reason).splitlines()[0]) from error
        finally:
            timer.cancel()
        return rows

    def close(self) -> None:
        """Release the database."""
        self._connection.close()


def schema_relations(schema: str) -> list[Relation]:
    """The tables a question set's ``schema.sql`` creates, with their columns."""
    relations = []
    for statement in sqlglot.parse(schema, read="duckdb"):
        if not isinstance(statement, exp.Create) or not isinstance(statement.this, exp.Schema):
            continue
        table = statement.this.this
        columns = tuple(
            Column(name=definition.name, type=definition.args["kind"].sql("duckdb"))
            for definition in statement.this.expressions
            if isinstance(definition, exp.ColumnDef) and definition.args.get("kind") is not None
        )
        relations.append(Relation(table.name, columns))
    return relations


def text_values(
    database: SampleDatabase, relations: list[Relation], limit: int = 100
) -> dict[str, tuple[str, ...]]:
    """The distinct values of every text column (``table.column`` -> values): what a
    question's words may name, as text-to-SQL systems link values to columns."""
    values: dict[str, tuple[str, ...]] = {}
    for relation in relations:
        for column in relation.columns:
            if family(column.type, "duckdb") != "text":
                continue
            name = f'"{column.name}"'
            query = (
                f"SELECT DISTINCT {name} FROM {relation.name} "  # noqa: S608 - schema names
                f"WHERE {name} IS NOT NULL LIMIT {limit}"
            )
            rows = database.run(query)
            values[f"{relation.name}.{column.name}"] = tuple(str(row[0]) for row in rows)
    return values
