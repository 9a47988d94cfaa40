"""YAML that remembers where each value was written, with `${VAR}` read from the environment.

Validation must name the file, line and column of every problem, so the loader keeps a map from
each value's path (`("devices", "front-door", "codes", 0, "code")`) to its position. Timestamps
stay strings (pydantic parses them, so a time without an offset stays naive, to be read in the
device's zone), and a key given twice in one mapping is an error rather than a silent override.

Which variable a value may read depends on where it is written (`reconciler.config.trust`): a
PIN any variable but accesscodes' own secrets, any other field only the variables the config
declares under `variables:`. A refused reference becomes a problem that names the variable,
and its value enters no data, so no output can show it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import yaml

from reconciler.config.yamlevents import (
    Builder,
    DeviceHook,
    Loader,
    PathKey,
    Position,
    SourceDocument,
    format_path,
)
from reconciler.core.errors import Problem

_Loader = Loader  # the loader class (its resolvers), for tests that compare with PyYAML

__all__ = [
    "PathKey",
    "Position",
    "SourceDocument",
    "YamlProblems",
    "complete_positions",
    "format_path",
    "load_document",
    "load_documents",
    "parse_document",
]


class YamlProblems(Exception):
    """Problems found while reading YAML, before any schema check."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(map(str, problems)))


def load_document(
    path: Path,
    *,
    environ: Mapping[str, str] | None = None,
    complete: bool = True,
    declared: frozenset[str] = frozenset(),
) -> SourceDocument:
    """Parse one file; raise `YamlProblems` listing every problem found in it."""
    return load_documents([path], environ=environ, complete=complete, declared=declared)[0]


def load_documents(
    paths: Sequence[Path],
    *,
    environ: Mapping[str, str] | None = None,
    complete: bool = True,
    declared: frozenset[str] = frozenset(),
    on_device: DeviceHook | None = None,
) -> list[SourceDocument]:
    """Parse the files of one config; raise `YamlProblems` listing every problem in them.

    The `variables:` declared in any of the files apply to all of them (a file that uses one
    before it is declared, or declared in a later file, is read a second time). `on_device`
    builds each entry of `devices:` as it is read (see `yamlevents.DeviceHook`).
    """
    env = os.environ if environ is None else environ
    built = [_read_and_build(path, env, complete, declared, on_device) for path in paths]
    every = declared.union(*(b.declares for b in built))
    documents: list[SourceDocument] = []
    problems: list[Problem] = []
    for result in built:
        result = _settle(result, env, complete, every, on_device)
        problems.extend(result.problems)
        if result.document is not None:
            documents.append(result.document)
    if problems:
        raise YamlProblems(problems)
    return documents


def parse_document(
    text: str,
    name: str,
    *,
    environ: Mapping[str, str] | None = None,
    complete: bool = True,
    declared: frozenset[str] = frozenset(),
) -> SourceDocument:
    """Parse YAML `text` read from the file `name` (see `load_document`)."""
    env = os.environ if environ is None else environ
    result = _build(text, name, env, complete, declared)
    result = _settle(result, env, complete, declared | result.declares)
    if result.problems:
        raise YamlProblems(result.problems)
    assert result.document is not None
    return result.document


def complete_positions(
    document: SourceDocument, environ: Mapping[str, str] | None = None
) -> SourceDocument:
    """The same document with the position of every value and key."""
    if document.complete:
        return document
    env = os.environ if environ is None else environ
    result = _rebuild(document, env, True, document.variables)
    result = _settle(result, env, True, document.variables)
    if result.problems:
        raise YamlProblems(result.problems)
    assert result.document is not None
    return result.document


@dataclass
class _Built:
    """One file read once: its document (None on a syntax error) and what was found."""

    document: SourceDocument | None
    problems: list[Problem]
    declares: frozenset[str] = frozenset()
    # References to variables not declared when they were read, with their problem.
    undeclared: list[tuple[str, Problem]] = field(default_factory=list)


def _read_and_build(
    path: Path,
    env: Mapping[str, str],
    complete: bool,
    declared: frozenset[str],
    on_device: DeviceHook | None,
) -> _Built:
    name = str(path)
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        return _Built(None, [Problem(name, 1, 1, "", f"cannot read file: {exc.strerror}")])
    with handle:  # read by the parser as it goes: a fleet's text is never whole in memory
        return _build(handle, name, env, complete, declared, on_device)


def _rebuild(
    document: SourceDocument,
    env: Mapping[str, str],
    complete: bool,
    declared: frozenset[str],
    on_device: DeviceHook | None = None,
) -> _Built:
    """The document read again: from its file when it was read from one, else its text."""
    if not document.from_file:
        return _build(document.text, document.file, env, complete, declared, on_device)
    with Path(document.file).open(encoding="utf-8") as handle:
        return _build(handle, document.file, env, complete, declared, on_device)


def _build(
    source: str | TextIO,
    name: str,
    env: Mapping[str, str],
    complete: bool,
    declared: frozenset[str],
    on_device: DeviceHook | None = None,
) -> _Built:
    text, from_file = (source, False) if isinstance(source, str) else ("", True)
    document = SourceDocument(name, None, complete=complete, text=text, from_file=from_file)
    builder = Builder(document, env, declared, on_device, stream=source)
    try:
        document.data = builder.build()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = f"YAML syntax error: {exc.problem or exc.context}"
        return _Built(None, [Problem(name, line, column, "", message)])
    finally:
        builder.loader.dispose()
    variables = builder.variables
    document.variables = frozenset(variables.declared)
    return _Built(document, builder.problems, frozenset(variables.declares), variables.undeclared)


def _settle(
    result: _Built,
    env: Mapping[str, str],
    complete: bool,
    declared: frozenset[str],
    on_device: DeviceHook | None = None,
) -> _Built:
    """Judge the references that were read before their declaration against every declared
    variable: read the file again if one of them is declared after all, else report them."""
    if result.document is None:
        return result
    if any(name in declared for name, _ in result.undeclared):
        document = result.document
        result = _rebuild(document, env, complete, declared, on_device)
    problems = result.problems + [problem for _, problem in result.undeclared]
    problems.sort(key=lambda p: (p.line, p.column))
    if result.document is not None:
        result.document.variables = declared
    return _Built(result.document, problems, result.declares)
