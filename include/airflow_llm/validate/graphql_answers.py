"""GraphQL answers for the smoke run's HTTP stub: a request's document read just enough to
answer in GraphQL's shape.

The answer to ``{"query": ..., "variables": ...}`` is ``{"data": {<field>: <object>}}``:
the operation's first field, with each selected field a sample value (the value of the
variable of the same name, when the request passes one: an email created upstream comes
back as itself), a list of one object for a sub-selection. A variable the operation
declares that the request leaves empty, an empty Bearer token or a document it cannot
read is answered as a GraphQL server answers it: ``{"errors": [{"message": ...}]}``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

_TOKEN = re.compile(r'\s*(?:([_A-Za-z][_0-9A-Za-z]*)|("(?:[^"\\]|\\.)*")|(-?\d[\d.eE+-]*)|(\S))')
_OPERATIONS = frozenset({"query", "mutation", "subscription"})
Selection = dict[str, "Selection"]


class _Reader:
    """A cursor over a document's tokens (names, strings, numbers, punctuators)."""

    def __init__(self, query: str) -> None:
        self.tokens = [match.group().strip() for match in _TOKEN.finditer(query)]
        self.tokens = [item for item in self.tokens if item and item != ","]
        self.at = 0

    def peek(self) -> str:
        return self.tokens[self.at] if self.at < len(self.tokens) else ""

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if not token or (expected is not None and token != expected):
            raise ValueError(f"expected {expected or 'more'} at token {self.at}, found {token!r}")
        self.at += 1
        return token

    def skip_group(self, opening: str, closing: str) -> list[str]:
        """Skip a bracketed group; its tokens."""
        self.take(opening)
        depth, inside = 1, []
        while depth:
            token = self.take()
            depth += {opening: 1, closing: -1}.get(token, 0)
            inside.append(token)
        return inside[:-1]

    def name(self) -> str:
        token = self.take()
        if not re.match(r"^[_A-Za-z]", token):
            raise ValueError(f"expected a name at token {self.at - 1}, found {token!r}")
        return token

    def field(self) -> tuple[str, Selection]:
        """A field (its alias's name if it has one), past its arguments, with its selection."""
        name = self.name()
        if self.peek() == ":":
            self.take(":")
            self.name()
        if self.peek() == "(":
            self.skip_group("(", ")")
        return name, self.selection() if self.peek() == "{" else {}

    def selection(self) -> Selection:
        self.take("{")
        fields: Selection = {}
        while self.peek() != "}":
            name, sub = self.field()
            fields[name] = sub
        self.take("}")
        return fields


def read_operation(query: str) -> tuple[str, Selection, list[str]]:
    """The operation's first field, its selection and the variables it declares; raises
    ``ValueError`` for a document it cannot read."""
    reader = _Reader(query)
    declared: list[str] = []
    if reader.peek() in _OPERATIONS:
        reader.take()
        if reader.peek() not in ("(", "{"):
            reader.name()
        if reader.peek() == "(":
            inside = reader.skip_group("(", ")")
            declared = [inside[i + 1] for i, item in enumerate(inside[:-1]) if item == "$"]
    reader.take("{")
    field, selection = reader.field()
    return field, selection, declared


def _sample(selection: Selection, variables: Mapping[str, Any]) -> dict[str, Any]:
    return {
        name: [_sample(sub, variables)] if sub else variables.get(name, f"sample {name}")
        for name, sub in selection.items()
    }


def graphql_answer(body: Mapping[str, Any], authorization: str | None) -> dict[str, Any]:
    """The answer to a GraphQL request ``body`` sent with the ``authorization`` header."""
    variables = body.get("variables") or {}
    try:
        field, selection, declared = read_operation(str(body["query"]))
    except ValueError as error:
        return {"errors": [{"message": f"cannot read the document: {error}"}]}
    missing = [name for name in declared if variables.get(name) in (None, "")]
    problems = [f"variable ${name} was not given a value" for name in missing]
    if authorization is not None and not authorization.removeprefix("Bearer").strip():
        problems.append("the Authorization header carries no token")
    if problems:
        return {"errors": [{"message": problem} for problem in problems]}
    answer = _sample(selection, variables) if selection else f"sample {field}"
    return {"data": {field: answer}}


def graphql_request(body: bytes) -> dict[str, Any] | None:
    """A request's body as a GraphQL request (a JSON object with a query), or None."""
    try:
        found = json.loads(body or b"null")
    except ValueError:
        return None
    return found if isinstance(found, dict) and isinstance(found.get("query"), str) else None
