"""Colour, tables and progress bars for people at a terminal; plain text for everyone else.

This is the one place that decides whether output is dressed up (`use_colour`) and the one
place that builds rich consoles, so the rule cannot drift between commands. A pipe, a file, CI
logs (`CI=true`), `NO_COLOR` (any value) and `TERM=dumb` get plain text, byte for byte what
scripts and tests have always read; `FORCE_COLOR` (non-empty, rich's and force-color.org's
rule) turns colour on anyway, but `NO_COLOR` wins over it.

Renderers describe text as `Line`s of `(text, style)` spans, so the plain and the coloured
form are made from the same words and cannot disagree. `rich` is imported only inside the
functions that draw something, never at module top: `accesscodes --help` must start fast.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

Span = tuple[str, str]
"""Some text and the rich style it is drawn in on a terminal ("" for none)."""

Line = tuple[Span, ...]
"""One output line, without its newline."""

PROGRESS_THRESHOLD = 30
"""A progress bar shows only above this many locks or changes: below it, a run is too short
for a bar to tell anyone anything."""

_TRUE = frozenset({"1", "true", "yes"})


def use_colour(stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    """Whether `stream` gets colours, tables and progress bars: `NO_COLOR` set (any value,
    no-color.org) says no; `FORCE_COLOR` non-empty says yes; `CI=true` and a dumb terminal say
    no; else only a terminal says yes."""
    env = os.environ if environ is None else environ
    if "NO_COLOR" in env:
        return False
    if env.get("FORCE_COLOR", "") != "":
        return True
    if env.get("CI", "").strip().lower() in _TRUE:
        return False
    if env.get("TERM", "").lower() in ("dumb", "unknown"):
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or already closed
        return False


def make_console(stream: TextIO, *, width: int | None = None) -> Console:
    """A rich console that always draws colour on `stream` (ask `use_colour` first).

    Standard colours only, so the escape codes are the same on every terminal (and in the
    snapshots); no markup, emoji or highlighting, so a code's name is printed as written; soft
    wrap, so long lines are never cut or broken by rich but wrapped by the terminal."""
    from rich.console import Console

    return Console(
        file=stream,
        width=width,
        force_terminal=True,
        no_color=False,
        color_system="standard",
        markup=False,
        emoji=False,
        highlight=False,
        soft_wrap=True,
        legacy_windows=False,
    )


def plain(lines: Iterable[Line]) -> str:
    """The lines as plain text, each ending in a newline: what pipes, files and CI get."""
    return "".join("".join(text for text, _ in line) + "\n" for line in lines)


def styled(lines: Sequence[Line]) -> Text:
    """The lines as one rich `Text` (without a final newline: `Console.print` adds it)."""
    from rich.text import Text

    out = Text()
    for number, line in enumerate(lines):
        if number:
            out.append("\n")
        for text, style in line:
            out.append(text, style=style or None)
    return out


def write_lines(
    stream: TextIO, lines: Sequence[Line], *, environ: Mapping[str, str] | None = None
) -> None:
    """Write the lines coloured when `use_colour` says so, else as `plain` text."""
    if use_colour(stream, environ):
        make_console(stream).print(styled(lines))
    else:
        stream.write(plain(lines))


def write_either(
    stream: TextIO,
    plain_text: Callable[[], str],
    renderables: Callable[[], Iterable[Any]],
    *,
    environ: Mapping[str, str] | None = None,
) -> None:
    """Print rich `renderables` (tables...) on a terminal, else `plain_text` as it is; only
    the form that is shown gets built."""
    if not use_colour(stream, environ):
        stream.write(plain_text())
        return
    console = make_console(stream)
    for renderable in renderables():
        console.print(renderable)


@contextmanager
def progress(
    total: int,
    label: str,
    *,
    stream: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
) -> Iterator[Callable[[], None]]:
    """A progress bar on `stream` (stderr) while `total` locks are read or changes written;
    yields the function to call once per item done. The bar shows only above
    `PROGRESS_THRESHOLD` items and only where `use_colour` allows it (never on a pipe, in CI
    or under `NO_COLOR`); elsewhere the function does nothing. The bar disappears when done.
    Lines printed meanwhile go above it (stdout too, when it is the same terminal)."""
    out = sys.stderr if stream is None else stream
    if total <= PROGRESS_THRESHOLD or not use_colour(out, environ):
        yield _nothing
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=make_console(out),
        transient=True,
        redirect_stdout=_same_terminal(sys.stdout, out),
        redirect_stderr=out is sys.stderr,
    )
    task = bar.add_task(label, total=total)

    def tick() -> None:
        bar.advance(task)
        bar.refresh()  # now, not at the next tick of rich's timer: lines printed meanwhile
        # are drawn above the bar as it was last refreshed

    with bar:
        yield tick


def _nothing() -> None:
    """The progress callback when no bar is shown."""


def _same_terminal(first: TextIO, second: TextIO) -> bool:
    """Whether both streams write to the same terminal (a bar on one would garble the other)."""
    try:
        if not first.isatty():
            return False
        return os.path.samestat(os.fstat(first.fileno()), os.fstat(second.fileno()))
    except (AttributeError, OSError, ValueError):
        return False
