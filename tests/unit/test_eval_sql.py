"""The NL -> SQL question sets are self-consistent; answers are compared and sandboxed right."""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from airflow_llm.evaluation.result_sets import normalize_rows, same_result
from airflow_llm.evaluation.sql_questions import QueryError, Question, QuestionSet, SampleDatabase

REPO_ROOT = Path(__file__).resolve().parents[2]
QUESTION_SETS = {
    # eval/sql_accuracy/ (the default set) is "default", eval/sql_accuracy_library/ "library"
    folder.name.removeprefix("sql_accuracy").lstrip("_") or "default": QuestionSet.load(folder)
    for folder in sorted((REPO_ROOT / "eval").glob("sql_accuracy*"))
    if folder.is_dir()
}
QUESTIONS = QUESTION_SETS["default"]


@pytest.fixture(scope="module")
def databases() -> Iterator[dict[str, SampleDatabase]]:
    opened = {name: question_set.database() for name, question_set in QUESTION_SETS.items()}
    yield opened
    for database in opened.values():
        database.close()


@pytest.fixture(scope="module")
def database(databases: dict[str, SampleDatabase]) -> SampleDatabase:
    return databases["default"]


@pytest.mark.parametrize("name", list(QUESTION_SETS))
def test_the_set_has_at_least_30_questions(name: str) -> None:
    assert len(QUESTION_SETS[name].questions) >= 30


@pytest.mark.parametrize(
    ("name", "question"),
    [
        pytest.param(name, question, id=f"{name}-{question.id}")
        for name, question_set in QUESTION_SETS.items()
        for question in question_set.questions
    ],
)
def test_every_gold_query_yields_exactly_its_expected_rows(
    name: str, question: Question, databases: dict[str, SampleDatabase]
) -> None:
    rows = databases[name].run(question.gold)
    got, want = normalize_rows(rows), normalize_rows(question.expected)
    assert got == want if question.ordered else Counter(got) == Counter(want)


@pytest.mark.parametrize(
    ("expected", "actual", "ordered", "same"),
    [
        pytest.param([(1, "a"), (2, "b")], [(2, "b"), (1, "a")], False, True, id="row-order"),
        pytest.param([(1, "a"), (2, "b")], [(2, "b"), (1, "a")], True, False, id="asked-order"),
        pytest.param([(1, "a"), (2, "b")], [("a", 1), ("b", 2)], True, True, id="column-order"),
        pytest.param([(3,)], [(3.0,)], False, True, id="int-float"),
        pytest.param([(1105.0,)], [(Decimal("1104.9990"),)], False, True, id="rounding"),
        pytest.param([(1105.0,)], [(1105.02,)], False, False, id="other-number"),
        pytest.param([("2024-01-03",)], [(datetime.date(2024, 1, 3),)], False, True, id="date"),
        pytest.param([(None,)], [(0,)], False, False, id="null-is-not-zero"),
        pytest.param([(None, 1)], [(1, None)], False, True, id="null-column-moved"),
        pytest.param([(1,), (1,)], [(1,)], False, False, id="duplicates-count"),
        pytest.param([(1,)], [(1, "extra")], False, False, id="extra-column"),
        pytest.param([(1, 2)], [(1, 3)], False, False, id="wrong-value"),
        pytest.param([(1, 1), (2, 2)], [(1, 2), (2, 1)], False, False, id="mixed-columns"),
        pytest.param([], [], False, True, id="both-empty"),
        pytest.param([(1,)], [], False, False, id="missing-rows"),
    ],
)
def test_result_comparison(
    expected: list[tuple[Any, ...]], actual: list[tuple[Any, ...]], ordered: bool, same: bool
) -> None:
    assert same_result(expected, actual, ordered) is same


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("DROP TABLE orders", "exactly one SELECT"),
        ("SELECT 1; SELECT 2", "exactly one SELECT"),
        ("COPY orders TO 'x.csv'", "exactly one SELECT"),
        ("SET enable_external_access = true", "exactly one SELECT"),
        ("SELECT * FROM read_csv('/etc/hostname')", "disabled by configuration"),
        ("SELECT * FROM no_such_table", "no_such_table"),
    ],
)
def test_answers_are_one_read_only_query_on_the_sample_rows(
    sql: str, message: str, database: SampleDatabase
) -> None:
    with pytest.raises(QueryError, match=message):
        database.run(sql)
    assert database.run("SELECT COUNT(*) FROM orders") == [(14,)], "the data is untouched"


def test_a_runaway_query_is_interrupted_and_the_database_still_answers(
    database: SampleDatabase,
) -> None:
    with pytest.raises(QueryError, match="timed out"):
        database.run("SELECT COUNT(*) FROM range(1000000000000) a, range(1000) b", timeout=0.2)
    assert database.run("SELECT COUNT(*) FROM customers") == [(10,)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("questions: [{id: q", "ParserError"),
        ("- just a list", "TypeError"),
        ("questions: [{id: q, question: x, gold: SELECT 1}]", "KeyError: 'expected'"),
        ("questions: [{id: q, question: x, gold: y, expected: [[1]]}, {id: q}]", "KeyError"),
        (
            "questions: [{id: q, question: x, gold: a, expected: []},"
            " {id: q, question: y, gold: b, expected: []}]",
            "ids are not unique",
        ),
    ],
)
def test_a_malformed_question_set_is_reported_with_its_file(
    tmp_path: Path, text: str, message: str
) -> None:
    for name in ("schema.sql", "seed.sql"):
        (tmp_path / name).write_text("SELECT 1;")
    (tmp_path / "questions.yml").write_text(text + "\n")
    with pytest.raises(ValueError, match=f"questions.yml: .*{message}"):
        QuestionSet.load(tmp_path)
