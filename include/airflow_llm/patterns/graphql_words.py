"""What a step's words say about the GraphQL call it makes: the operation (a mutation for
create, update, delete or generate words, a query for get, retrieve or fetch ones), the
operation's field (camelCased from the step's name or words: ``createCustomer``,
``generateCustomerToken``, ``customer``), the values it passes (``key="value"`` pairs;
values a credential's name or a placeholder marks are secrets), the fields it selects
(a list the words give, ``addresses with region`` nested, else what they say it outputs)
and whether it authenticates with a Bearer token. Nothing here knows an API: the words'
names are taken as written."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from airflow_llm.patterns.containers import is_secret
from airflow_llm.patterns.graphql_document import NAME, Operation
from airflow_llm.patterns.operators import lead

_GRAPHQL = re.compile(r"\bgraph\s?ql\b", re.IGNORECASE)
_MUTATING = (
    "create", "add", "register", "insert", "update", "modify", "change", "set", "delete",
    "remove", "cancel", "generate", "issue", "submit", "place", "assign", "revoke", "reset",
)  # fmt: skip
_QUERYING = ("get", "retrieve", "fetch", "read", "query", "list", "look", "lookup", "load")
_VERB = re.compile(
    rf"\b({'|'.join(_MUTATING + _QUERYING)})(?:e?s|d|ed|ing)?\b(?![_'])", re.IGNORECASE
)
_PAIR = re.compile(r"(?<![\w.])([A-Za-z_]\w*)\s*[=:]\s*([\"'])([^\"'\n]*)\2")
"""A value the words state: ``email="a@b.c"``, ``lastname: 'Doe'``."""
_NOT_ARGUMENTS = re.compile(
    r"(?:conn(?:ection)?_id|endpoint|url|method|headers?|task_ids?|dag_id|owner|pool|queue"
    r"|trigger_rule|schedule\w*|retries|retry_delay|operator)$",
    re.IGNORECASE,
)
_SECRET_WORD = re.compile(
    r"\b(password|passwd|passphrase|secret|api_?key)\b\s*(?:of|is|=|:)?\s*[\"']",
    re.IGNORECASE,
)
"""A credential the words state the value of without assigning it (``password "x"``)."""
_CONN_ID = re.compile(r"\b\w*conn(?:ection)?_id\b\s*[=:]\s*[\"']?([A-Za-z_][\w.-]*)")
_BEARER = re.compile(r"\bbearer\b", re.IGNORECASE)
_OUTPUT = re.compile(
    r"\b(?:outputs?|returns?|returning)\b\s*:?\s*(.+?)"
    r"(?=\s+(?:passed|to|for|as|into|from|via|by|with)\b|[.,;:•(\[{\n]|\s-\s|$)",
    re.IGNORECASE,
)
_CLAUSE = re.compile(r"[.;:•()\n]|\s-\s")
_INSTRUMENT = re.compile(
    r"\s(?:with\s+(?:the|a|an|its|their)|as|using|via|from|for|by|through|to|in)\s.*$",
    re.IGNORECASE,
)
_NESTED = re.compile(r"^(.+?)\s+(?:with|including)\s+(.+)$", re.IGNORECASE)
_FILLERS = frozenset(
    {"details", "detail", "information", "info", "data", "fields", "field", "values",
     "value", "record", "records", "profile", "object", "list", "the", "a", "an", "its",
     "their", "and", "all", "complete", "comprehensive", "full", "new", "created"}
)  # fmt: skip
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_FUNCTION_WORDS = frozenset(
    {"for", "to", "of", "with", "on", "in", "from", "by", "or", "that", "which", "using",
     "via", "through", "api", "endpoint", "result", "results", "response", "returns",
     "is", "runs", "sends", "asks"}
)  # fmt: skip
"""Words after "query" or "mutation" that name no operation ("query for the ...")."""


def speaks_graphql(text: str) -> bool:
    """Whether ``text`` speaks of GraphQL."""
    return _GRAPHQL.search(text) is not None


def stated_operation(text: str) -> Operation:
    """A mutation when the step's first verb (in its title and objective, else anywhere)
    changes something, a query when it reads; else what the words call it."""
    for words in (lead(text), text):
        match = _VERB.search(words)
        if match:
            return "mutation" if match.group(1).lower() in _MUTATING else "query"
    return "mutation" if re.search(r"\bmutation\b", text, re.IGNORECASE) else "query"


def _camel(words: Sequence[str]) -> str:
    return words[0].lower() + "".join(word[:1].upper() + word[1:].lower() for word in words[1:])


def _object_of(text: str) -> list[str]:
    """The noun phrase after a verb: its first words up to a preposition or a stop
    (``a reader session token via GraphQL``: reader, session, token), fillers aside."""
    phrase = re.split(
        r"[^\w\s']|\s(?:with|via|through|for|in|on|from|to|using|by|of|and|as)\s", text
    )
    words = [word for word in _WORD.findall(phrase[0]) if word.lower() not in _FILLERS]
    return words[:3]


def field_names(task_name: str, text: str, operation: Operation) -> list[str]:
    """Candidates for the operation's field, best first: the name the words give after
    "query" or "mutation" (``the mutation createUser``); a camelCase name the words write
    that starts with the step's verb; the step's name when it starts with a verb,
    camelCased (a query's without its verb, and filler words aside: ``get_customer_info``
    is ``customer``); the words' verb and the noun phrase after it (a query's without
    the verb: "Create a reader via ..." is ``createReader``); the step's name camelCased
    (a mutation's after the words' verb)."""
    verb = _VERB.search(lead(text)) or _VERB.search(text)
    said = verb.group(1).lower() if verb else None
    parts = [part for part in task_name.split("_") if part]
    named = parts[0].lower() if parts and parts[0].lower() in (*_MUTATING, *_QUERYING) else None
    nouns = [part for part in parts[1 if named else 0 :] if part.lower() not in _FILLERS]
    named_after = re.findall(r"\b(?:query|mutation)\s+`?([a-z][A-Za-z0-9]*)\b", text)
    found = [name for name in named_after if name not in _FILLERS | _FUNCTION_WORDS]
    found += re.findall(rf"\b{said}[A-Z][A-Za-z0-9]*\b", text) if said else []
    if named and nouns:
        found.append(_camel([named, *nouns] if operation == "mutation" else nouns))
    if verb is not None:
        words = _object_of(text[verb.end() :])
        if words:
            found.append(_camel(words if operation == "query" else [verb.group(1), *words]))
    if nouns:
        found.append(_camel([said, *nouns] if operation == "mutation" and said else nouns))
    return [name for name in dict.fromkeys(found) if re.match(NAME, name)]


def stated_values(text: str) -> dict[str, str]:
    """The values the words state for the call (``key="value"``), connection ids,
    endpoints and headers aside."""
    return {
        key: value
        for key, _, value in _PAIR.findall(text)
        if not _NOT_ARGUMENTS.search(key) and re.match(NAME, key)
    }


def secret(name: str, value: str) -> bool:
    """Whether a stated value must come from a secret store, not the DAG file."""
    return is_secret(name.upper(), value)


def stated_secrets(text: str) -> list[str]:
    """Credentials whose value the words give without assigning it (``the password
    "s3cr3t"``): the call passes them, from a secret store."""
    return list(dict.fromkeys(match.group(1).lower() for match in _SECRET_WORD.finditer(text)))


def stated_connections(text: str) -> list[str]:
    """The connection ids the words assign (``magento_conn_id='shop'``)."""
    return list(dict.fromkeys(_CONN_ID.findall(text)))


def says_bearer(text: str) -> bool:
    """Whether the call authenticates with a Bearer token."""
    return _BEARER.search(text) is not None


def _field(item: str, skipped: frozenset[str]) -> str | None:
    """The field a list item names: its one word as written (``issued_on``), or its words
    camelCased (``shipping address``: ``shippingAddress``), fillers and ``skipped`` aside."""
    found: list[str] = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", item.replace("'s", ""))
    words = [word for word in found if word.lower() not in skipped]
    if len(words) == 1:
        return words[0]
    return _camel(words) if words else None


def _meant(item: str) -> list[str]:
    """An item's words, fillers aside."""
    return [word for word in item.split() if word.lower() not in _FILLERS]


def listed_fields(text: str, entity: Sequence[str] = ()) -> list[str]:
    """The fields a list of three or more the words give names (``firstname, lastname,
    email and addresses with region``), as paths (``addresses.region``); the first
    item's last word only (the words before it say what the list is), and the
    ``entity``'s words (the operation's) aside."""
    skipped = _FILLERS | {word.lower() for word in entity}
    without_values = _PAIR.sub(" ; ", text)
    for clause in _CLAUSE.split(without_values):
        items: list[str] = []
        for part in clause.split(","):
            for piece in re.split(r"\band\b", part):
                item = _INSTRUMENT.sub("", f" {piece}").strip()
                if item:
                    items.append(item)
                if items and item != piece.strip():
                    break  # "... with the token as Bearer header": the list ended
            else:
                continue
            break
        if len(items) < 3 or any(len(_meant(item)) > 3 for item in items[1:]):
            continue
        paths: list[str] = []
        for number, item in enumerate(items):
            nested = _NESTED.match(item)
            head, inner = (nested.group(1), nested.group(2)) if nested else (item, "")
            if number == 0:
                head = head.split()[-1]
            outer, sub = _field(head, skipped), _field(inner, skipped)
            if outer is not None:
                paths.append(f"{outer}.{sub}" if sub else outer)
        return [path for path in dict.fromkeys(paths) if not secret(path, "")]
    return []


def output_fields(text: str, keys: Sequence[str], entity: Sequence[str] = ()) -> list[str]:
    """The fields the words say the step outputs or returns (``Output: the customer's
    email``): those among ``keys`` (the names of the values it states), else the last
    word of each phrase, the ``entity``'s words aside."""
    skipped = _FILLERS | {word.lower() for word in entity}
    found: list[str] = []
    for match in _OUTPUT.finditer(text):
        words = [
            w for w in _WORD.findall(match.group(1).replace("'s", "")) if w.lower() not in skipped
        ]
        stated = [word for word in words if word in keys]
        found += stated or words[-1:]
    return [name for name in dict.fromkeys(found) if re.match(NAME, name)]


def _words_of(field: str) -> list[str]:
    """The words of a camelCase name (``generateCustomerToken``: generate, Customer,
    Token)."""
    return re.findall(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])", field)


@dataclass(frozen=True)
class StatedCall:
    """What one step's words say about its GraphQL call."""

    operation: Operation
    fields: list[str]
    """Candidates for the operation's field, best first."""
    values: dict[str, str]
    """Values stated for the call, by argument name (secrets included)."""
    secrets: list[str]
    """The arguments whose value is a secret (from the values, or only named)."""
    selection: list[str]
    """The fields it selects, as paths."""
    bearer: bool
    connections: list[str]

    @property
    def passed(self) -> list[str]:
        """The names of the arguments it passes from its own words."""
        return list(dict.fromkeys([*self.values, *self.secrets]))


def stated_call(task_name: str, text: str) -> StatedCall:
    """Read a step's words (see the module's docstring). The operation's entity (the
    first noun of its field: ``customer`` of ``createCustomer``) is no selected field:
    "the customer's email" selects ``email``. Without a list or an output the words
    give, a field of three words or more selects its last (``generateCustomerToken``:
    ``token``), another its stated values' names."""
    operation = stated_operation(text)
    fields = field_names(task_name, text, operation)
    values = stated_values(text)
    secrets = [name for name, value in values.items() if secret(name, value)]
    secrets += [name for name in stated_secrets(text) if name not in secrets]
    words = _words_of(fields[0]) if fields else []
    entity = words[1:2] if operation == "mutation" else words[:1]
    plain = [name for name in values if name not in secrets]
    selection = listed_fields(text, entity) or output_fields(text, list(values), entity)
    if not selection:
        selection = [words[-1].lower()] if len(words) >= 3 else plain
    return StatedCall(
        operation, fields, values, secrets, selection, says_bearer(text), stated_connections(text)
    )
