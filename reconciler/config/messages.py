"""Messages for a config the schema refuses: JSON Schema's errors, said for people.

`config.load_config` validates with the strict pydantic models first (fast); only a config they
refuse is run through JSON Schema's `iter_errors`, which lists every problem at once, and each
error becomes a located `Problem` here. Messages never quote a PIN.
"""

from __future__ import annotations

import difflib
from functools import cache
from typing import Any, Protocol

import jsonschema

from reconciler.config.schema import config_json_schema
from reconciler.config.yamlsource import PathKey
from reconciler.core.errors import Problem


class Locator(Protocol):
    """What turns a path in the config into a located problem (`config._Merged`)."""

    def problem(self, path: PathKey, message: str, *, key: bool = False) -> Problem:
        """A problem at the value (or key) at `path`."""
        ...


@cache
def _validator() -> jsonschema.protocols.Validator:
    schema = config_json_schema()
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


def schema_problems(data: Any, merged: Locator) -> list[Problem]:
    """Every problem JSON Schema finds in `data`, in file order."""
    problems: list[Problem] = []
    for error in _validator().iter_errors(data):
        problems.extend(_explain(error, merged))
    return sorted(problems, key=lambda p: (p.file, p.line, p.column))


def _explain(error: jsonschema.ValidationError, merged: Locator) -> list[Problem]:
    path: PathKey = tuple(error.absolute_path)
    if error.validator in ("anyOf", "oneOf") and error.context:
        # `x: T | None` fails both branches; the branch that is not `null` says what is wrong.
        useful = [
            e for e in error.context if not (e.validator == "type" and e.validator_value == "null")
        ]
        best = jsonschema.exceptions.best_match(useful or error.context)
        if best is not None:
            return _explain(best, merged)
    if error.validator == "additionalProperties":
        allowed = list(error.schema.get("properties", {}))
        out = []
        for extra in sorted(set(error.instance) - set(allowed), key=str):
            hint = difflib.get_close_matches(str(extra), allowed, n=1)
            suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
            message = f"unknown field '{extra}'{suggestion}; allowed: {', '.join(allowed)}"
            out.append(merged.problem((*path, extra), message, key=True))
        return out
    if error.validator == "required":
        return [merged.problem(path, f"missing required field: {error.message.split(' ')[0]}")]
    return [merged.problem(path, _schema_message(error, path))]


def _is_pin(path: PathKey) -> bool:
    return bool(path) and path[-1] == "code" and ("codes" in path or path[0] in ("people", "stays"))


def _schema_message(error: jsonschema.ValidationError, path: PathKey) -> str:
    kind = error.validator
    if _is_pin(path):
        if kind == "type":
            return (
                "must be a quoted string of digits (YAML reads an unquoted PIN as a number "
                "and drops leading zeros)"
            )
        if kind == "pattern":
            return "a PIN must be digits only (0-9)"
        return "is not a valid PIN"
    if (
        kind == "pattern"
        and path
        and str(path[-1]) in ("duration", "horizon", "native_lead", "jit_lead")
    ):
        return "must be a duration such as 30m, 4h, 1h30m or 14d"
    if kind == "const":
        return f"must be {error.validator_value!r}"
    if kind == "enum":
        return f"must be one of: {', '.join(map(str, error.validator_value))}"
    if kind == "type":
        return f"must be of type {error.validator_value}, not {type(error.instance).__name__}"
    return error.message


def pydantic_message(error: Any) -> str:
    """A pydantic error's message, never quoting a PIN."""
    loc = tuple(error["loc"])
    if _is_pin(loc):
        return "is not a valid PIN"
    return str(error["msg"]).removeprefix("Value error, ")
