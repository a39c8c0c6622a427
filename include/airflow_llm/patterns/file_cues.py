"""Which row operations a task's words ask of a file, as typed operations.

Each operation of :mod:`~airflow_llm.patterns.file_operations` has English cue words
("parse", "standardize", "null", "duplicates", "filter ... > 5", "rate 1.08", "rename
a to b"); a phrase (a clause's part between commas) with a cue gets the operation on
the columns it names, among the task's column candidates. What the phrase itself names
is what the words ask for (``linked``: offered on a first answer); a guess from the
rest of the text (the columns the words name elsewhere, a common column word, a
``name='value'`` setting) is offered only when repairing (``other``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from airflow_llm.patterns.file_operations import (
    DATE_FORMATS,
    AddConstant,
    AggregateFunction,
    Aggregation,
    CleanText,
    Comparison,
    DateFormat,
    DropDuplicates,
    DropNulls,
    FilterRows,
    Measure,
    MultiplyColumn,
    Operation,
    ParseDate,
    RenameColumn,
    SelectColumns,
    TextCase,
)
from airflow_llm.patterns.file_words import IDENTIFIER, clauses, stated_constants
from airflow_llm.patterns.linking import Text, aggregations, grouping_phrases, link

_PHRASES = re.compile(r",|\band\b|\bthen\b|\(|\)")
_DATE_CUE = re.compile(
    r"\b(?:pars(?:e|es|ed|ing)|validat\w*\s+(?:the\s+)?dates?|dates?\s+formats?|"
    r"iso(?:\s*8601)?\s+(?:timestamps?|dates?)|to\s+(?:a\s+)?(?:date|timestamp|datetime)s?\b|"
    r"(?:standardi[sz]\w*|normali[sz]\w*|format\w*)\s+(?:the\s+)?(?:\w+\s+)?(?:dates?|timestamps?))",
    re.IGNORECASE,
)
_TEMPORAL = re.compile(r"date|time|_at$|_on$|day|^dt$|_dt$|^ts$|_ts$", re.IGNORECASE)
_CASES: dict[TextCase, re.Pattern[str]] = {
    "upper": re.compile(r"\b(?:upper[- ]?case\w*|upper|capitali[sz]\w*|all caps)\b", re.I),
    "lower": re.compile(r"\b(?:lower[- ]?case\w*|lower)\b", re.I),
    "trim": re.compile(r"\b(?:trim\w*|strip\w*|whitespace)\b", re.I),
}
_TEXT_CUE = re.compile(
    r"\b(?:standardi[sz]\w*|normali[sz]\w*|clean\w*|harmoni[sz]\w*|canonical\w*|"
    r"uniform\w*|consistent)\b",
    re.IGNORECASE,
)
_CODE_LIKE = re.compile(r"sku|code|^id$|_id$|currency|country|iso", re.IGNORECASE)
_NULL_CUE = re.compile(
    r"\bnulls?\b|\bmissing\b|\bempty\b|\bblank\b|\bnon[- ]?null\b|\bnot\s+null\b|"
    r"\bincomplete\b|\b(?:required|critical|mandatory)\s+(?:fields|columns|values)\b",
    re.IGNORECASE,
)
_DUPLICATE_CUE = re.compile(r"\bdedup\w*|\bde-dup\w*|\bduplicat\w*|\bdistinct\b", re.I)
_KEY_WORDS = re.compile(r"\b(?:by|on|per|of)\s+(.+)$", re.IGNORECASE)
_SYMBOLS: dict[str, Comparison] = {"==": "=", "=": "=", "!=": "!=", "<>": "!=", ">": ">"}
_SYMBOLS |= {">=": ">=", "<": "<", "<=": "<=", "≥": ">=", "≤": "<="}
_ENGLISH: dict[str, Comparison] = {
    "greater than or equal to": ">=", "less than or equal to": "<=", "greater than": ">",
    "more than": ">", "higher than": ">", "larger than": ">", "above": ">", "over": ">",
    "exceeds": ">", "exceeding": ">", "exceed": ">", "less than": "<", "lower than": "<",
    "smaller than": "<", "below": "<", "under": "<", "at least": ">=", "at most": "<=",
    "equal to": "=", "equals": "=",
}  # fmt: skip
_VALUE = r"('[^'\n]{0,60}'|\"[^\"\n]{0,60}\"|-?\d+(?:\.\d+)?)"
_SYMBOLIC = re.compile(
    rf"(?<![\w.])([A-Za-z_]\w*)\s*(>=|<=|!=|<>|==|≥|≤|=|>|<)\s*{_VALUE}(?!\w|\.\d)"
)
_WORDED = re.compile(
    rf"(?<![\w.])([A-Za-z_]\w*)\s+(?:is\s+|are\s+|values?\s+)?"
    rf"({'|'.join(sorted(map(re.escape, _ENGLISH), key=len, reverse=True))})\s+{_VALUE}(?!\w|\.\d)",
    re.IGNORECASE,
)
_FILTER_CUE = re.compile(
    r"\b(?:filter\w*|where|only|keep\w*|exclud\w*|remov\w*|drop\w*|select\w*|with)\b", re.I
)
_MULTIPLY_CUE = re.compile(
    r"\b(?:multipl\w*|rates?|factor|conver\w*|scal\w*|times)\b|\u00d7|\*", re.I
)
_FACTOR = re.compile(r"(?<![\w.,/-])(\d+\.\d+|\d+)(?![\w/-]|[.,]\d)")
_NUMERIC = re.compile(
    r"amount|price|revenue|cost|total|value|sales|qty|quantity|sum|fee|balance|income|"
    r"spend|salary|score|weight|elevation|temperature",
    re.IGNORECASE,
)
_UNIT = re.compile(r"(?:\bto|\binto|\bin|→|->)\s*\(?([A-Z]{3})\b")
_ADD_COLUMN = re.compile(
    rf"\badd\w*\s+(?:an?\s+|the\s+)?(?:new\s+)?(?:column\s+)?`?([A-Za-z_]\w*)`?\s+"
    rf"(?:column\s+)?(?:with(?:\s+the)?\s+value|=|set\s+to|containing|holding|of|as)\s+{_VALUE}",
    re.IGNORECASE,
)
_SELECT = re.compile(
    r"\b(?:keep|select|retain)\s+(?:only\s+)?(?:the\s+)?(?!(?:\w+\s+)?(?:rows?|records?|lines?)\b)"
    r"(?:columns?\s*:?\s*)?(.+)$",
    re.I,
)
_RENAME = re.compile(
    r"\brenam\w*\s+(?:the\s+)?(?:column\s+)?`?([A-Za-z_]\w*)`?\s+(?:column\s+)?(?:to|as|into)\s+"
    r"`?([A-Za-z_]\w*)`?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Candidates:
    """The names a task's columns may have, surest first: written out in the words,
    known columns of what it reads, common column words the words use."""

    named: Sequence[str] = ()
    known: Sequence[str] = ()
    common: Sequence[str] = ()

    @property
    def all(self) -> list[str]:
        """Every candidate, surest first."""
        return list(dict.fromkeys([*self.named, *self.known, *self.common]))

    def in_words(self, words: str) -> list[str]:
        """The candidates ``words`` write out (a one-word name as a word of its own,
        in the plural too: ``dates``, not the ``date`` of ``order_date``)."""
        text = Text(words)
        found = []
        for name in self.all:
            if "_" in name:
                if text.mentions(name) >= 2.5:
                    found.append(name)
            elif re.search(rf"(?<![\w-]){re.escape(name)}(?:e?s)?(?![\w-])", words, re.I):
                found.append(name)
        return found

    def surest(self, names: Sequence[str]) -> list[str]:
        """``names`` the words write out as names or that are known columns, if any;
        else the common words among them (``date`` is a column only when no name is)."""
        written = [name for name in names if name in self.named or name in self.known]
        return written or list(names)


@dataclass
class Detected:
    """The operations the words ask for, and guesses offered only when repairing."""

    linked: list[Operation] = field(default_factory=list)
    other: list[Operation] = field(default_factory=list)

    def add(self, operation: Operation, sure: bool) -> None:
        """Keep ``operation`` once, with the surer of its two findings."""
        if operation in self.linked:
            return
        if sure:
            self.linked.append(operation)
            if operation in self.other:
                self.other.remove(operation)
        elif operation not in self.other:
            self.other.append(operation)


def phrases(text: str) -> list[tuple[str, str]]:
    """Each phrase of ``text`` with its clause."""
    found = []
    for clause in clauses(text):
        for phrase in _PHRASES.split(clause):
            if phrase.strip():
                found.append((phrase, clause))
    return found


def detected_operations(text: str, candidates: Candidates) -> Detected:
    """The operations ``text`` asks for, in the order it asks for them."""
    detected = Detected()
    for phrase, clause in phrases(text):
        for operation, sure in _phrase_operations(phrase, clause, text, candidates):
            detected.add(operation, sure)
    for name, value in stated_constants(text).items():
        if name not in candidates.known:
            detected.add(AddConstant(column=name, value=value), sure=False)
    return detected


def _phrase_operations(
    phrase: str, clause: str, text: str, candidates: Candidates
) -> list[tuple[Operation, bool]]:
    found: list[tuple[Operation, bool]] = []
    named = candidates.surest(candidates.in_words(phrase))
    if _DATE_CUE.search(phrase):
        found += _dates(phrase, named, text, candidates)
    elif _TEXT_CUE.search(phrase) or any(cue.search(phrase) for cue in _CASES.values()):
        found += _texts(phrase, named)
    if _NULL_CUE.search(phrase):
        columns = named or list(candidates.named)
        if columns:
            found.append((DropNulls(columns=columns), True))
    if _DUPLICATE_CUE.search(phrase):
        keys = _KEY_WORDS.search(phrase)
        found.append(
            (DropDuplicates(keys=candidates.in_words(keys.group(1)) if keys else []), True)
        )
    found += _filters(phrase, clause, candidates)
    if _MULTIPLY_CUE.search(clause) and phrase == _first_phrase_with(_MULTIPLY_CUE, clause):
        found += _multiplications(clause, text, candidates)
    for match in _ADD_COLUMN.finditer(phrase):
        found.append((AddConstant(column=match.group(1), value=_value(match.group(2))), True))
    selected = _SELECT.search(clause)
    if selected and phrase == _first_phrase_with(_SELECT, clause):
        columns = candidates.in_words(selected.group(1))
        if columns:
            found.append((SelectColumns(columns=columns), True))
    for match in _RENAME.finditer(phrase):
        if match.group(1) in candidates.all and re.match(IDENTIFIER, match.group(2)):
            found.append((RenameColumn(column=match.group(1), to=match.group(2)), True))
    return found


def _first_phrase_with(pattern: re.Pattern[str], clause: str) -> str | None:
    """The first phrase of ``clause`` with a cue (a clause-wide cue counts once)."""
    return next((p for p in _PHRASES.split(clause) if pattern.search(p)), None)


def _dates(
    phrase: str, named: Sequence[str], text: str, candidates: Candidates
) -> list[tuple[Operation, bool]]:
    """Parse the temporal columns the phrase names (any it names after "parse"), else
    the temporal names of the rest of the words (a guess)."""
    temporal = [name for name in named if _TEMPORAL.search(name)]
    parsing = re.search(r"\bpars", phrase, re.IGNORECASE)
    columns, sure = (temporal or (named if parsing else [])), True
    if not columns:
        columns = [name for name in candidates.all if _TEMPORAL.search(name)][:1]
        sure = bool(columns) and columns[0] in candidates.named
    stated = [fmt for words, fmt in DATE_FORMATS.items() if words in phrase]
    fmt: DateFormat | None = stated[0] if stated and stated[0] != "%Y-%m-%d" else None
    timestamp = re.search(r"timestamp|datetime|\btime\b", phrase, re.IGNORECASE)
    return [
        (
            ParseDate(
                column=name,
                type="timestamp" if timestamp or re.search("time|_at$", name) else "date",
                format=fmt,
            ),
            sure,
        )
        for name in columns
    ]


def _texts(phrase: str, named: Sequence[str]) -> list[tuple[Operation, bool]]:
    """Clean the text columns the phrase names: the case it asks for, else upper case
    for codes and trimmed for the rest."""
    asked = [case for case, cue in _CASES.items() if cue.search(phrase)]
    operations: list[tuple[Operation, bool]] = []
    for name in named:
        if _TEMPORAL.search(name):
            continue
        case: TextCase = asked[0] if asked else "upper" if _CODE_LIKE.search(name) else "trim"
        operations.append((CleanText(column=name, case=case), True))
    return operations


def stated_filters(text: str, candidates: Candidates) -> list[FilterRows]:
    """The comparisons of candidate columns with values that ``text`` states
    (``risk_score > 0.8``, "amount greater than 5"), in order, each once."""
    found: list[FilterRows] = []
    for phrase, clause in phrases(text):
        for operation, _ in _filters(phrase, clause, candidates):
            if isinstance(operation, FilterRows) and operation not in found:
                found.append(operation)
    return found


def _filters(phrase: str, clause: str, candidates: Candidates) -> list[tuple[Operation, bool]]:
    """Comparisons of a candidate column with a value (``price > 10``, "amount greater
    than 5"); ``name='value'`` only after a filter word (else it is a setting)."""
    operations: list[tuple[Operation, bool]] = []
    for match in _SYMBOLIC.finditer(phrase):
        name, symbol, value = match.groups()
        if name not in candidates.all:
            continue
        cued = bool(_FILTER_CUE.search(clause[: clause.find(match.group())]))
        if symbol in ("=", "==") and value[0] in "'\"" and not cued:
            continue
        filtered = FilterRows(column=name, comparison=_SYMBOLS[symbol], value=_value(value))
        operations.append((filtered, True))
    for match in _WORDED.finditer(phrase):
        name, words, value = match.groups()
        if name in candidates.all:
            comparison = _ENGLISH[words.lower()]
            operations.append(
                (FilterRows(column=name, comparison=comparison, value=_value(value)), True)
            )
    return operations


def _multiplications(
    clause: str, text: str, candidates: Candidates
) -> list[tuple[Operation, bool]]:
    """A number column times the factor the clause states (a rate, a factor), into a
    column named for the unit it converts to (``amount_usd``), else in place."""
    cue = _MULTIPLY_CUE.search(clause)
    after = clause[cue.end() :] if cue else clause
    factors = [float(f) for f in _FACTOR.findall(after) if not re.fullmatch(r"(19|20)\d\d", f)]
    factors = [f for f in factors if f not in (0.0, 1.0)]
    if not factors:
        return []
    named = [name for name in candidates.in_words(clause) if _NUMERIC.search(name)]
    others = [name for name in candidates.all if _NUMERIC.search(name)]
    columns = named or others[:1]
    if not columns:
        return []
    sure = bool(named) or len(others) == 1
    units = _UNIT.findall(clause)
    operations: list[tuple[Operation, bool]] = []
    for name in columns:
        target = f"{name}_{units[-1].lower()}" if units else name
        operation = MultiplyColumn(column=name, factor=factors[0], to=target)
        operations.append((operation, sure))
    return operations


def _value(text: str) -> str | int | float:
    """A stated value: a number, or the text inside its quotes."""
    if text[:1] in "'\"":
        return text[1:-1]
    number = float(text)
    return int(number) if number.is_integer() and "." not in text else number


def detected_aggregation(text: str, candidates: Candidates) -> Aggregation | None:
    """The aggregation the words ask for ("sum amount per region", "count rows by
    status"): measures of candidate columns, grouped by the candidates they group by."""
    names = candidates.all
    measures: list[Measure] = []
    functions: dict[str, AggregateFunction] = {"sum": "sum", "avg": "avg", "min": "min"}
    functions["max"] = "max"
    for asked in aggregations(text):
        linked = link(asked.phrase, names)
        if asked.function == "count":
            measure = Measure(function="count")
        elif asked.function in functions and linked is not None:
            measure = Measure(function=functions[asked.function], column=linked)
        else:
            continue
        if measure not in measures:
            measures.append(measure)
    groups = [found for phrase in grouping_phrases(text) if (found := link(phrase, names))]
    if not measures:
        return None
    measured = {measure.column for measure in measures}
    return Aggregation(
        group_by=[name for name in dict.fromkeys(groups) if name not in measured],
        measures=measures,
    )
