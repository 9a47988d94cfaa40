"""Plain data straight from libyaml's events, with the position of each value and key.

The engine behind `reconciler.config.yamlsource`: working from parser events rather than
PyYAML's node tree keeps memory to the data itself, and each value is built knowing the field
it lands in, which decides the `${VAR}` it may read (`reconciler.config.trust`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

import yaml

from reconciler.config.trust import SECRET_FIELDS, is_secret_field
from reconciler.config.yamltags import (
    MAP_TAGS,
    MERGE,
    SEQ_TAGS,
    STR_TAG,
    Anchors,
    Loader,
    expect_tag,
    typed_scalar,
)
from reconciler.config.yamlvars import PathKey, Variables, format_path
from reconciler.core.errors import Problem
from reconciler.core.sharedtexts import SharedTexts

__all__ = [
    "Builder",
    "DeviceHook",
    "DevicePlaces",
    "Loader",
    "PathKey",
    "Position",
    "SourceDocument",
    "format_path",
]


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
    `complete_positions` reads the same text (its file) again when a problem needs a scalar's
    place, with the same `variables` so that `${VAR}` is judged the same way.
    """

    file: str
    data: Any
    values: dict[PathKey, Position] = field(default_factory=dict)
    keys: dict[PathKey, Position] = field(default_factory=dict)
    complete: bool = True
    text: str = ""  # kept when the YAML was given as text; a file is read again when needed
    from_file: bool = False
    variables: frozenset[str] = frozenset()  # the declared ones its values were read with


@dataclass(frozen=True)
class DevicePlaces:
    """Where one device's values and keys stood (`values`, `keys`: under its own path) and
    where its key was written (`key`): what a `DeviceHook` needs to place what it builds."""

    key: Position
    values: dict[PathKey, Position]
    keys: dict[PathKey, Position]


_MOST_STRINGS = 65_536  # the reader's table of strings (a dict of 65,536 is 5 MB)

# Called with each entry of the top-level `devices:` mapping as soon as it is read: what it
# returns is kept in the data in place of the entry (None: the entry's data, and its
# positions, are kept as read).
DeviceHook = Callable[[str, Any, DevicePlaces], Any]


class Builder:
    """Builds plain data straight from the parser's events, noting positions on the way.

    Working from events rather than PyYAML's node tree keeps memory to the data itself: the
    tree of a large fleet (a node and two marks per scalar) took several hundred MB.

    Each value is read with two paths: `path`, under which its position is kept (None for a
    key or a merge source), and `judge`, the field it lands in, which decides the variables it
    may read (`variables`, see `reconciler.config.yamlvars`). Scalars are typed by
    `typed_scalar`; this class builds the containers, merge keys and aliases around them.
    """

    def __init__(
        self,
        document: SourceDocument,
        env: Mapping[str, str],
        declared: frozenset[str],
        on_device: DeviceHook | None = None,
        *,
        stream: str | TextIO | None = None,
    ) -> None:
        self.document = document
        self.on_device = on_device
        self.loader = Loader(document.text if stream is None else stream)
        self.problems: list[Problem] = []
        self.variables = Variables(env, declared, self.problems)
        self.anchors = Anchors()
        self._plain: dict[str, Any] = {}  # a plain scalar's tag, by its text
        self._strings = SharedTexts(_MOST_STRINGS)  # short strings read, each kept once

    def _scalar(self, event: yaml.ScalarEvent) -> Any:
        """`typed_scalar`, with the tag of a plain scalar found once per text: a fleet's keys
        (`name`, `code`, `device_id`) are the same few words 100,000 times over. Short texts
        are kept once each: a person's name and PIN on a thousand doors are one string, not a
        thousand. Kept by this reader (`core.sharedtexts`), so the table goes with it."""
        text = event.value
        if event.tag is None and not event.implicit[0]:
            return self._strings.kept(text) if len(text) <= 64 else text  # quoted
        if event.tag is None and len(text) <= 64:
            tag = self._plain.get(text)
            if tag is None:
                tag = self.loader.resolve(yaml.ScalarNode, text, event.implicit)
                if len(self._plain) < 4096:
                    self._plain[text] = tag
            if tag == STR_TAG:
                return self._strings.kept(text)
        return typed_scalar(self.loader, event)

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

    def _at(self, mark: yaml.Mark) -> Position:
        """A parser mark as a position. Marks are kept until a position is stored or a problem
        needs one: most values of a large fleet need neither."""
        return Position(self.document.file, mark.line + 1, mark.column + 1)

    def _problem(self, mark: yaml.Mark, path: PathKey, message: str) -> Problem:
        return Problem(
            self.document.file, mark.line + 1, mark.column + 1, format_path(path), message
        )

    def value(
        self, path: PathKey | None, judge: PathKey | None = None, *, key: bool = False
    ) -> Any:
        """The next value; its position is kept under `path` (None: a key, kept elsewhere), and
        it is read as the field `judge` (default `path`), or as a key if `key`."""
        place: PathKey = path or ()
        judge = place if judge is None else judge
        event = self.loader.get_event()
        here = event.start_mark
        if type(event) is yaml.ScalarEvent and event.anchor is None:  # most values: at once
            return self._scalar_value(event, path, judge, here, key=key)
        if isinstance(event, yaml.AliasEvent):
            return self.alias(event, path, judge, here, key=key)
        secrets = self.variables.secret_paths
        secrets_before = len(secrets)
        value = self._node(event, path, place, judge, here, key=key)
        if event.anchor is not None:
            inside = tuple(p[len(judge) :] for p in secrets[secrets_before:])
            self.anchors.remember(event.anchor, value, inside)
        return value

    def _node(
        self,
        event: yaml.Event,
        path: PathKey | None,
        place: PathKey,
        judge: PathKey,
        here: yaml.Mark,
        *,
        key: bool,
    ) -> Any:
        """The scalar, mapping or list that `event` starts (`place` is `path`, or () for a
        key)."""
        values = self.document.values
        if isinstance(event, yaml.ScalarEvent):
            return self._scalar_value(event, path, judge, here, key=key)
        if isinstance(event, yaml.MappingStartEvent):
            expect_tag(event, MAP_TAGS, "a mapping")
            if path is not None:
                values[path] = self._at(here)
            return self.mapping(place, judge, key=key)
        if isinstance(event, yaml.SequenceStartEvent):
            expect_tag(event, SEQ_TAGS, "a list")
            if path is not None:
                values[path] = self._at(here)
            return self.sequence(place, judge, key=key)
        raise yaml.composer.ComposerError(  # pragma: no cover - the parser yields only these
            None, None, f"unexpected {type(event).__name__}", event.start_mark
        )

    def _scalar_value(
        self,
        event: yaml.ScalarEvent,
        path: PathKey | None,
        judge: PathKey,
        here: yaml.Mark,
        *,
        key: bool,
    ) -> Any:
        """A scalar's value, `${VAR}` expanded as the field `judge` allows."""
        if path is not None and (self.document.complete or len(path) <= 2):
            self.document.values[path] = self._at(here)
        value = self._scalar(event)
        if isinstance(value, str) and "$" in value:
            value = self.variables.expand(value, judge, self._at(here), key=key)
        return value

    def alias(
        self,
        event: yaml.AliasEvent,
        path: PathKey | None,
        judge: PathKey,
        here: yaml.Mark,
        *,
        key: bool,
    ) -> Any:
        """`*name`: the anchored value, unless it would carry a secret out of a secret field."""
        value, secrets = self.anchors.recall(event)
        if path is not None and (self.document.complete or isinstance(value, dict | list)):
            self.document.values[path] = self._at(here)
        for inner in secrets:
            target = (*judge, *inner)
            if key or not is_secret_field(target):
                fields = ", ".join(".".join(f) for f in SECRET_FIELDS)
                message = (
                    f"*{event.anchor} would copy a value read from the environment out of a "
                    f"secret field (only {fields} may hold one)"
                )
                self.problems.append(self._problem(here, judge, message))
                return None
            self.variables.secret_paths.append(target)
        return value

    def mapping(self, path: PathKey, judge: PathKey, *, key: bool) -> dict[Any, Any]:
        """A mapping's entries (duplicate keys are problems), merge keys filled in last; a
        top-level `variables:` list declares its names for the rest of the file."""
        result: dict[Any, Any] = {}
        seen: dict[Any, yaml.Mark] = {}
        merged: list[dict[Any, Any]] = []
        document = self.document
        while not self.loader.check_event(yaml.MappingEndEvent):
            here = self.loader.peek_event().start_mark
            name = self.value(None, judge, key=True)
            if name is MERGE:
                merged.extend(self.merge_sources(judge, key=key))
                continue
            name = self._entry_key(name, here, path, judge, seen, key=key)
            if name is None:
                continue
            child = (*path, name)
            if self.on_device is not None and path == ("devices",) and judge is path:
                value = self._device(child, here)
            else:
                value = self.value(child, child if judge is path else (*judge, name), key=key)
            if document.complete or len(path) < 2 or isinstance(value, dict | list):
                document.keys[child] = self._at(here)
            result[name] = value
            if name == "variables" and not judge and not key and isinstance(value, list):
                self.variables.declare(value)
        self.loader.get_event()
        for source in merged:
            for name, value in source.items():
                result.setdefault(name, value)
        return result

    def _device(self, path: PathKey, here: yaml.Mark) -> Any:
        """One entry of `devices:`, read with positions of its own and given to `on_device`:
        what it builds replaces the entry's data, and its positions are let go, but for the
        device's own (a fleet's data is then never whole in memory)."""
        assert self.on_device is not None
        document = self.document
        values, keys = document.values, document.keys
        document.values, document.keys = {}, {}
        try:
            value = self.value(path, path)
        finally:
            places = DevicePlaces(self._at(here), document.values, document.keys)
            document.values, document.keys = values, keys
        built = self.on_device(str(path[-1]), value, places)
        if built is None:
            values.update(places.values)
            keys.update(places.keys)
            return value
        if path in places.values:
            values[path] = places.values[path]
        return built

    def _entry_key(
        self,
        name: Any,
        here: yaml.Mark,
        path: PathKey,
        judge: PathKey,
        seen: dict[Any, yaml.Mark],
        *,
        key: bool,
    ) -> str | int | None:
        """The key an entry is kept under; None (its value read and dropped, a problem noted)
        for a mapping or list as a key, or a key given twice."""
        if isinstance(name, dict | list):
            message = "a key must be a single value, not a mapping or a list"
            self.problems.append(self._problem(here, judge, message))
            self.value(None, judge, key=key)
            return None
        if not isinstance(name, str | int):
            name = str(name)
        if name in seen:
            message = f"key given twice (first at line {seen[name].line + 1})"
            self.problems.append(self._problem(here, (*path, name), message))
            self.value(None, (*judge, name), key=key)
            return None
        seen[name] = here
        return name

    def merge_sources(self, judge: PathKey, *, key: bool) -> list[dict[Any, Any]]:
        """`<<: *base` or `<<: [*a, *b]`: mappings whose keys fill in the ones not given (read
        as the mapping they fill in)."""
        start = self.loader.peek_event()
        if isinstance(start, yaml.SequenceStartEvent):
            self.loader.get_event()
            expect_tag(start, SEQ_TAGS, "a list")
            if start.anchor is not None:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    "an anchor on a list of merge keys is not supported",
                    start.start_mark,
                )
            sources = []
            while not self.loader.check_event(yaml.SequenceEndEvent):
                sources.append(self.value(None, judge, key=key))
            self.loader.get_event()
        else:
            sources = [self.value(None, judge, key=key)]
        if not all(isinstance(s, dict) for s in sources):
            raise yaml.constructor.ConstructorError(
                None,
                None,
                "a merge key (<<) takes a mapping or a list of mappings",
                start.start_mark,
            )
        return sources

    def sequence(self, path: PathKey, judge: PathKey, *, key: bool) -> list[Any]:
        """A list's items, each at its index."""
        result: list[Any] = []
        while not self.loader.check_event(yaml.SequenceEndEvent):
            child = (*path, len(result))
            result.append(
                self.value(child, child if judge is path else (*judge, len(result)), key=key)
            )
        self.loader.get_event()
        return result
