"""Token counts with tiktoken (offline encodings), for budgets and usage estimates."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import tiktoken

from airflow_llm.tiktoken_offline import ensure_offline_tiktoken

MESSAGE_OVERHEAD = 4
"""Tokens a chat format spends around each message (role and separators)."""


@lru_cache(maxsize=4)
def _encoding(name: str) -> tiktoken.Encoding:
    ensure_offline_tiktoken()
    return tiktoken.get_encoding(name)


def encoding_name(model: str) -> str:
    """``o200k_base`` for the GPT-4o/4.1/o-series families, ``cl100k_base`` otherwise.

    Self-hosted models have their own tokenizers; cl100k is a close, stable estimate.
    """
    lowered = model.lower()
    if lowered.startswith(("gpt-4o", "gpt-4.1", "gpt-5", "o1", "o3", "o4")):
        return "o200k_base"
    return "cl100k_base"


def count_tokens(text: str, model: str = "") -> int:
    """Tokens in ``text`` for ``model``."""
    return len(_encoding(encoding_name(model)).encode(text, disallowed_special=()))


def count_message_tokens(messages: Sequence[dict[str, str]], model: str = "") -> int:
    """Prompt tokens of a chat request."""
    return sum(count_tokens(m["content"], model) + MESSAGE_OVERHEAD for m in messages) + 2
