"""`${VAR}` and `$$` in YAML scalars, each judged by the field it is written in.

Split from the event builder (`reconciler.config.yamlevents`) so that what a value may read
from the environment sits in one place, next to the rules it applies
(`reconciler.config.trust`): the builder says where a string lands, `Variables` decides which
variables it may read, records every refusal as a `Problem` naming the variable (never its
value), and notes the secret fields that read one, so that an alias cannot copy their values
out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from reconciler.config.trust import (
    denied_message,
    secret_name_message,
    undeclared_message,
    variable_rule,
)
from reconciler.core.errors import Problem

if TYPE_CHECKING:
    from reconciler.config.yamlevents import Position

PathKey = tuple[str | int, ...]

_ENV_REFERENCE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def format_path(path: PathKey) -> str:
    """`devices.front-door.codes[0].code`: how problems name a field."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


class Variables:
    """The environment as one file's values may see it.

    `declared` are the names the config lists under `variables:` (grown by `declare` while the
    file is read); `declares` only those this file itself lists. `problems` is shared with the
    builder; `undeclared` holds the references read before their declaration, to be judged
    once every file of the config is read; `secret_paths` the secret fields that read one.
    """

    def __init__(
        self,
        env: Mapping[str, str],
        declared: Iterable[str],
        problems: list[Problem],
    ) -> None:
        self.env = env
        self.declared: set[str] = set(declared)
        self.declares: set[str] = set()
        self.problems = problems
        self.undeclared: list[tuple[str, Problem]] = []
        self.secret_paths: list[PathKey] = []

    def declare(self, names: Iterable[object]) -> None:
        """A top-level `variables:` list: its names may be read for the rest of the config."""
        found = {name for name in names if isinstance(name, str)}
        self.declared |= found
        self.declares |= found

    def expand(self, value: str, path: PathKey, where: Position, *, key: bool) -> str:
        """`value` with each `${VAR}` read (or blanked, with a problem) and `$$` made `$`."""
        read_secret = False

        def replace(match: re.Match[str]) -> str:
            nonlocal read_secret
            if match.group(0) == "$$":
                return "$"
            text, secret = self._read(match.group(1), path, where, key=key)
            read_secret = read_secret or secret
            return text

        expanded = _ENV_REFERENCE.sub(replace, value)
        if read_secret:
            self.secret_paths.append(path)
        return expanded

    def _read(self, name: str, path: PathKey, where: Position, *, key: bool) -> tuple[str, bool]:
        """One variable's value and whether it went into a secret field; "" when refused."""
        rule = variable_rule(name, path, key=key)
        if rule in ("denied", "secret_name"):
            message = denied_message(name) if rule == "denied" else secret_name_message(name)
            self.problems.append(self._problem(where, path, message))
            return "", False
        if rule == "declared" and name not in self.declared:
            self.undeclared.append((name, self._problem(where, path, undeclared_message(name))))
            return "", False
        if name not in self.env:
            message = f"environment variable ${{{name}}} is not defined"
            self.problems.append(self._problem(where, path, message))
            return "", False
        return self.env[name], rule == "any"

    @staticmethod
    def _problem(where: Position, path: PathKey, message: str) -> Problem:
        return Problem(where.file, where.line, where.column, format_path(path), message)
