"""Schema linking: which tables, columns, values and names a task's words point at.

Text-to-SQL systems rank schema items by how a question's words match them before a
model decodes; small models lean on that ranking most (asked to pick from a list, the
135M embedded model picks early entries). Here the ranking is lexical and generic:
identifiers quoted verbatim, the words of a name (``customer_id`` is "customer" and
"id") found in the text, plurals folded, and English cue words for operations
("sum", "per", "latest", "drop ... where"). Nothing here knows any particular spec.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TypeVar

Item = TypeVar("Item")

_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9]*|\d+(?:\.\d+)?")
_IDENTIFIER = re.compile(r"\b[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+\b")
_QUOTED = re.compile(
    r"""(?<![A-Za-z0-9])'([^'\n]{1,60})'(?![A-Za-z0-9])|"([^"\n]{1,60})"|`([^`\n]{1,60})`"""
)
_CODE_NAME = re.compile(r"[A-Za-z_]\w*(?:\.\w+)+|[A-Za-z]\w*_\w*")
_TECHNICAL = frozenset(
    {"SQL", "CSV", "TSV", "JSON", "XML", "HTML", "PDF", "API", "APIS", "REST", "HTTP", "HTTPS",
     "URL", "URI", "FTP", "SFTP", "SSH", "ETL", "ELT", "DAG", "DAGS", "ID", "IDS", "UUID",
     "AWS", "GCP", "GCS", "S3", "SQS", "SNS", "UTC", "CPU", "GPU", "LLM", "SMTP", "SMS",
     "YAML", "DDL", "DML", "CTAS", "UI", "TODO", "NOTE", "AND", "OR", "NOT", "NULL"}
)  # fmt: skip
"""Upper-case words that name formats, protocols, tools or SQL: never data values."""
_SETTING_BEFORE = re.compile(
    r"(?:\b\w*_?(?:id|conn|connection)\s*[:=]\s*|\bvia\s+|\bconnection\s+)$", re.I
)
_SETTING_AFTER = re.compile(r"^\s*(?:connection|conn\b|conn_id)", re.I)
"""Words around a quoted Airflow setting (``conn_id='warehouse'``, "via 'pg_main'
connection"): a connection or task id, not a value of the data."""
_NUMBER = re.compile(r"(?<![\w.{])-?\d+(?:\.\d+)?(?![\d}]|\.\d)")
_COMPOUND = re.compile(
    r"\b(twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)-(one|two|three|four|five|six|seven|eight|nine)\b"
)
_NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15,
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
    "hundred": 100,
}  # fmt: skip
_GENERIC = frozenset({"id", "key", "code", "at", "ts", "on", "the", "of", "a", "an"})
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "of",
        "for",
        "to",
        "in",
        "into",
        "on",
        "at",
        "by",
        "and",
        "or",
        "with",
        "from",
        "as",
        "is",
        "are",
        "be",
        "its",
        "it",
        "this",
        "that",
        "each",
        "per",
        "every",
        "all",
        "any",
        "one",
        "row",
        "rows",
        "table",
        "tables",
        "day",
        "days",
    ]
)
_INTO = re.compile(r"\b(into|in|to)\s+(?:the\s+)?`?([A-Za-z_][A-Za-z0-9_.$]*)`?", re.IGNORECASE)
_COLUMN_NAMED = re.compile(r"\b(?:an?|the)\s+([a-z][a-z0-9_]*)\s+column\b", re.IGNORECASE)


def stem(word: str) -> str:
    """A word without its plural ending: ``orders`` -> ``order``, ``categories`` -> ``category``."""
    word = word.lower()
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def words(text: str) -> list[str]:
    """Lower-case word stems of ``text``; ``snake_case`` names count as their parts."""
    return [stem(part) for token in _TOKEN.findall(text) for part in token.split("_") if part]


def name_words(name: str) -> list[str]:
    """The words of a table or column name (``raw.orders`` -> ``order``), generic ones
    (``id``, ``at``...) left out unless nothing else is left."""
    parts = [stem(part) for part in re.split(r"[._$]+", name.lower()) if part]
    meaningful = [part for part in parts if part not in _GENERIC]
    return meaningful or parts


@dataclass(frozen=True)
class Text:
    """A task's description (and related text) as linking sees it."""

    text: str
    context: str = ""
    """Text that speaks about this task's output without being its instruction (the
    descriptions of the tasks after it): it can name output columns, never operations."""

    @cached_property
    def stems(self) -> list[str]:
        """The description's word stems, in order."""
        return words(self.text)

    @cached_property
    def stem_set(self) -> frozenset[str]:
        """The description's word stems."""
        return frozenset(self.stems)

    @cached_property
    def lowered(self) -> str:
        """The description in lower case."""
        return self.text.lower()

    def mentions(self, name: str) -> float:
        """How strongly the description points at ``name``: 3 when it is written out,
        2.5 to 2.9 when its last part is (more when its schema's words are there too), 2
        when all its words are there, less for some of them, 0 for none."""
        last = name.rsplit(".", 1)[-1].lower()
        if re.search(rf"(?<![A-Za-z0-9_]){re.escape(name.lower())}(?![A-Za-z0-9_])", self.lowered):
            return 3.0
        parts = name_words(name)
        found = sum(part in self.stem_set for part in parts)
        if re.search(rf"(?<![A-Za-z0-9_]){re.escape(last)}(?![A-Za-z0-9_])", self.lowered):
            return 2.5 + 0.4 * found / len(parts) if "." in name else 2.5
        if found == len(parts):
            return 2.0
        return found / len(parts)

    def rank(self, items: Sequence[Item], score: Callable[[Item], float]) -> list[Item]:
        """``items`` by descending score; ties keep their order."""
        order = {id(item): index for index, item in enumerate(items)}
        return sorted(items, key=lambda item: (-score(item), order[id(item)]))

    def rank_names(
        self, names: Sequence[str], bonus: Callable[[str], float] = lambda n: 0.0
    ) -> list[str]:
        """``names`` (tables, columns) by how strongly the description mentions them."""
        return self.rank(list(names), lambda name: self.mentions(name) + bonus(name))

    def mentioned(self, names: Iterable[str], threshold: float = 2.0) -> list[str]:
        """The ``names`` the description points at fully (all their words)."""
        return [name for name in names if self.mentions(name) >= threshold]

    def cue_counts(self, lexicon: dict[str, tuple[str, ...]]) -> dict[str, int]:
        """For each label, how many of its cue words or phrases the description holds."""
        counts = {}
        for label, cues in lexicon.items():
            counts[label] = sum(self._count_cue(cue) for cue in cues)
        return counts

    def _count_cue(self, cue: str) -> int:
        if " " in cue or "-" in cue:
            return self.lowered.count(cue)
        return self.stems.count(stem(cue))

    def rank_by_cues(self, labels: Sequence[str], lexicon: dict[str, tuple[str, ...]]) -> list[str]:
        """``labels`` with the ones whose cues the description holds first (most cues first)."""
        counts = self.cue_counts(lexicon)
        return self.rank(list(labels), lambda label: float(counts.get(label, 0)))

    @cached_property
    def quoted(self) -> list[str]:
        """Values written in quotes: ``status 'completed'``. Back-quoted names (Markdown
        code: `` `support.tickets` ``, `` `daily_totals` ``) are tables and columns, and
        a quoted connection or task id (``conn_id='warehouse'``) a setting, not values."""
        return _unique(
            value
            for match in _QUOTED.finditer(self.text)
            for value in [next(group for group in match.groups() if group)]
            if not (match.group(3) and _CODE_NAME.fullmatch(value))
            and not _SETTING_BEFORE.search(self.text[max(0, match.start() - 40) : match.start()])
            and not _SETTING_AFTER.match(self.text[match.end() :])
        )

    @cached_property
    def numbers(self) -> list[int | float]:
        """Numbers written in digits or as words (``28-day``, ``three-letter``)."""
        found: list[int | float] = []
        for match in _NUMBER.finditer(self.text):
            value = float(match.group())
            found.append(int(value) if value.is_integer() else value)
        compounds = list(_COMPOUND.finditer(self.lowered))  # twenty-four
        found += [_NUMBER_WORDS[m.group(1)] + _NUMBER_WORDS[m.group(2)] for m in compounds]
        rest = _COMPOUND.sub(" ", self.lowered)
        found += [_NUMBER_WORDS[w] for w in re.findall(r"[a-z]+", rest) if w in _NUMBER_WORDS]
        return _unique(found)

    @cached_property
    def codes(self) -> list[str]:
        """Upper-case codes (``US``, ``EMEA``): values more often than words; the names
        of formats, protocols and tools (``SQL``, ``CSV``, ``API``) are words."""
        found = re.findall(r"\b[A-Z]{2,6}\b", self.text)
        return _unique(code for code in found if code not in _TECHNICAL)

    def identifiers(self) -> list[str]:
        """``snake_case`` names in the description and its context, and the ``x`` of
        "a x column": names the author means for columns."""
        both = f"{self.text}\n{self.context}"
        named = [match.group(1).lower() for match in _COLUMN_NAMED.finditer(both)]
        return _unique([*named, *(match.lower() for match in _IDENTIFIER.findall(both))])


def target_table(description: str, fallback: str, reads: Iterable[str] = ()) -> str:
    """The table a task writes, as its description names it (``... into revenue_daily``);
    ``fallback`` (the task's name) when it names none. Tables it reads are not targets."""
    known = {name.lower() for name in reads} | {name.rsplit(".", 1)[-1].lower() for name in reads}
    candidates: list[tuple[int, str]] = []
    for match in _INTO.finditer(description):
        name = match.group(2).rstrip(".")
        looks_like_table = "_" in name or "." in name
        if looks_like_table and name.lower() not in known and name.lower() not in _STOPWORDS:
            candidates.append((0 if match.group(1).lower() == "into" else 1, name))
    return min(candidates, key=lambda pair: pair[0])[1] if candidates else fallback


def _unique(items: Iterable[Item]) -> list[Item]:
    seen: list[Item] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


@dataclass(frozen=True)
class Cues:
    """English cue words per label, for ranking enums: the first label with cues wins."""

    lexicon: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def rank(self, text: Text, labels: Sequence[str]) -> list[str]:
        """``labels`` with the cued ones first."""
        return text.rank_by_cues(labels, self.lexicon)


AGGREGATE_CUES: dict[str, tuple[str, ...]] = {
    "count_distinct": ("distinct", "unique", "different"),
    "count": ("count", "number of", "how many"),
    "sum": ("sum", "total", "summed"),
    "avg": ("average", "avg", "mean"),
    "min": ("minimum", "min", "lowest", "smallest", "earliest", "cheapest"),
    "max": ("maximum", "max", "highest", "largest", "latest", "most recent", "biggest"),
}
"""Words that ask for an aggregate function, most specific first ("number of distinct"
is a distinct count, not a count)."""
_VERBS = (
    r"is|are|was|were|be|been|have|has|had|do|does|did|get|got|place|placed|come|came|"
    r"contain|contains|belong|belongs|sold|bought|made|make|spent|spend|take|took|give|gives|"
    r"appear|appears|exist|exists|go|went"
)
"""Verbs that end a noun phrase ("how many customers *have* no email")."""
_PHRASE_END = re.compile(
    r"[.,;:()?!]|\b(?:per|by|for|into|in|from|of|with|where|and|or|then|grouped|group|each|"
    rf"over|across|joined|during|since|that|who|which|{_VERBS})\b"
)
_GROUPING = re.compile(
    r"\b(?:per|grouped by|group by|for each|by each|broken down by|each|by)\s+(?:the\s+|each\s+)?"
    r"(.+?)(?=[.;:()?!]|\b(?:for|into|in|from|of|with|where|then|over|during|since|give|"
    rf"show|list|return|order|sorted|{_VERBS})\b|$)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Aggregation:
    """An aggregate the text asks for: the function and the words naming its column."""

    function: str
    phrase: str
    within_days: int | None = None
    """Only rows of the N days ending on the logical date ("in the last 30 days")."""


def aggregations(text: str) -> list[Aggregation]:
    """Aggregates in reading order: ``Sum order amounts`` -> ``sum`` of "order amounts"."""
    lowered = text.lower()
    found: list[tuple[int, Aggregation]] = []
    taken: list[range] = []
    for function, cues in AGGREGATE_CUES.items():
        for cue in cues:
            for match in re.finditer(rf"\b{re.escape(cue)}(?:s|ed|ing)?\b", lowered):
                if any(match.start() in span for span in taken):
                    continue
                if function == "count" and re.match(
                    r"\s+(?:of\s+)?(?:the\s+)?(?:distinct|unique|different)\b",
                    lowered[match.end() :],
                ):
                    continue  # "count distinct x", "number of different x": a distinct count
                taken.append(range(match.start(), match.end() + 12))
                rest = lowered[match.end() :].lstrip()
                rest = re.sub(
                    r"^(?:(?:of|the|all)\s+)*(?:(?:number|amount|count|total)\s+of\s+)?", "", rest
                )
                end = _PHRASE_END.search(rest)
                phrase = rest[: end.start()] if end else rest
                found.append((match.start(), Aggregation(function, " ".join(phrase.split()[:4]))))
    return [aggregation for _, aggregation in sorted(found, key=lambda pair: pair[0])]


DAYS_SINCE_LATEST = "days_since_latest"
"""The windowed aggregate "days since the last X": days from the latest date to the
logical date."""
_WINDOW = re.compile(
    r"\b(?:in|over|within|during|for)\s+(?:the\s+)?(?:last|past|previous|trailing)?\s*"
    r"(\d+(?:\s*(?:,|\band\b|\bor\b)\s*\d+)*)[\s-]+days?\b"
)
_DAYS_SINCE = re.compile(
    r"\bdays?\s+since\s+(?:the\s+|their\s+|its\s+)?(?:last|latest|most\s+recent)\s+"
    r"([a-z][a-z0-9_ ]*?)(?=[.,;:()]|\band\b|\bin\b|\bper\b|\binto\b|$)"
)
_DAY_COUNT = re.compile(
    r"\b([a-z][a-z0-9_]*)\s+in\s+days\b|\bdays?\s+since\s+(?!(?:the\s+|their\s+|its\s+)?"
    r"(?:last|latest|most\s+recent)\b)([a-z][a-z0-9_]*)"
)
_CLAUSE_START = re.compile(r"[.,;:()]|\band\b")


def windowed_aggregations(text: str) -> list[Aggregation]:
    """Aggregates over the days ending on the logical date, in reading order: "events in
    the last 7, 30 and 90 days" -> ``count`` of "events" within 7, 30 and 90 days;
    "distinct event types in 30 days" -> ``count_distinct`` of "event types" within 30;
    "days since last event" -> :data:`DAYS_SINCE_LATEST` of "event"."""
    lowered = text.lower()
    found: list[tuple[int, Aggregation]] = []
    for match in _WINDOW.finditer(lowered):
        before = lowered[: match.start()]
        starts = [m.end() for m in _CLAUSE_START.finditer(before)]
        phrase = before[max(starts, default=0) :].strip()
        if not phrase:
            continue
        asked = aggregations(phrase)
        function, what = (asked[0].function, asked[0].phrase) if asked else ("count", phrase)
        for number in re.findall(r"\d+", match.group(1)):
            found.append((match.start(), Aggregation(function, what, int(number))))
    for match in _DAYS_SINCE.finditer(lowered):
        found.append((match.start(), Aggregation(DAYS_SINCE_LATEST, match.group(1).strip())))
    return [aggregation for _, aggregation in sorted(found, key=lambda pair: pair[0])]


def day_counts(text: str) -> list[str]:
    """What a row's age in days is asked of: "tenure in days" -> "tenure"; "days since
    signup" -> "signup" ("days since the last X" is an aggregate, not a row's age)."""
    return _unique(
        (match.group(1) or match.group(2)) for match in _DAY_COUNT.finditer(text.lower())
    )


def grouping_phrases(text: str) -> list[str]:
    """What rows are grouped by: ``per customer`` -> "customer"; ``grouped by
    country_code and channel`` -> "country_code", "channel"."""
    phrases: list[str] = []
    for match in _GROUPING.finditer(text):
        before = text[: match.start()] + " "
        if re.search(r"\b(?:ordered|sorted|order|sort|ranked)\s+$", before):
            continue  # "ordered by x" orders, it does not group
        passive = re.search(
            r"\b(\w+(?:ed|en)|made|sold|held|kept|paid|bought|done|used)\s+$", before
        )
        if passive and match.group(0).lower().startswith("by"):
            continue  # "made by members": who did it, not a group
        for part in re.split(r",|\band\b", match.group(1)):
            words_ = part.strip().split()
            if words_ and words_[0].lower() in ("ordered", "sorted", "ranked", "order", "sort"):
                break  # "..., ordered by x" orders, it does not group
            if words_:
                phrases.append(" ".join(words_[:3]))
    return phrases


def link(phrase: str, names: Sequence[str]) -> str | None:
    """The name a short phrase means: the one whose words its last word (the head noun)
    matches, else the one sharing most words; None when none shares a word."""
    stems = words(phrase)
    if not stems:
        return None
    exact = [name for name in names if name.rsplit(".", 1)[-1].lower() == phrase.strip().lower()]
    if exact:
        return exact[0]
    head = stems[-1]
    by_head = [name for name in names if head in name_words(name)]
    if by_head:
        return min(by_head, key=lambda name: len(name_words(name)))
    scored = [(sum(s in name_words(name) for s in stems), name) for name in names]
    best = max(scored, default=(0, ""), key=lambda pair: pair[0])
    return best[1] if best[0] > 0 else None
