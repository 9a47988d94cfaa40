"""A plan's checksum made part by part, and the JSON texts it and the plan are made of.

Split from `core.plan`: `Digest` is fed the changes as they are encoded (a plan of 500,000
codes never has its whole data in memory), and `ascii_json` makes orjson's text the standard
library's, byte for byte, so that the checksum and the plan JSON do not depend on the encoder.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reconciler.core.plan import Change, CodeState

try:  # a fast JSON encoder (a dependency); the standard library's json gives the same text
    import orjson
except ImportError:  # pragma: no cover
    orjson = None  # type: ignore[assignment]

CHUNK = 1000  # changes encoded at once: large enough for the encoder, small in memory


class Digest:
    """`Plan.checksum` made part by part as a plan is encoded (500,000 codes are never all in
    memory as data): its canonical JSON (changes, drift, `pins`: sorted keys) fed to SHA-256,
    the PINs' HMAC fed the same way (`json.dumps`'s default separators)."""

    def __init__(self, pin_key: bytes | None) -> None:
        self.body = hashlib.sha256(b'{"changes":[')
        self.pins = hmac.new(pin_key, b"[", hashlib.sha256) if pin_key else None
        self.sep, self.pin_sep, self.in_drift = b"", b"", False

    def changes(self, part: Sequence[Change], masked: list[dict[str, Any]] | None) -> None:
        """The next changes of the plan (`masked`: their `to_data(show_codes=False)`)."""
        if not part:
            return
        masked = [c.to_data(show_codes=False) for c in part] if masked is None else masked
        self.body.update(self.sep + dumps_canonical(masked)[1:-1])
        self.sep = b","
        if self.pins is not None:
            pins = [[pin_text(c.before), pin_text(c.after)] for c in part]
            self.pins.update(self.pin_sep + json.dumps(pins).encode()[1:-1])
            self.pin_sep = b", "

    def drift(self, drift: list[dict[str, Any]]) -> None:
        """The next drift entries' data, once every change was given."""
        if not self.in_drift:
            self.body.update(b'],"drift":[')
            self.sep, self.in_drift = b"", True
        if drift:
            self.body.update(self.sep + dumps_canonical(drift)[1:-1])
            self.sep = b","

    def text(self) -> str:
        """The checksum (`sha256:...`), once the whole plan was given."""
        self.drift([])
        self.body.update(b"]")
        if self.pins is not None:
            self.pins.update(b"]")
            self.body.update(b',"pins":"' + self.pins.hexdigest().encode() + b'"')
        self.body.update(b"}")
        return "sha256:" + self.body.hexdigest()


_NOT_ASCII = re.compile("[\x7f-\U0010ffff]")


def _escape(match: re.Match[str]) -> str:
    point = ord(match.group())
    if point < 0x10000:
        return f"\\u{point:04x}"
    point -= 0x10000
    return f"\\u{0xD800 | (point >> 10):04x}\\u{0xDC00 | (point & 0x3FF):04x}"


def ascii_json(out: bytes) -> str:
    """orjson's UTF-8 as `json.dumps` writes it (`ensure_ascii`): everything past `~` as a
    `\\u` escape (outside strings JSON has no such character, so nothing else moves)."""
    text = out.decode()
    return text if out.isascii() and b"\x7f" not in out else _NOT_ASCII.sub(_escape, text)


def dumps_canonical(value: Any) -> bytes:
    """`json.dumps(value, sort_keys=True, separators=(",", ":")).encode()`, by orjson where
    it is installed: the checksum's canonical form."""
    if orjson is not None:
        try:
            return ascii_json(orjson.dumps(value, option=orjson.OPT_SORT_KEYS)).encode()
        except TypeError:
            pass
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def pin_text(state: CodeState | None) -> str:
    """What a PIN adds to the checksum: nothing, the PIN, or `new` for one generated for this
    run (apply draws its own, so a reviewed plan still matches)."""
    if state is None or not state.code:
        return ""
    return "new" if state.new_pin else state.code
