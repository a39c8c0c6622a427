"""GraphQL request bodies compiled from typed parameters, never written by a model.

A document has one operation (``query`` or ``mutation``) named after its field, whose
arguments are all variables (``$email: String!``), passed one by one or as the fields of
one ``input`` object, and a selection set written from dotted paths (``addresses.region``
selects ``addresses { region }``). It is well-formed by construction: names match
GraphQL's ``Name``, braces balance, and tokens are spaced so that no ``{{``, ``{%`` or
``{#`` occurs (the body is a Jinja template of Airflow's). The body is the JSON object
``{"query": ..., "variables": ...}`` in which a value may be a Jinja expression that
renders a JSON literal at run time (an upstream task's XCom, an Airflow Variable).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Literal

NAME = r"^[_A-Za-z][_0-9A-Za-z]*$"
"""A GraphQL name (a field, an argument, a variable)."""
PATH = r"^[_A-Za-z][_0-9A-Za-z]*(?:\.[_A-Za-z][_0-9A-Za-z]*)*$"
"""A selected field, with the fields it is nested in before it (``addresses.region``)."""
Operation = Literal["query", "mutation"]
VARIABLE_TYPE = "String!"
"""The type of every variable: the words state values as text."""
_VALUE = "__airflow_llm_graphql_value_{}__"
"""A stand-in for a value while the body is written as JSON."""

Tree = dict[str, "Tree"]


def selection_tree(paths: Sequence[str]) -> Tree:
    """The nested selection of ``paths``, in their order (``a.b`` and ``a.c``: ``a``
    with ``b`` and ``c``); raises ``ValueError`` for a path that is not one."""
    tree: Tree = {}
    for path in paths:
        if not re.match(PATH, path):
            raise ValueError(f"not a field path: {path!r}")
        node = tree
        for part in path.split("."):
            node = node.setdefault(part, {})
    return tree


def selection_set(tree: Tree) -> str:
    """``{ a b { c } }`` for ``tree``; empty for an empty one (a scalar field)."""
    if not tree:
        return ""
    fields = [f"{name} {selection_set(sub)}".rstrip() for name, sub in tree.items()]
    return "{ " + " ".join(fields) + " }"


def operation_name(field: str) -> str:
    """The operation's name: its field's, capitalized (``createCustomer``:
    ``CreateCustomer``)."""
    return field[:1].upper() + field[1:]


def document(
    operation: Operation,
    field: str,
    arguments: Sequence[str],
    selection: Sequence[str],
    input_object: bool = False,
) -> str:
    """The document calling ``field`` with the variables ``arguments`` (the fields of one
    ``input`` object when ``input_object``) and selecting ``selection``."""
    for name in (field, *arguments):
        if not re.match(NAME, name):
            raise ValueError(f"not a GraphQL name: {name!r}")
    header = f"{operation} {operation_name(field)}"
    if arguments:
        header += "(" + ", ".join(f"${name}: {VARIABLE_TYPE}" for name in arguments) + ")"
    passed = ", ".join(f"{name}: ${name}" for name in arguments)
    call = field
    if arguments:
        call += f"(input: {{ {passed} }})" if input_object else f"({passed})"
    inner = " ".join(part for part in (call, selection_set(selection_tree(selection))) if part)
    return f"{header} {{ {inner} }}"


def request_body(query: str, values: Mapping[str, str]) -> str:
    """The JSON body posting ``query`` with its variables: ``values`` maps each to a JSON
    literal, or to a Jinja expression that renders one."""
    stand_ins = {name: _VALUE.format(number) for number, name in enumerate(values)}
    body = json.dumps({"query": query, "variables": stand_ins})
    for name, stand_in in stand_ins.items():
        body = body.replace(json.dumps(stand_in), values[name])
    return body


def literal(value: str) -> str:
    """The JSON literal of a value the words state."""
    return json.dumps(value)
