"""YAML that remembers where each value was written, with `${VAR}` read from the environment.

Validation must name the file, line and column of every problem, so the loader keeps a map from
each value's path (`("devices", "front-door", "codes", 0, "code")`) to its position. Timestamps
stay strings (pydantic parses them, so a time without an offset stays naive, to be read in the
device's zone), and a key given twice in one mapping is an error rather than a silent override.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from reconciler.errors import Problem

PathKey = tuple[str | int, ...]

_ENV_REFERENCE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


# libyaml's parser when the wheel has it (about five times faster on large fleets), with the
# same marks; pure Python otherwise.
_Base: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[misc, valid-type]
    """SafeLoader without implicit timestamps."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag != _TIMESTAMP_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True, slots=True)
class Position:
    """A point in a source file, 1-based like editors count."""

    file: str
    line: int
    column: int


@dataclass
class SourceDocument:
    """One parsed YAML file: its data and where each value and key stood.

    With `complete` false only containers (mappings, lists) and the keys that hold them have
    positions: a 100,000-code fleet then keeps 130,000 positions instead of a million, and
    `complete_positions` reads the same text again when a problem needs a scalar's place.
    """

    file: str
    data: Any
    values: dict[PathKey, Position] = field(default_factory=dict)
    keys: dict[PathKey, Position] = field(default_factory=dict)
    complete: bool = True
    text: str = ""


def format_path(path: PathKey) -> str:
    """`devices.front-door.codes[0].code`: how problems name a field."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def load_document(
    path: Path, *, environ: Mapping[str, str] | None = None, complete: bool = True
) -> SourceDocument:
    """Parse one file; raise `YamlProblems` listing every problem found in it."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise YamlProblems([Problem(name, 1, 1, "", f"cannot read file: {exc.strerror}")]) from exc
    return parse_document(text, name, environ=environ, complete=complete)


def parse_document(
    text: str, name: str, *, environ: Mapping[str, str] | None = None, complete: bool = True
) -> SourceDocument:
    """Parse YAML `text` read from the file `name` (see `load_document`)."""
    env = os.environ if environ is None else environ
    document = SourceDocument(file=name, data=None, complete=complete, text=text)
    builder = _Builder(document, env)
    try:
        document.data = builder.build()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = f"YAML syntax error: {exc.problem or exc.context}"
        raise YamlProblems([Problem(name, line, column, "", message)]) from exc
    finally:
        builder.loader.dispose()
    if builder.problems:
        raise YamlProblems(builder.problems)
    return document


def complete_positions(
    document: SourceDocument, environ: Mapping[str, str] | None = None
) -> SourceDocument:
    """The same document with the position of every value and key."""
    if document.complete:
        return document
    return parse_document(document.text, document.file, environ=environ, complete=True)


class YamlProblems(Exception):
    """Problems found while reading YAML, before any schema check."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(map(str, problems)))


_STR_TAG = "tag:yaml.org,2002:str"
_MAP_TAGS = (None, "!", "tag:yaml.org,2002:map")
_SEQ_TAGS = (None, "!", "tag:yaml.org,2002:seq")
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _Builder:
    """Builds plain data straight from the parser's events, noting positions on the way.

    Working from events rather than PyYAML's node tree keeps memory to the data itself: the
    tree of a large fleet (a node and two marks per scalar) took several hundred MB.
    """

    def __init__(self, document: SourceDocument, env: Mapping[str, str]) -> None:
        self.document = document
        self.env = env
        self.loader = _Loader(document.text)
        self.anchors: dict[str, Any] = {}
        self.problems: list[Problem] = []

    def build(self) -> Any:
        """The document's data: one YAML document, or None for an empty file."""
        loader = self.loader
        loader.get_event()  # stream start
        if loader.check_event(yaml.StreamEndEvent):
            return None
        loader.get_event()  # document start
        data = None if loader.check_event(yaml.DocumentEndEvent) else self.value(())
        loader.get_event()  # document end
        if not loader.check_event(yaml.StreamEndEvent):
            event = loader.get_event()
            raise yaml.composer.ComposerError(
                None,
                None,
                "expected a single document in the file, found another",
                event.start_mark,
            )
        return data

    def _at(self, event: yaml.Event) -> Position:
        mark = event.start_mark
        return Position(self.document.file, mark.line + 1, mark.column + 1)

    def value(self, path: PathKey | None) -> Any:
        """The next value; its position is kept under `path` (None: a key, kept elsewhere)."""
        event = self.loader.get_event()
        here = self._at(event)
        if isinstance(event, yaml.AliasEvent):
            if event.anchor not in self.anchors:
                raise yaml.composer.ComposerError(
                    None, None, f"found undefined alias {event.anchor!r}", event.start_mark
                )
            value = self.anchors[event.anchor]
            if path is not None and (self.document.complete or isinstance(value, dict | list)):
                self.document.values[path] = here
            return value
        if isinstance(event, yaml.ScalarEvent):
            if path is not None and (self.document.complete or len(path) <= 2):
                self.document.values[path] = here
            value = self.scalar(event)
            if isinstance(value, str) and "$" in value:
                value = self.expand(value, path or (), here)
        elif isinstance(event, yaml.MappingStartEvent):
            self.expect_tag(event, _MAP_TAGS, "a mapping")
            if path is not None:
                self.document.values[path] = here
            value = self.mapping(path or ())
        elif isinstance(event, yaml.SequenceStartEvent):
            self.expect_tag(event, _SEQ_TAGS, "a list")
            if path is not None:
                self.document.values[path] = here
            value = self.sequence(path or ())
        else:  # pragma: no cover - the parser only yields the events above here
            raise yaml.composer.ComposerError(
                None, None, f"unexpected {type(event).__name__}", event.start_mark
            )
        if event.anchor is not None:
            self.anchors[event.anchor] = value
        return value

    def expect_tag(self, event: yaml.Event, allowed: tuple[str | None, ...], what: str) -> None:
        if event.tag not in allowed:
            raise yaml.constructor.ConstructorError(
                None, None, f"the tag {event.tag!r} is not supported on {what}", event.start_mark
            )

    def scalar(self, event: yaml.ScalarEvent) -> Any:
        tag = event.tag
        if tag is None or tag == "!":
            tag = self.loader.resolve(yaml.ScalarNode, event.value, event.implicit)
        if tag == _STR_TAG:
            return event.value
        if tag == _MERGE_TAG:
            return _MERGE
        constructor = self.loader.yaml_constructors.get(tag)
        if constructor is None:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"could not determine a constructor for the tag {tag!r}",
                event.start_mark,
            )
        node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        return constructor(self.loader, node)

    def mapping(self, path: PathKey) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        seen: dict[Any, Position] = {}
        merged: list[dict[Any, Any]] = []
        document = self.document
        while not self.loader.check_event(yaml.MappingEndEvent):
            here = self._at(self.loader.peek_event())
            key = self.value(None)
            if key is _MERGE:
                merged.extend(self.merge_sources(path))
                continue
            if not isinstance(key, str | int):
                key = str(key)
            if key in seen:
                self.problems.append(
                    Problem(
                        here.file,
                        here.line,
                        here.column,
                        format_path((*path, key)),
                        f"key given twice (first at line {seen[key].line})",
                    )
                )
                self.value(None)
                continue
            seen[key] = here
            value = self.value((*path, key))
            if document.complete or len(path) < 2 or isinstance(value, dict | list):
                document.keys[(*path, key)] = here
            result[key] = value
        self.loader.get_event()
        for source in merged:
            for key, value in source.items():
                result.setdefault(key, value)
        return result

    def merge_sources(self, path: PathKey) -> list[dict[Any, Any]]:
        """`<<: *base` or `<<: [*a, *b]`: mappings whose keys fill in the ones not given."""
        start = self.loader.peek_event()
        value = self.value(None)
        sources = value if isinstance(value, list) else [value]
        if not all(isinstance(s, dict) for s in sources):
            raise yaml.constructor.ConstructorError(
                None,
                None,
                "a merge key (<<) takes a mapping or a list of mappings",
                start.start_mark,
            )
        return sources

    def sequence(self, path: PathKey) -> list[Any]:
        result: list[Any] = []
        while not self.loader.check_event(yaml.SequenceEndEvent):
            result.append(self.value((*path, len(result))))
        self.loader.get_event()
        return result

    def expand(self, value: str, path: PathKey, here: Position) -> str:
        return _expand(value, path, here, self.env, self.problems)


_MERGE = object()


def _expand(
    value: str,
    path: PathKey,
    where: Position,
    env: Mapping[str, str],
    problems: list[Problem],
) -> str:
    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        if name not in env:
            problems.append(
                Problem(
                    where.file,
                    where.line,
                    where.column,
                    format_path(path),
                    f"environment variable ${{{name}}} is not defined",
                )
            )
            return ""
        return env[name]

    return _ENV_REFERENCE.sub(replace, value)
