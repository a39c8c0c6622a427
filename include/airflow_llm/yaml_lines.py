"""YAML parsing that remembers where every value came from.

``yaml.safe_load`` forgets line numbers and silently keeps the last of two equal
keys. Specs are written by hand, so errors must point at a line: this module
composes the node tree first (positions kept), rejects duplicate and non-string keys,
nesting deeper than any spec needs and alias bombs, then builds plain Python data
from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MAX_NODES = 100_000
"""Nodes one document may expand to, aliases counted each time they are used."""
MAX_DEPTH = 64
"""Nesting levels one document may have (PyYAML composes recursively)."""
_TEXT_KEY_TAGS = frozenset({"tag:yaml.org,2002:str", "tag:yaml.org,2002:merge"})
"""Keys are field names: text, or the ``<<`` merge key."""


@dataclass(frozen=True)
class YamlProblem:
    """A problem found while reading YAML, at a 1-based line."""

    line: int
    message: str


class YamlDocumentError(ValueError):
    """The text is not a usable YAML document."""

    def __init__(self, problems: list[YamlProblem]) -> None:
        super().__init__("; ".join(f"line {p.line}: {p.message}" for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class YamlDocument:
    """Parsed data plus the node tree that knows each value's line."""

    data: Any
    root: Node
    line_offset: int = 0

    def line_of(self, loc: tuple[str | int, ...]) -> int:
        """The 1-based line of the value at ``loc`` (or of its nearest existing parent)."""
        node = self.root
        line = node.start_mark.line + 1
        for part in loc:
            child = _child(node, part)
            if child is None:
                break
            node = child
            line = node.start_mark.line + 1
        return line + self.line_offset


def _child(node: Node, part: str | int) -> Node | None:
    if isinstance(node, MappingNode):
        pairs: list[tuple[Node, Node]] = node.value
        if isinstance(part, int):  # a mapping written where a list is accepted
            return pairs[part][1] if 0 <= part < len(pairs) else None
        for key, value in pairs:
            if isinstance(key, ScalarNode) and key.value == part:
                return value
        return None
    if isinstance(node, SequenceNode) and isinstance(part, int):
        items: list[Node] = node.value
        return items[part] if 0 <= part < len(items) else None
    return None


class _DepthLimitedLoader(yaml.SafeLoader):
    """A safe loader that refuses to compose nodes nested deeper than :data:`MAX_DEPTH`."""

    depth = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        """Compose one node, counting how deep it is."""
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                message = f"nested more than {MAX_DEPTH} levels deep"
                raise yaml.composer.ComposerError(None, None, message, mark)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def parse_yaml(text: str, line_offset: int = 0) -> YamlDocument:
    """Parse one YAML document, keeping positions; raise :class:`YamlDocumentError`."""
    try:
        loader = _DepthLimitedLoader(text)
    except yaml.reader.ReaderError as error:  # a character YAML does not allow
        line = text[: error.position].count("\n") + 1 + line_offset
        character = f"U+{error.character:04X}" if isinstance(error.character, int) else "?"
        message = f"character {character} is not allowed in YAML (a control character)"
        raise YamlDocumentError([YamlProblem(line, message)]) from None
    try:
        root = loader.get_single_node()
        if root is None:
            raise YamlDocumentError([YamlProblem(1 + line_offset, "the YAML document is empty")])
        problems = _structural_problems(root, line_offset)
        if problems:
            raise YamlDocumentError(problems)
        data = loader.construct_document(root)
    except yaml.MarkedYAMLError as error:
        raise YamlDocumentError([_problem_from_yaml_error(error, line_offset)]) from None
    except yaml.YAMLError as error:
        raise YamlDocumentError([YamlProblem(1 + line_offset, str(error))]) from None
    finally:
        loader.dispose()
    return YamlDocument(data=data, root=root, line_offset=line_offset)


def _problem_from_yaml_error(error: yaml.MarkedYAMLError, line_offset: int) -> YamlProblem:
    mark = error.problem_mark or error.context_mark
    line = (mark.line + 1 if mark is not None else 1) + line_offset
    message = " ".join(part for part in (error.context, error.problem) if part)
    if mark is not None and "cannot start any token" in message:
        message += " (quote values that start with '@' or '`', e.g. schedule: \"@daily\")"
    return YamlProblem(line, message or "invalid YAML")


def _structural_problems(root: Node, line_offset: int) -> list[YamlProblem]:
    """Duplicate and non-string mapping keys, and documents that expand past :data:`MAX_NODES`."""
    problems: list[YamlProblem] = []
    stack = [root]
    visited = 0
    while stack:
        node = stack.pop()
        visited += 1
        if visited > MAX_NODES:
            line = root.start_mark.line + 1 + line_offset
            return [YamlProblem(line, f"the document expands to more than {MAX_NODES} values")]
        if isinstance(node, MappingNode):
            seen: dict[str, int] = {}
            for key, value in node.value:
                line = key.start_mark.line + 1 + line_offset
                if not isinstance(key, ScalarNode):
                    problems.append(YamlProblem(line, "keys must be text, not a list or mapping"))
                elif key.tag not in _TEXT_KEY_TAGS:
                    message = f"keys must be text: quote {key.value!r} or use another key"
                    problems.append(YamlProblem(line, message))
                elif key.value in seen:
                    message = f"duplicate key {key.value!r} (first at line {seen[key.value]})"
                    problems.append(YamlProblem(line, message))
                else:
                    seen[key.value] = line
                stack.append(value)
        elif isinstance(node, SequenceNode):
            stack.extend(node.value)
    return problems
