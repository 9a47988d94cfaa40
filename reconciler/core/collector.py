"""One policy for the garbage collector while a fleet is read, planned or loaded.

A large config and fleet are millions of objects, nearly all acyclic and freed by reference
counting. The cyclic collector's full passes walk every one of them (a 10,000-lock plan spent
2.2 s of its CPU there), and its young passes, every 700 new containers, were a tenth of a
1,000-lock plan's CPU. While a fleet is worked on, what already exists is frozen out of its
view, young passes come every 20,000 containers and full ones a hundred times less often.
Cycles are still found, later; the thresholds are restored when the work is done.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_EVERY = 20_000
FULL_RARER = 100
_depth = 0  # blocks open: only the outermost sets and restores the thresholds


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Freeze what exists and space the collector's passes out, for the block's duration;
    a block inside another freezes what is new since (the outer one restores everything)."""
    global _depth
    thresholds = gc.get_threshold()
    if _depth == 0:
        gc.set_threshold(max(thresholds[0], YOUNG_EVERY), thresholds[1], thresholds[2] * FULL_RARER)
    gc.freeze()
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0:
            gc.set_threshold(*thresholds)
            gc.unfreeze()
