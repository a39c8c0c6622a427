"""Words that update the rows a table already has by key (an upsert), the key they
give, and the table a merge names without calling it a table.

A step upserts when its words say so ("upsert", "insert or update", "ON CONFLICT (id)
DO UPDATE", "update the existing rows"), or when they merge something with or into a
target and update it ("merge the vendor data with the internal inventory system to
update stock levels"). Its key is what "ON CONFLICT (...)", "keyed by/on", "join(ed)
... on", "on" or "by" put first among the columns loaded. The target of such a merge
names the table ("internal inventory system": ``internal_inventory``). Generic English
and SQL only.
"""

from __future__ import annotations

import re
from collections.abc import Collection

_UPSERTS = re.compile(
    r"\bupsert\w*|\binsert\w*\s+or\s+updat\w*|\bon\s+conflict\b[^.;]*?\bdo\s+update\b"
    r"|\bupdat\w*\s+(?:the\s+|any\s+|all\s+)?(?:existing|matching)\s+(?:rows|records|entries)\b",
    re.IGNORECASE,
)
"""Words that say a row whose key the table holds is updated, a new one inserted."""
_MERGE = re.compile(
    r"\bmerg(?:e|es|ed|ing)\b(?:[^.;:•\n]|\.(?=\w))*?\b(?:with|into)\s+"
    r"(?P<target>[A-Za-z_][\w ]*)",
    re.IGNORECASE,
)
"""A merge with or into a target (the words after ``with``/``into``), in one sentence
(a file name's dot ends none)."""
_UPDATES = re.compile(r"\bupdat(?:e|es|ed|ing)\b", re.IGNORECASE)
_PHRASE_END = frozenset({
    "to", "for", "by", "on", "using", "via", "and", "so", "in", "at", "from", "then",
    "where", "which", "that", "as", "after", "before", "when", "while", "of",
})  # fmt: skip
"""Words that end the noun phrase naming a merge's target."""
_LEADING = frozenset({"the", "a", "an", "our", "its", "their", "existing", "current"})
_GENERIC = frozenset({
    "system", "systems", "table", "tables", "database", "databases", "db", "records",
    "record", "rows", "row", "data", "dataset", "datasets", "store", "stores", "warehouse",
    "repository",
})  # fmt: skip
"""Words that say what kind of target it is, not which one (``... system``)."""
_KEYS = (
    re.compile(r"\bon\s+conflict\s*\((?P<names>[^)]*)\)", re.IGNORECASE),
    re.compile(r"\bkeyed\s+(?:by|on)\s+(?:the\s+)?(?P<names>[`\"]?\w+)", re.IGNORECASE),
    re.compile(r"\bjoin(?:ed|s)?\b[^.;•]*?\bon\s+(?:the\s+)?(?P<names>[`\"]?\w+)", re.IGNORECASE),
    re.compile(r"\bon\s+(?:the\s+)?(?P<names>[`\"]?\w+)", re.IGNORECASE),
    re.compile(r"\bby\s+(?:the\s+)?(?P<names>[`\"]?\w+)", re.IGNORECASE),
)
"""Where words give a key, surest first."""


def updates_existing(text: str) -> bool:
    """Whether the words update the rows a table holds by key and insert the others
    ("upsert", "insert or update", "ON CONFLICT ... DO UPDATE", "update existing rows",
    a merge with or into a target that updates it)."""
    merges = _MERGE.search(text) is not None and _UPDATES.search(text) is not None
    return merges or _UPSERTS.search(text) is not None


def merged_table(text: str) -> str | None:
    """The table a merge's target names, in snake case (``merge ... with the internal
    inventory system``: ``internal_inventory``); None when its words say only what kind
    of target it is ("with existing records") or it names a file."""
    for match in _MERGE.finditer(text):
        if re.match(r"\.\w", text[match.end() :]):
            continue  # a file (``into merged.csv``)
        words = []
        for word in match.group("target").split():
            if word.lower() in _PHRASE_END:
                break
            words.append(word.lower())
        while words and words[0] in _LEADING:
            words.pop(0)
        while words and words[-1] in _GENERIC:
            words.pop()
        if words:
            return "_".join(words[:4])
    return None


def stated_keys(text: str, columns: Collection[str]) -> list[str]:
    """The key the words give among ``columns``: the columns of ``ON CONFLICT (...)``,
    else the one after "keyed by/on", "join(ed) ... on", "on" or "by" (the first that is
    a column); none if they give none."""
    for pattern in _KEYS:
        for match in pattern.finditer(text):
            names = [name.strip(' `"') for name in match.group("names").split(",")]
            if names and all(name in columns for name in names):
                return list(dict.fromkeys(names))
    return []
