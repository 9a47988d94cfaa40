"""A device's codes as written under `devices:`, kept as their fields, made into codes when read.

A fleet's config is most of what a plan holds for the whole run: at 10 codes a lock, a
`DesiredCode` (176 bytes), its `SourceRef` (56) and its line number (32) cost 2.6 KB a lock,
so 50,000 locks held 130 MB of codes from the load to the last lock planned. `WrittenCodes`
keeps what a plain written code has (its name, PIN, window and place in the file) as one text
a device (its codes' names and PINs one after the other: a string each cost 50 bytes more
than its characters, 1 KB a lock of 10 codes whose PINs are their own) and four small
integers a code (where it was written, how long its name and PIN are), and makes the
`DesiredCode` each time the codes are iterated; a code with anything more (a schedule, a
flag, a holder) is kept as it is. It is a
`Sequence`, equal to the tuple of the same codes, so whatever reads `device.codes` reads the
same codes; a caller that walks them more than once makes them once (`tuple(device.codes)`).
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import MISSING, fields, replace
from datetime import datetime
from typing import Any, NamedTuple, TypeVar, overload

from reconciler.core.models import DesiredCode, DesiredDevice, DeviceKey, SourceRef

_ROW = 4  # line, column, and the sizes of the name and the PIN in the device's text
_MOST = 2**32  # what an array("I") holds
_NO_PIN = _MOST - 1  # the size noted for a code without a PIN (one generated)
_NO_WINDOW = (None, None)
T = TypeVar("T")


class WrittenCodes(Sequence[DesiredCode]):
    """The codes of one device, kept compactly; `extra` (a person's, a stay's) as they are."""

    __slots__ = ("_odd", "_rows", "_text", "_windows", "device", "extra", "file")

    def __init__(
        self,
        device: DeviceKey,
        file: str,
        codes: Iterable[DesiredCode | PlainCode],
        extra: Sequence[DesiredCode] = (),
    ) -> None:
        words: list[str] = []
        rows = array("I")
        windows: dict[int, tuple[datetime | None, datetime | None]] = {}
        odd: dict[int, DesiredCode] = {}
        for index, code in enumerate(codes):
            row = code if type(code) is PlainCode else _plain(code, device, file)
            if row is None:
                odd[index] = code  # type: ignore[assignment]  (not a PlainCode: a DesiredCode)
                rows += array("I", (0,) * _ROW)
                continue
            name, pin, starts, ends, line, column = row
            words += (name, pin or "")
            rows += array("I", (line, column, len(name), _NO_PIN if pin is None else len(pin)))
            if starts is not None or ends is not None:
                windows[index] = (starts, ends)
        self.device = device
        self.file = file
        self._text = "".join(words)
        self._rows = rows
        self._windows = windows or None
        self._odd = odd or None
        self.extra = tuple(extra)

    def with_extra(self, extra: Sequence[DesiredCode]) -> WrittenCodes:
        """These codes followed by `extra` (people's and stays' codes on the door)."""
        joined = object.__new__(WrittenCodes)
        for name in ("device", "file", "_text", "_rows", "_windows", "_odd"):
            setattr(joined, name, getattr(self, name))
        joined.extra = (*self.extra, *extra)
        return joined

    @property
    def written(self) -> int:
        """How many of the codes were written under the device (the rest are `extra`)."""
        return len(self._rows) // _ROW

    def __len__(self) -> int:
        return self.written + len(self.extra)

    def __iter__(self) -> Iterator[DesiredCode]:
        device, file, text, rows = self.device, self.file, self._text, self._rows
        windows, odd = self._windows or {}, self._odd or {}
        at = 0  # where the next code's name starts in `text`
        for index in range(self.written):
            line, column, name_size, pin_size = rows[index * _ROW : index * _ROW + _ROW]
            if index in odd:
                yield odd[index]
                continue
            name = text[at : at + name_size]
            at += name_size
            if pin_size == _NO_PIN:
                pin = None
            else:
                pin, at = text[at : at + pin_size], at + pin_size
            starts, ends = windows.get(index, _NO_WINDOW)
            yield _code(device, name, pin, starts, ends, _source(file, line, column))
        yield from self.extra

    @overload
    def __getitem__(self, index: int) -> DesiredCode: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[DesiredCode, ...]: ...

    def __getitem__(self, index: int | slice) -> DesiredCode | tuple[DesiredCode, ...]:
        return tuple(self)[index]

    def index(self, value: Any, start: int = 0, stop: int | None = None) -> int:
        """Where `value` is (one pass: `Sequence.index` would make the codes once a step)."""
        return tuple(self).index(value, start, len(self) if stop is None else stop)

    def __contains__(self, value: object) -> bool:
        return value in tuple(self)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, WrittenCodes | tuple):
            return tuple(self) == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"WrittenCodes{tuple(self)!r}"


def slot_maker(cls: type[T], given: tuple[str, ...]) -> Callable[..., T]:
    """A function of the fields `given` (in that order) that makes a `cls`, every other field
    at its default, equal to what `cls(...)` makes, in half the time: a frozen dataclass's
    `__init__` sets each field through `object.__setattr__`, and a fleet's codes are made
    each time they are read. Written from the class's fields, as `dataclasses` writes
    `__init__`, so a field added later is set too."""
    assert not hasattr(cls, "__post_init__"), cls  # (it would not be called)
    scope: dict[str, Any] = {"new": object.__new__, "cls": cls}
    lines = [f"def make({', '.join(given)}):", "    made = new(cls)"]
    for spec in fields(cls):  # type: ignore[arg-type]
        scope[f"set_{spec.name}"] = getattr(cls, spec.name).__set__
        if spec.name in given:
            value = spec.name
        elif spec.default_factory is not MISSING:
            scope[f"make_{spec.name}"] = spec.default_factory
            value = f"make_{spec.name}()"
        else:
            assert spec.default is not MISSING, spec.name  # (a field without a default)
            scope[f"default_{spec.name}"] = spec.default
            value = f"default_{spec.name}"
        lines.append(f"    set_{spec.name}(made, {value})")
    exec("\n".join([*lines, "    return made"]), scope)  # (text made above, from the fields)
    return scope["make"]  # type: ignore[no-any-return]


_code = slot_maker(DesiredCode, ("device", "name", "code", "starts_at", "ends_at", "source"))
_source = slot_maker(SourceRef, ("file", "line", "column"))


class PlainCode(NamedTuple):
    """What a plain written code is (`devices:` entries make these, `config.devices`)."""

    name: str
    code: str | None
    starts_at: datetime | None
    ends_at: datetime | None
    line: int
    column: int


def _plain(code: DesiredCode, device: DeviceKey, file: str) -> PlainCode | None:
    """The code as a `PlainCode`, if it is whole again from one: its other fields are their
    defaults, it is this device's, and it was written in `file`."""
    source = code.source
    if type(code) is not DesiredCode or source is None or source.file != file:
        return None
    if not (0 <= source.line < _MOST and 0 <= source.column < _MOST):
        return None
    again = DesiredCode(
        device=device,
        name=code.name,
        code=code.code,
        starts_at=code.starts_at,
        ends_at=code.ends_at,
    )
    if again != code or code.config_path is not None:
        return None
    return PlainCode(code.name, code.code, code.starts_at, code.ends_at, source.line, source.column)


def joined(codes: Sequence[DesiredCode], extra: Sequence[DesiredCode]) -> Sequence[DesiredCode]:
    """`codes` followed by `extra`, still compact when `codes` is."""
    if isinstance(codes, WrittenCodes):
        return codes.with_extra(extra) if extra else codes
    return (*codes, *extra)


def whole(device: DesiredDevice) -> DesiredDevice:
    """The device with its codes made once, for a caller that walks them more than once."""
    if isinstance(device.codes, tuple):
        return device
    return replace(device, codes=tuple(device.codes))


def has_holder_codes(codes: Sequence[DesiredCode]) -> bool:
    """Whether a person's or a stay's code is among `codes` (only `extra` can hold one)."""
    among = codes.extra if isinstance(codes, WrittenCodes) else codes
    return any(code.holder is not None for code in among)
