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


@dataclass(frozen=True)
class Position:
    """A point in a source file, 1-based like editors count."""

    file: str
    line: int
    column: int


@dataclass
class SourceDocument:
    """One parsed YAML file: its data and where each value and key stood."""

    file: str
    data: Any
    values: dict[PathKey, Position] = field(default_factory=dict)
    keys: dict[PathKey, Position] = field(default_factory=dict)


def format_path(path: PathKey) -> str:
    """`devices.front-door.codes[0].code`: how problems name a field."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def load_document(path: Path, *, environ: Mapping[str, str] | None = None) -> SourceDocument:
    """Parse one file; raise `ConfigError`-ready problems as a list via `YamlProblems`."""
    env = os.environ if environ is None else environ
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise YamlProblems([Problem(name, 1, 1, "", f"cannot read file: {exc.strerror}")]) from exc
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = f"YAML syntax error: {exc.problem or exc.context}"
        raise YamlProblems([Problem(name, line, column, "", message)]) from exc
    finally:
        loader.dispose()
    document = SourceDocument(file=name, data=None)
    problems: list[Problem] = []
    if node is not None:
        document.data = _build(node, (), document, loader, env, problems)
    if problems:
        raise YamlProblems(problems)
    return document


class YamlProblems(Exception):
    """Problems found while reading YAML, before any schema check."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(map(str, problems)))


def _position(document: SourceDocument, node: yaml.Node) -> Position:
    mark = node.start_mark
    return Position(document.file, mark.line + 1, mark.column + 1)


def _build(
    node: yaml.Node,
    path: PathKey,
    document: SourceDocument,
    loader: _Loader,
    env: Mapping[str, str],
    problems: list[Problem],
) -> Any:
    document.values[path] = _position(document, node)
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str | int):
                key = str(key)
            here = _position(document, key_node)
            if key in result:
                first = document.keys[(*path, key)]
                problems.append(
                    Problem(
                        here.file,
                        here.line,
                        here.column,
                        format_path((*path, key)),
                        f"key given twice (first at line {first.line})",
                    )
                )
                continue
            document.keys[(*path, key)] = here
            result[key] = _build(value_node, (*path, key), document, loader, env, problems)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _build(item, (*path, index), document, loader, env, problems)
            for index, item in enumerate(node.value)
        ]
    value = loader.construct_object(node, deep=True)
    if isinstance(value, str) and "$" in value:
        return _expand(value, path, document, env, problems)
    return value


def _expand(
    value: str,
    path: PathKey,
    document: SourceDocument,
    env: Mapping[str, str],
    problems: list[Problem],
) -> str:
    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        if name not in env:
            where = document.values[path]
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
