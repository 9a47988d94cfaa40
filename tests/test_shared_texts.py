"""Texts many values share are kept once, in a table that stops growing (`core.sharedtexts`)."""

from __future__ import annotations

from reconciler.core.sharedtexts import SharedTexts


def test_a_text_seen_again_is_the_copy_kept_and_the_table_stops_at_its_size() -> None:
    texts = SharedTexts(2)
    first = texts.kept("".join(["Ann", " Lee"]))
    assert texts.kept("".join(["Ann", " Lee"])) is first
    texts.kept("482913")
    late = "".join(["Bo", "b"])
    assert texts.kept(late) is late and len(texts.table) == 2
    assert texts.kept("".join(["Bo", "b"])) is not late  # past the size: not kept
