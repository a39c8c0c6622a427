"""Candidate steps of a description, read from its own structure (the hybrid planner's menu).

A generic Markdown reader (markdown-it-py) finds, in this order of preference:

1. numbered headings (``### 1. Load & Modify Data``), two or more;
2. the first ordered list with two or more items (``1. wait_for_file`` and its details);
   an item that holds an ordered list of its own is a group, and its members are the steps;
3. a bulleted list of two or more items that each start with a verb;
4. prose: the sentences' clauses that start with a verb, split at ``then``, ``;`` and
   ``, and`` (``collect the tickets …, count them per priority, then store …``).

Every candidate keeps the description line it starts on, its title (the heading, the
item's first line or the clause) and its whole text, so a plan can say where each of its
tasks came from. Nothing here knows any particular document: only Markdown structure and
an English lexicon of the verbs pipelines are described with.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from markdown_it import MarkdownIt
from markdown_it.token import Token

from airflow_llm.spec_loading import snake_case_name

MIN_STEPS = 2
MAX_STEPS = 40
"""More candidates than this are not a step list a person wrote for one DAG."""


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


PIPELINE_VERBS = _word_set("""
    add aggregate alert allocate analyse analyze append apply archive assemble audit
    backfill backup build bundle calculate call check classify clean cleanse collect combine
    compare compile compress compute consolidate convert copy count create dedupe
    deduplicate delete deliver derive detect download drop email emit encrypt end enrich
    ensure estimate evaluate export extract fetch filter finalize flag forecast format
    generate geocode get group harmonize identify import index ingest insert join label load
    log mask merge migrate monitor move normalize notify parse partition persist ping poll
    post predict prepare process profile publish pull purge push query rank read reconcile
    record refresh remove rename render replicate report resolve retrieve route run sample
    save scan schedule score scrape select send sort split stage standardize start store
    summarise summarize swap sync tag test train transfer transform translate trigger
    truncate unzip update upload upsert validate verify wait watch write
    """)
"""Verbs that start a step ("collect the tickets"), in their base form."""

_NUMBERED_TITLE = re.compile(r"^\s*(?:step\s+)?\d+(?:\.\d+)*[.):]?\s+(?P<title>\S.*)$", re.I)
_IDENTIFIER_TITLE = re.compile(
    r"^`?(?P<name>[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+|[a-z]+[A-Z]\w*)`?(?=$|[^\w`])"
)
_CLAUSE_BREAK = re.compile(
    r"\s*(?:[;,]\s*(?:and\s+|then\s+)*|\s(?:and|then)\s+(?:then\s+)?)(?=([a-z]+))"
)
_SUB_NUMBERED = re.compile(r"^\s*\d+(?:\.\d+)+\.?\s+(?P<title>\S.*)$")
_NUMBERED_LINE = re.compile(r"^\s*(?P<number>\d+)[.)]\s+(?P<title>\S.*)$")
_MEMBER = re.compile(r"^`?([A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+|[A-Za-z]+[a-z][A-Z]\w*)`?\s*:")
_NAME = r"[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+"
_JOINED_NAMES = re.compile(rf"{_NAME}(?:\s*(?:&|,|\band\b)\s*{_NAME})+")
_STEP_WORDS = re.compile(r"\b(?:steps?|tasks?|stages?|workflow|flow|process)\b", re.I)
_PARENTHESES = re.compile(r"\([^()]*\)")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`])")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
_NAME_STOPS = _word_set(
    "a an the that this these those every each all any its their our some and or"
)
_NAME_ENDS = _word_set(
    "from into in on onto to for with by at under over after before via using as which when "
    "so of but if"
)
NAME_WORDS = 4


@dataclass(frozen=True)
class StepCandidate:
    """One step a description states."""

    index: int
    title: str
    text: str
    line: int
    """1-based line of the description it starts on."""
    source: str
    """How it was found: ``heading``, ``numbered item``, ``group member``, ``bullet`` or
    ``clause``."""
    group: str | None = None
    """The title of the group it is a member of (members run side by side)."""

    @property
    def name(self) -> str:
        """A task name from the step's own words (see :func:`step_name`)."""
        return step_name(self.title)


@dataclass
class _Item:
    """A list item: where it starts and ends, its first paragraph, its nested lists."""

    start: int
    end: int
    first_line: str
    members: list[_Item] = field(default_factory=list)
    """Steps it stands for (a group's tasks)."""


def extract_steps(description: str) -> list[StepCandidate]:
    """The description's candidate steps (empty when it states fewer than two)."""
    lines = description.splitlines()
    tokens = _parser().parse(description)
    for finder, fewest in FINDERS:
        found = finder(tokens, lines)
        if fewest <= len(found) <= MAX_STEPS:
            return [
                StepCandidate(index, title, text, line, source, group)
                for index, (title, text, line, source, group) in enumerate(found)
            ]
    return []


def step_name(title: str) -> str:
    """``wait_for_file`` stays itself, ``Check_PCD_SFTP_Folder`` becomes
    ``check_pcd_sftp_folder``; words become the verb and up to three more of the words
    after it, articles left out, up to the first preposition (``Count tickets per
    priority`` -> ``count_tickets_per_priority``, ``flag customers with more than three
    tickets`` -> ``flag_customers``)."""
    plain = title.strip().strip("*_").strip()
    identifier = _IDENTIFIER_TITLE.match(plain)
    if identifier:
        return snake_case_name(identifier.group("name"))
    words = [w.lower() for w in _WORD.findall(re.sub(r"\([^)]*\)", " ", plain))]
    start = next((i for i, w in enumerate(words) if w in PIPELINE_VERBS), 0)
    kept: list[str] = []
    for word in words[start:]:
        if kept and word in _NAME_ENDS:
            break
        if word not in _NAME_STOPS:
            kept.append(word.replace("'", ""))
        if len(kept) == NAME_WORDS:
            break
    return snake_case_name("_".join(kept))


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark")


Found = list[tuple[str, str, int, str, str | None]]
"""(title, text, 1-based line, source, group) per step, before numbering."""


def _numbered_headings(tokens: list[Token], lines: list[str]) -> Found:
    headings = [
        (index, token)
        for index, token in enumerate(tokens)
        if token.type == "heading_open" and token.map is not None
    ]
    found: Found = []
    for position, (index, token) in enumerate(headings):
        match = _NUMBERED_TITLE.match(tokens[index + 1].content)
        if match is None or token.map is None:
            continue
        start = token.map[0]
        later = [t.map[0] for _, t in headings[position + 1 :] if t.map and t.tag <= token.tag]
        end = later[0] if later else len(lines)
        title = match.group("title")
        found.append((title, _text(lines, start, end), start + 1, "heading", None))
    return found


def _ordered_items(tokens: list[Token], lines: list[str]) -> Found:
    """The run of top-level numbered items (1, 2, 3 ..., lists interrupted by other text
    included) that a heading or line about steps introduces (``Pipeline Steps:``), else
    the longest; an item with members of its own (a nested ordered list, ``1.1 ...``
    paragraphs after it, or ``- Member_Name: ...`` bullets) stands for them."""
    best: tuple[bool, int] = (False, 0)
    chosen: list[_Item] = []
    run: list[_Item] = []
    about_steps = False
    for number, item, intro in _numbered_items(tokens):
        if number == len(run) + 1:
            run.append(item)
        elif number == 1:
            run, about_steps = [item], bool(_STEP_WORDS.search(intro))
        else:
            continue
        if (about_steps, len(run)) > best:
            best, chosen = (about_steps, len(run)), list(run)
    found: Found = []
    for item in chosen:
        if item.members:
            for member in item.members:
                found += _item_step(member, lines, "group member", item.first_line)
        else:
            found += _item_step(item, lines, "numbered item")
    return found


def _numbered_items(tokens: list[Token]) -> Iterator[tuple[int, _Item, str]]:
    """Top-level ordered-list items with their numbers and the heading or paragraph
    last seen before them. Paragraph lines count too: a list that does not start at 1
    cannot interrupt a paragraph in CommonMark, so ``Stage:`` / ``6. load`` reads as one
    paragraph. ``1.1 title`` lines, and bullets that name tasks but are indented too
    little to nest, become members of the item right before them; after a heading or a
    paragraph of its own (``Infrastructure & Dependencies:``) a list is about something
    else."""
    depth = 0
    last: _Item | None = None
    intro = ""
    for index, token in enumerate(tokens):
        if token.type == "ordered_list_open" and depth == 0:
            first = int(str(token.attrs.get("start", 1)))
            for offset, item in enumerate(_list_items(tokens, index)):
                last = item
                yield first + offset, item, intro
        elif token.type == "bullet_list_open" and depth == 0 and last is not None:
            last.members += _members(tokens, index, ordered=False)
        elif token.type in ("paragraph_open", "heading_open") and depth == 0 and token.map:
            content = tokens[index + 1].content
            numbered = list(_paragraph_items(content, token.map))
            for number, item in numbered:
                if number is not None:
                    last = item
                    yield number, item, intro
                elif last is not None:
                    last.members.append(item)
            if not numbered:
                intro, last = content, None
        if token.type.endswith("_list_open"):
            depth += 1
        elif token.type.endswith("_list_close"):
            depth -= 1


def _paragraph_items(content: str, span: list[int]) -> Iterator[tuple[int | None, _Item]]:
    """Numbered lines of a paragraph: ``(number, item)``, or ``(None, item)`` for a
    ``1.1`` member line; each item runs to the next numbered line or the paragraph's end."""
    found: list[tuple[int | None, int, str]] = []
    for offset, line in enumerate(content.splitlines()):
        if (member := _SUB_NUMBERED.match(line)) is not None:
            found.append((None, span[0] + offset, member.group("title")))
        elif (step := _NUMBERED_LINE.match(line)) is not None:
            found.append((int(step.group("number")), span[0] + offset, step.group("title")))
    ends = [start for _, start, _ in found[1:]] + [span[1]] if found else []
    for (number, start, title), end in zip(found, ends, strict=True):
        yield number, _Item(start, end, title)


def _verb_bullets(tokens: list[Token], lines: list[str]) -> Found:
    for items in _top_lists(tokens, ordered=False):
        steps = [step for item in items for step in _item_step(item, lines, "bullet")]
        if len(steps) >= MIN_STEPS and all(_starts_with_verb(step[0]) for step in steps):
            return steps
    return []


def _clauses(tokens: list[Token], lines: list[str]) -> Found:
    found: Found = []
    for index, token in enumerate(tokens):
        if token.type != "paragraph_open" or token.map is None or token.level != 0:
            continue
        paragraph = " ".join(tokens[index + 1].content.split())
        for sentence in _SENTENCE_END.split(paragraph):
            for clause in _split_clauses(sentence.rstrip(".!? ")):
                verb_led = _from_first_verb(clause)
                if verb_led:
                    line = _line_of(lines, clause, token.map)
                    found.append((verb_led, verb_led, line, "clause", None))
    return found


def _split_clauses(sentence: str) -> list[str]:
    """The sentence cut before every verb that follows ``;``, ``,``, ``and`` or ``then``
    outside parentheses (``count them, and flag …`` is two clauses, ``orders, customers``
    stays one)."""
    hidden = _PARENTHESES.findall(sentence)
    masked = _PARENTHESES.sub("\x00", sentence)
    pieces, start = [], 0
    for match in _CLAUSE_BREAK.finditer(masked):
        if _base_form(match.group(1)) in PIPELINE_VERBS:
            pieces.append(masked[start : match.start()])
            start = match.end()
    pieces.append(masked[start:])
    restored = iter(hidden)
    return [re.sub("\x00", lambda _: next(restored), piece) for piece in pieces]


def _top_lists(tokens: list[Token], ordered: bool) -> Iterator[list[_Item]]:
    """The items of every list that is not inside another list, in document order."""
    opening = "ordered_list_open" if ordered else "bullet_list_open"
    depth = 0
    for index, token in enumerate(tokens):
        if token.type in ("ordered_list_open", "bullet_list_open"):
            if depth == 0 and token.type == opening:
                yield _list_items(tokens, index)
            depth += 1
        elif token.type in ("ordered_list_close", "bullet_list_close"):
            depth -= 1


def _list_items(tokens: list[Token], start: int) -> list[_Item]:
    """The items of the list opened at ``tokens[start]``, with their nested ordered lists."""
    items: list[_Item] = []
    depth = 0
    for index in range(start, len(tokens)):
        token = tokens[index]
        if token.type.endswith("_list_open"):
            depth += 1
            if depth == 2 and items and not items[-1].members:
                items[-1].members = _members(tokens, index, token.type == "ordered_list_open")
        elif token.type.endswith("_list_close"):
            depth -= 1
            if depth == 0:
                break
        elif token.type == "list_item_open" and depth == 1 and token.map is not None:
            items.append(_Item(token.map[0], token.map[1], _first_inline(tokens, index)))
    return items


def _members(tokens: list[Token], start: int, ordered: bool) -> list[_Item]:
    """A nested list's items when they are a group's members: any ordered list, or
    bullets that each name a task (``- Financial_Expense: POST to ...``); else none."""
    items = _list_items(tokens, start)
    if ordered or all(_MEMBER.match(item.first_line) for item in items):
        return items if len(items) >= MIN_STEPS else []
    return []


def _first_inline(tokens: list[Token], start: int) -> str:
    for token in tokens[start:]:
        if token.type == "inline":
            return token.content.splitlines()[0] if token.content else ""
        if token.type == "list_item_close":
            break
    return ""


def _item_step(item: _Item, lines: list[str], source: str, group: str | None = None) -> Found:
    """The item as a step, or one step per task it names (``get_json & get_data``)."""
    title = re.sub(r"^\*\*(.+?)\*\*", r"\1", item.first_line).strip()
    text = _text(lines, item.start, item.end)
    named = _JOINED_NAMES.fullmatch(title.split(" (")[0].strip())
    titles = re.split(r"\s*(?:&|,|\band\b)\s*", named.group(0)) if named else [title]
    return [(part, text, item.start + 1, source, group) for part in titles]


def _text(lines: list[str], start: int, end: int) -> str:
    """The lines of a block, whitespace collapsed."""
    return " ".join(" ".join(lines[start:end]).split())


def _starts_with_verb(title: str) -> bool:
    words = _WORD.findall(title)
    return bool(words) and _base_form(words[0].lower()) in PIPELINE_VERBS


def _from_first_verb(clause: str) -> str | None:
    """The clause from its first pipeline verb on (leading time phrases dropped); None
    when it has no verb in the lexicon, or only after its first four words."""
    for position, match in enumerate(_WORD.finditer(clause)):
        if position >= NAME_WORDS:
            return None
        word = match.group()
        if _base_form(word.lower()) in PIPELINE_VERBS and (position == 0 or word.islower()):
            return clause[match.start() :].strip()
    return None


def _base_form(word: str) -> str:
    """The lexicon form of a verb as a step starts with it (``Loads``/``Loading`` -> load)."""
    for suffix in ("ing", "es", "s"):
        if word.endswith(suffix) and word[: -len(suffix)] in PIPELINE_VERBS:
            return word[: -len(suffix)]
    return word


def _line_of(lines: list[str], clause: str, span: list[int]) -> int:
    """The 1-based line, inside ``span``, where ``clause``'s first words stand."""
    head = " ".join(clause.split()[:2])
    for number in range(span[0], span[1]):
        if head and head in " ".join(lines[number].split()):
            return number + 1
    return span[0] + 1


FINDERS: tuple[tuple[Callable[[list[Token], list[str]], Found], int], ...] = (
    (_numbered_headings, 1),
    (_ordered_items, 1),
    (_verb_bullets, MIN_STEPS),
    (_clauses, MIN_STEPS),
)
"""The readers in order of preference, each with the fewest steps it must find: a
numbered step may stand alone, bullets and clauses only count as a list of steps."""
