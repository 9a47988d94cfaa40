"""One copy of each short text many values share, in a table of bounded size.

A fleet holds a person's name and PIN on a thousand doors; keeping each text once saves a
thousand copies. Not `sys.intern`: its table never shrinks, and a fleet whose codes share
nothing (a guest and a PIN a code) would leave an entry a text in it for the life of the
process. Past `most` texts the table stops growing: those a fleet shares come first.
"""

from __future__ import annotations


class SharedTexts:
    """A table of the first `most` texts seen; `kept(text)` is the one copy of `text`."""

    __slots__ = ("most", "table")

    def __init__(self, most: int) -> None:
        self.most = most
        self.table: dict[str, str] = {}

    def kept(self, text: str) -> str:
        """The copy of `text` in the table (put there while it has room), else `text`."""
        found = self.table.get(text)
        if found is not None:
            return found
        if len(self.table) < self.most:
            self.table[text] = text
        return text
