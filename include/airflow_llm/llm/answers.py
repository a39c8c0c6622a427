"""Tolerant reading of model answers: code blocks and JSON objects, with or without fences."""

from __future__ import annotations

import json
import re
from typing import Any

_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


def parse_json_object(text: str) -> dict[str, Any]:
    """The first JSON object in ``text``: bare, fenced in ```json, or wrapped in prose.

    Raises ``ValueError`` with the reason when there is none.
    """
    candidates = [match.group(1) for match in _FENCE.finditer(text)] + [text]
    for candidate in candidates:
        start = candidate.find("{")
        while start != -1:
            try:
                value, _ = json.JSONDecoder().raw_decode(candidate[start:])
            except json.JSONDecodeError:
                start = candidate.find("{", start + 1)
                continue
            if isinstance(value, dict):
                return value
            start = candidate.find("{", start + 1)
    raise ValueError("the answer holds no JSON object")


def extract_code_block(answer: str, languages: tuple[str, ...]) -> str:
    """The code of the first fenced block (any of ``languages`` or none), else the answer.

    An opening fence whose closing fence never came (the answer hit ``max_tokens``)
    still counts: the code runs to the end of the answer.
    """
    names = "|".join(re.escape(language) for language in languages)
    match = re.search(rf"```(?:{names})?[ \t]*\n(.*?)(?:```|\Z)", answer, re.DOTALL | re.IGNORECASE)
    return (match.group(1) if match else answer).strip() + "\n"
