"""Read spec files (YAML, or Markdown with optional front matter) into :class:`PipelineSpec`.

Every way a file can be wrong becomes a :class:`SpecProblem` that names the file,
the line where it can be known, and the field: never a traceback. The functions
take bytes plus a display name so the same path serves local files and objects
read from S3.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import ValidationError

from airflow_llm.schedule_words import stated_assets, stated_schedule
from airflow_llm.spec import (
    COLUMN_PATTERN,
    EMAIL_PATTERN,
    MODULE_PATTERN,
    NAME_PATTERN,
    POOL_PATTERN,
    TABLE_PATTERN,
    PipelineSpec,
)
from airflow_llm.table_words import inferred_sources
from airflow_llm.yaml_lines import YamlDocument, YamlDocumentError, parse_yaml

MAX_SPEC_BYTES = 1024 * 1024
YAML_SUFFIXES = frozenset({".yml", ".yaml"})
MARKDOWN_SUFFIXES = frozenset({".md", ".markdown", ".txt"})
SPEC_SUFFIXES = YAML_SUFFIXES | MARKDOWN_SUFFIXES

_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_FRONT_MATTER_OPEN = "---"
_FRONT_MATTER_CLOSE = frozenset({"---", "..."})
_HEADING = re.compile(r"^ {0,3}(?P<level>#{1,6})[ \t]+(?P<title>.+?)[ \t#]*$")
_TITLE_LINE = re.compile(r"^\[(?P<title>[^\[\]]+)\](?:[ \t]+[-\u2013\u2014:][ \t].*)?$")
"""A line such as ``[orders_daily] - Nightly load of the orders``."""
_GENERIC_WORDS = frozenset({
    "a", "about", "airflow", "an", "and", "config", "configuration", "dag",
    "dags", "description", "details", "doc", "docs", "documentation", "for", "intro",
    "introduction", "name", "notes", "of", "overview", "pipeline", "pipelines", "readme",
    "spec", "specification", "specs", "summary", "the", "this", "title", "untitled",
    "workflow", "workflows",
})  # fmt: skip
"""Words of a document title that names no pipeline (``DAG Documentation``, ``Overview``)."""
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_PATTERN_RULES = {
    NAME_PATTERN: "use lower snake_case starting with a letter, 1-64 characters",
    TABLE_PATTERN: "use table, schema.table or db.schema.table (letters, digits, _)",
    COLUMN_PATTERN: "use letters, digits and _, starting with a letter or _",
    POOL_PATTERN: "use letters, digits, '_', '.' and '-'",
    MODULE_PATTERN: "use a Python module name (ASCII letters, digits and _, dotted)",
    EMAIL_PATTERN: "use an email address such as team@example.com (stakeholders are "
    "emailed when a task fails)",
}
_TYPE_TAG = re.compile(r"^(str|int|float|bool|constrained-str|\[key\]|.*\[.*\])$")
"""Parts of a pydantic error location that name a type (a union member), not a field."""


@dataclass(frozen=True, order=True)
class SpecProblem:
    """One thing wrong with one spec file, printed as ``PATH:LINE: field: message``."""

    source: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        return f"{where}: {self.field}: {self.message}"


class SpecError(ValueError):
    """A spec file is invalid; ``problems`` says every way it is."""

    def __init__(self, problems: list[SpecProblem]) -> None:
        super().__init__("\n".join(str(problem) for problem in problems))
        self.problems = problems


def load_spec(path: Path | str) -> PipelineSpec:
    """Load and validate the spec file at ``path``; raise :class:`SpecError`."""
    source = str(path)
    try:
        with Path(path).open("rb") as file:
            data = file.read(MAX_SPEC_BYTES + 1)  # enough to know it is too big
    except OSError as error:
        raise SpecError([SpecProblem(source, None, "file", error.strerror or str(error))]) from None
    return parse_spec(data, source)


def parse_spec(data: bytes, source: str) -> PipelineSpec:
    """Validate spec bytes; ``source`` names the file (its suffix picks YAML or Markdown)."""
    text = _decode(data, source)
    suffix = PurePosixPath(source).suffix.lower()
    document: YamlDocument | None
    if suffix in YAML_SUFFIXES:
        document = _parse_yaml_or_fail(text, source, line_offset=0)
        fields = _top_level_mapping(document, source)
    elif suffix in MARKDOWN_SUFFIXES:
        document, fields = _markdown_fields(text, source)
    else:
        known = ", ".join(sorted(SPEC_SUFFIXES))
        raise SpecError(
            [SpecProblem(source, None, "file", f"not a spec file (suffix not in {known})")]
        )
    try:
        return PipelineSpec.model_validate(fields)
    except ValidationError as error:
        problems = [_from_pydantic(item, document, source) for item in error.errors()]
        raise SpecError(sorted(_merged(problems), key=_by_line)) from None


def check_spec_files(paths: Iterable[Path | str]) -> tuple[list[PipelineSpec], list[SpecProblem]]:
    """Load every spec under ``paths`` (files or folders); one bad file never hides the
    others. Specs that claim the same pipeline name are problems too, every one of them."""
    specs: dict[str, PipelineSpec] = {}
    problems: list[SpecProblem] = []
    for path in iter_spec_files(paths):
        try:
            specs[str(path)] = load_spec(path)
        except SpecError as error:
            problems.extend(error.problems)
    clashes = name_clashes({source: spec.name for source, spec in specs.items()})
    clashing = {problem.source for problem in clashes}
    return [spec for source, spec in specs.items() if source not in clashing], problems + clashes


def iter_spec_files(paths: Iterable[Path | str]) -> Iterator[Path]:
    """Files named directly, and spec files found (sorted) under folders."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from sorted(
                child
                for child in path.rglob("*")
                if child.is_file() and child.suffix.lower() in SPEC_SUFFIXES
            )
        else:
            yield path


def snake_case_name(text: str) -> str:
    """Turn a title or file stem into a valid spec name ('' when nothing usable is left)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", ascii_text)
    name = re.sub(r"[^a-z0-9]+", "_", words.lower()).strip("_")
    if name and not name[0].isalpha():
        name = f"pipeline_{name}"
    return name[:64].rstrip("_")


def name_from_file(source: str) -> str:
    """The name a spec file's own name gives (``Orders Daily.md`` -> ``orders_daily``)."""
    return snake_case_name(PurePosixPath(source).stem)


def name_clashes(names: Mapping[str, str]) -> list[SpecProblem]:
    """A problem for each source (of ``names``: source -> pipeline name) whose pipeline
    name another source claims too, naming every source that claims it."""
    claims: dict[str, list[str]] = {}
    for source, name in names.items():
        claims.setdefault(name, []).append(source)
    return [
        SpecProblem(
            source,
            None,
            "name",
            f"pipeline name {name!r} is claimed by {_listed(sources)}: give each a unique "
            "`name:` (front matter in Markdown)",
        )
        for name, sources in claims.items()
        if len(sources) > 1
        for source in sources
    ]


def _listed(items: list[str]) -> str:
    return f"{', '.join(items[:-1])} and {items[-1]}"


def _decode(data: bytes, source: str) -> str:
    if len(data) > MAX_SPEC_BYTES:
        message = f"file is larger than {MAX_SPEC_BYTES} bytes, the most a spec may have"
        raise SpecError([SpecProblem(source, None, "file", message)])
    if data.startswith(_UTF16_BOMS):
        raise SpecError([SpecProblem(source, 1, "file", "UTF-16 text; save the spec as UTF-8")])
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise SpecError(
            [SpecProblem(source, line, "file", "binary file (NUL byte); specs are text")]
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        message = f"not UTF-8 text (byte 0x{data[error.start]:02x} at offset {error.start})"
        raise SpecError([SpecProblem(source, line, "file", message)]) from None
    if not text.strip():
        raise SpecError([SpecProblem(source, 1, "file", "file is empty")])
    return text


def _parse_yaml_or_fail(text: str, source: str, line_offset: int) -> YamlDocument:
    try:
        return parse_yaml(text, line_offset=line_offset)
    except YamlDocumentError as error:
        problems = [SpecProblem(source, p.line, "yaml", p.message) for p in error.problems]
        raise SpecError(problems) from None


def _top_level_mapping(document: YamlDocument, source: str) -> dict[str, Any]:
    if not isinstance(document.data, dict):
        found = type(document.data).__name__
        message = f"expected a mapping of spec fields at the top level, found {found}"
        raise SpecError([SpecProblem(source, document.line_of(()), "yaml", message)])
    return document.data


def _markdown_fields(text: str, source: str) -> tuple[YamlDocument | None, dict[str, Any]]:
    """Front matter (if any) gives the fields; the body is the description, and the
    schedule, upstream Assets and source tables it states where the front matter gives
    none (sources: the tables it reads and never writes, :mod:`airflow_llm.table_words`)."""
    lines = text.splitlines()
    document: YamlDocument | None = None
    fields: dict[str, Any] = {}
    body_start = 0
    if lines and lines[0].strip() == _FRONT_MATTER_OPEN:
        close = next(
            (i for i in range(1, len(lines)) if lines[i].strip() in _FRONT_MATTER_CLOSE), None
        )
        if close is None:
            message = "front matter opened with '---' on line 1 is never closed"
            raise SpecError([SpecProblem(source, 1, "front_matter", message)])
        front_matter = "\n".join(lines[1:close])
        if front_matter.strip():
            document = _parse_yaml_or_fail(front_matter, source, line_offset=1)
            fields = dict(_top_level_mapping(document, source))
        body_start = close + 1
    body = "\n".join(lines[body_start:]).strip()
    if body:
        if "description" in fields:
            line = document.line_of(("description",)) if document else None
            message = "given both in front matter and as the Markdown body; keep one"
            raise SpecError([SpecProblem(source, line, "description", message)])
        fields["description"] = body
        fields.setdefault("schedule", stated_schedule(body))
        fields.setdefault("upstream_assets", stated_assets(body))
        fields.setdefault("sources", inferred_sources(lines[body_start:], body_start + 1))
    if "name" not in fields:
        name = _title_name(lines[body_start:]) or name_from_file(source)
        if name:
            fields["name"] = name
    return document, fields


def _title_name(lines: list[str]) -> str | None:
    """The first title that names a pipeline, snake-cased; generic ones are skipped."""
    for title in _titles(lines):
        name = snake_case_name(title)
        if name and not set(name.split("_")) <= _GENERIC_WORDS:
            return name
    return None


def _titles(lines: list[str]) -> Iterator[str]:
    """Headings (none deeper than the first) and ``[Title] - ...`` lines, outside code."""
    in_fence, top = False, 6
    for line in lines:
        if _FENCE.match(line):
            in_fence = not in_fence
        elif in_fence:
            continue
        elif heading := _HEADING.match(line):
            if len(heading.group("level")) <= top:
                top = len(heading.group("level"))
                yield heading.group("title")
        elif title := _TITLE_LINE.match(line.strip()):
            yield title.group("title")


def _from_pydantic(error: Any, document: YamlDocument | None, source: str) -> SpecProblem:
    loc = tuple(part for part in error["loc"] if not _is_type_tag(part))
    line = document.line_of(loc) if document is not None else None
    return SpecProblem(source, line, _field_path(loc), _message(error))


def _is_type_tag(part: str | int) -> bool:
    return isinstance(part, str) and _TYPE_TAG.match(part) is not None


def _field_path(loc: tuple[str | int, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "spec"


def _message(error: Any) -> str:
    kind = error["type"]
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown field (`airflow-llm schema` lists the fields a spec may have)"
    if kind == "string_pattern_mismatch":
        value = str(error["input"])
        rule = _PATTERN_RULES.get(error.get("ctx", {}).get("pattern"), "has characters not allowed")
        foreign = next((c for c in value if not c.isascii()), None)
        note = f" (non-ASCII {foreign!r}, U+{ord(foreign):04X})" if foreign else ""
        return f"{value!r} is not valid: {rule}{note}"
    return str(error["msg"])


def _merged(problems: list[SpecProblem]) -> list[SpecProblem]:
    """One problem per place: a value no member of a union accepts gets one message."""
    by_place: dict[tuple[str, int | None, str], list[str]] = {}
    for problem in problems:
        messages = by_place.setdefault((problem.source, problem.line, problem.field), [])
        if problem.message not in messages:
            messages.append(problem.message)
    return [SpecProblem(*place, _either(messages)) for place, messages in by_place.items()]


def _either(messages: list[str]) -> str:
    """``Input should be a valid string`` + ``... integer`` -> ``... string or integer``."""
    prefix = "Input should be a valid "
    if len(messages) > 1 and all(message.startswith(prefix) for message in messages):
        return prefix + " or ".join(message.removeprefix(prefix) for message in messages)
    return "; ".join(messages)


def _by_line(problem: SpecProblem) -> tuple[int, str]:
    return (problem.line or 0, problem.field)
