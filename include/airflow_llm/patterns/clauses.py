"""What a description states clause by clause: filters on rows, checks on a table.

"payments with status 'completed'" states ``status = 'completed'``; "drop rows where
is_test is true" states ``is_test is not true``; "order_id is unique and not null"
states two checks on ``order_id``. These readings become the options a model picks
from on a first answer (a menu of concrete filters or checks, rather than columns,
operators and values to combine), so a small model chooses *which* of the stated
things apply instead of composing them. English phrasing only; nothing here knows any
particular spec.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from airflow_llm.patterns.linking import Text, name_words, stem
from airflow_llm.patterns.predicates import NEGATION_CUES, Predicate

_CLAUSE = re.compile(r"[,;:()]|\.(?!\d)|\band\b|\bthen\b")
_BETWEEN = re.compile(r"between\s+(-?\d+(?:\.\d+)?)\s+and\s+(-?\d+(?:\.\d+)?)", re.IGNORECASE)
_COMPARISONS = (
    (re.compile(r"\b(?:above|over|greater than|more than|exceeds?)\s+(-?\d+(?:\.\d+)?)"), ">"),
    (re.compile(r"\b(?:below|under|less than|fewer than)\s+(-?\d+(?:\.\d+)?)"), "<"),
    (re.compile(r"\bat least\s+(-?\d+(?:\.\d+)?)"), ">="),
    (re.compile(r"\bat most\s+(-?\d+(?:\.\d+)?)"), "<="),
    (re.compile(r">=\s*(-?\d+(?:\.\d+)?)"), ">="),
    (re.compile(r"<=\s*(-?\d+(?:\.\d+)?)"), "<="),
    (re.compile(r"(?<![<>=!])>\s*(-?\d+(?:\.\d+)?)"), ">"),
    (re.compile(r"(?<![<>=!])<(?!=)\s*(-?\d+(?:\.\d+)?)"), "<"),
)


@dataclass(frozen=True)
class Clause:
    """A piece of a description between commas, "and", "or"...: its text and the column
    it speaks of (the last one named before, when it names none)."""

    text: str
    column: str | None


def clauses(description: str, columns: Sequence[str]) -> list[Clause]:
    """The description cut into clauses, each with the column it is about."""
    protected = _BETWEEN.sub(lambda m: f"between {m.group(1)}~{m.group(2)}", description)
    found: list[Clause] = []
    current: str | None = None
    for part in _CLAUSE.split(protected):
        text = " ".join(part.split())
        if not text:
            continue
        named = _named_column(text, columns)
        current = named or current
        found.append(Clause(text.replace("~", " and "), current))
    return found


def _named_column(text: str, columns: Sequence[str]) -> str | None:
    """The column a clause names: written out, else all its words present (the last
    such column in the clause)."""
    lowered = text.lower()
    stems = set(Text(text).stems)
    best: tuple[int, str] | None = None
    for column in columns:
        name = column.rsplit(".", 1)[-1].lower()
        position = lowered.rfind(name)
        if position == -1 and set(name_words(name)) <= stems:
            position = max(lowered.rfind(word) for word in name_words(name))
        if position != -1 and (best is None or position >= best[0]):
            best = (position, column)
    return best[1] if best else None


def stated_filters(
    description: str, columns: Sequence[str], family_of: Callable[[str], str]
) -> list[Predicate]:
    """Filters the description states on ``columns`` (labels; ``family_of`` gives a
    label's type family): quoted values and codes after a column, ``is true``/``is
    false`` of a boolean column, missing values, and comparisons with numbers."""
    found: list[Predicate] = []
    text = Text(description)
    for clause in clauses(description, columns):
        column = clause.column
        if column is None:
            continue
        lowered = clause.text.lower()
        negated = any(cue in lowered.split() or f"{cue} " in lowered for cue in NEGATION_CUES)
        kind = family_of(column)
        values = [v for v in text.quoted if f"'{v}'" in clause.text or f'"{v}"' in clause.text]
        values += [c for c in text.codes if re.search(rf"\b{c}\b", clause.text) and c not in values]
        if values:  # the column a value follows
            first = min(clause.text.find(value) for value in values)
            column = _named_column(clause.text[:first], columns) or column
            kind = family_of(column)
        if values and kind == "text":
            several = len(values) > 1
            operator = ("not in" if several else "!=") if negated else ("in" if several else "=")
            value = values if several else values[0]
            found.append(
                Predicate.model_validate({"column": column, "operator": operator, "value": value})
            )
        elif kind == "boolean" and re.search(r"\b(true|false)\b", lowered):
            wants_true = "true" in lowered.split()
            keep_true = wants_true != negated
            found.append(
                Predicate(column=column, operator="is true" if keep_true else "is not true")
            )
        elif re.search(r"\b(null|missing|unknown|empty)\b", lowered):
            missing = not negated and "not" not in lowered.split()
            found.append(Predicate(column=column, operator="is null" if missing else "is not null"))
        elif kind in ("integer", "decimal"):
            found += _comparisons(column, lowered, negated)
    return list({str(predicate): predicate for predicate in found}.values())


def _comparisons(column: str, lowered: str, negated: bool) -> list[Predicate]:
    flipped = {">": "<=", "<": ">=", ">=": "<", "<=": ">"}
    found = []
    for pattern, operator in _COMPARISONS:
        for match in pattern.finditer(lowered):
            value = float(match.group(1))
            number: int | float = int(value) if value.is_integer() else value
            written = flipped[operator] if negated else operator
            found.append(
                Predicate.model_validate({"column": column, "operator": written, "value": number})
            )
    return found


def mentions(clause: Clause, *cues: str) -> bool:
    """Whether the clause holds any of ``cues`` (words, stems or phrases)."""
    lowered = clause.text.lower()
    stems = {stem(word) for word in re.findall(r"[a-z]+", lowered)}
    return any((cue in lowered) if " " in cue else (stem(cue) in stems) for cue in cues)
