"""When a description says its pipeline runs: the schedule and the upstream Assets its
words state ("Schedule: @daily (runs once per day)", "runs every hour", "cron
``0 6 * * 1-5``", "Triggered by Dataset "orders_landed"", "manual trigger only").

Only lines that speak of a schedule (or, for Assets, of a trigger) count, the first
that decides wins, and a line that says the pipeline is triggered by hand decides
"no schedule": a description that states nothing gets none, as today.
"""

from __future__ import annotations

import re

from croniter import croniter

from airflow_llm.spec import SCHEDULE_PRESETS

_SCHEDULE_LINE = re.compile(r"\bschedul\w*", re.IGNORECASE)
"""A line about the schedule ("reschedule", a sensor's mode, is not one)."""
_TRIGGER_LINE = re.compile(r"\b(?:schedul|trigger)\w*", re.IGNORECASE)
_PRESET = re.compile(r"@[a-z]+\b")
_CRON = re.compile(r"(?<![\w*/,-])((?:[\d*/,?-]+\s+){4}[\d*/,?A-Za-z-]+)(?![\w*/,-])")
_MANUAL = re.compile(r"\b(?:manual\w*|none|on demand|no schedule)\b", re.IGNORECASE)
_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("@hourly", re.compile(r"\b(?:hourly|every hour|once an hour)\b", re.IGNORECASE)),
    (
        "@daily",
        re.compile(r"\b(?:daily|every day|once (?:a|per) day|nightly)\b", re.IGNORECASE),
    ),
    ("@weekly", re.compile(r"\b(?:weekly|every week|once (?:a|per) week)\b", re.IGNORECASE)),
    ("@monthly", re.compile(r"\b(?:monthly|every month|once (?:a|per) month)\b", re.IGNORECASE)),
    ("@quarterly", re.compile(r"\b(?:quarterly|every quarter)\b", re.IGNORECASE)),
    ("@yearly", re.compile(r"\b(?:yearly|annually|every year)\b", re.IGNORECASE)),
)
_ASSET_WORD = re.compile(r"\b(?:datasets?|assets?)\b", re.IGNORECASE)
_QUOTED = re.compile(r"[\"'`“]([^\"'`”\n]{1,200})[\"'`”]")
_CLAUSE_END = re.compile(r"[.;](?:\s|$)")
_ASSET_CODE = re.compile(r"\b(?:Dataset|Asset)\(\s*(?:uri=|name=)?[\"']([^\"'\n]{1,200})[\"']")


def stated_schedule(text: str) -> str | None:
    """The preset or cron expression the first line about a schedule states (a preset,
    a valid cron expression, then words such as "daily"); None when that line says the
    pipeline runs by hand, or when no line states one."""
    for line in text.splitlines():
        if not _SCHEDULE_LINE.search(line):
            continue
        decided = _line_schedule(line)
        if decided is not None:
            return decided or None
    return None


def _line_schedule(line: str) -> str | None:
    """A line's schedule; "" when it says "by hand"; None when it says neither."""
    presets = [m.group() for m in _PRESET.finditer(line.lower()) if m.group() in SCHEDULE_PRESETS]
    if presets:
        return presets[0]
    crons = [m.group(1).strip() for m in _CRON.finditer(line)]
    valid = [cron for cron in crons if croniter.is_valid(cron)]
    if valid:
        return valid[0]
    for preset, words in _WORDS:
        if words.search(line):
            return preset
    return "" if _MANUAL.search(line) else None


def stated_assets(text: str) -> list[str]:
    """The Assets (or Airflow 2 Datasets) whose updates trigger the pipeline: the names
    or URIs quoted after the word "asset" or "dataset" (in the same clause) on a line
    about its schedule or trigger, or written ``Asset("...")``, in order."""
    found: list[str] = []
    for line in text.splitlines():
        if not _TRIGGER_LINE.search(line):
            continue
        names = [m.group(1) for m in _ASSET_CODE.finditer(line)]
        for word in _ASSET_WORD.finditer(line):
            rest = _CLAUSE_END.split(line[word.end() :], maxsplit=1)[0]
            names += [m.group(1) for m in _QUOTED.finditer(rest)]
        for name in (name.strip() for name in names):
            if name and name not in found:
                found.append(name)
    return found
