"""How two plan JSONs differ, said field by field for the person who reviewed one of them.

`apply FILE` refuses a saved plan that is no longer the plan made now (review.py). A refusal
that only says "it changed" sends people hunting; these functions name what moved, with
`deepdiff.DeepDiff` doing the comparing:

- `moved_since_review`: the reviewed plan's changes and drift against the fresh plan's, each
  keyed by device + name + occurrence (a code's identity), one line per field that moved
  (`front-door / Guest Bob: after.ends_at 2026-12-04T16:00:00Z -> 2026-12-05T16:00:00Z`), or
  per code planned or gone.
- `first_edit`: the first field, in the file's own order, where a plan file differs from the
  plan made now (`changes[0].name differs ('Alice' in the file, 'Alicia' planned now)`).

Plan JSON holds no PIN (`****`), and a value under a `code` key is masked here all the same:
an edited file could hold anything. deepdiff is imported inside the functions: it costs
~150 ms, and only a refusal needs it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from deepdiff import DeepDiff

MASK = "****"
SHOWN_CHARS = 80  # a value longer than this is cut in a message
# Where a code was written in the config: it moves with every line added above it, so it is
# said after what the plan would do differently.
PROVENANCE = ("source",)
Key = tuple[str, ...]
PathItem = str | int


class _Absent:
    """The side of a difference where the field is not there at all."""

    def __repr__(self) -> str:
        return "nothing"


ABSENT = _Absent()


def moved_since_review(saved: Mapping[str, Any], fresh: Mapping[str, Any]) -> list[str]:
    """Each difference between the reviewed plan's changes and drift and the fresh plan's,
    one line each, in device and name order (a change's `action` first, where a code was
    written in the config last). Empty when the two match field for field: what moved then
    is a PIN, seen only in the checksum."""
    lines = [
        *_section_moves(saved, fresh, "changes", "not in the reviewed plan", "no longer planned"),
        *_section_moves(
            saved, fresh, "drift", "drift not in the reviewed plan", "drift no longer reported"
        ),
    ]
    lines.sort(key=lambda item: item[0])
    return list(dict.fromkeys(line for _, line in lines))


def _section_moves(
    saved: Mapping[str, Any], fresh: Mapping[str, Any], section: str, added: str, gone: str
) -> Iterator[tuple[tuple[Any, ...], str]]:
    """One section's differences with their sort keys. A `before` or `after` state that
    appears or goes with a changed `action` is left out: the action says it."""
    before = _keyed(saved.get(section), section)
    after = _keyed(fresh.get(section), section)
    paths = _paths(_deepdiff(before, after))
    acted = {path[0] for path in paths if path[1:] == ["action"]}
    for path in paths:
        key = path[0]
        label = _label(key, section)
        if len(path) == 1:
            yield (False, key, -1, ""), f"{label}: {added if key in after else gone}"
            continue
        field = _up_to_list(path[1:])
        old, new = _at(before[key], field), _at(after[key], field)
        implied = field in (["before"], ["after"]) and None in (old, new)
        if key in acted and implied:
            continue
        rank = _rank(field, after[key] or before[key])
        where = (field[0] in PROVENANCE, key, rank, _dotted(field))
        yield where, f"{label}: {_loose_diff(field, old, new)}"


def order_moved(saved: Mapping[str, Any], fresh: Mapping[str, Any]) -> bool:
    """Whether the same changes are planned, only in another order (the checksum sees it)."""
    before = list(_keyed(saved.get("changes"), "changes"))
    after = list(_keyed(fresh.get("changes"), "changes"))
    return before != after and sorted(before) == sorted(after)


def first_edit(
    file_data: Mapping[str, Any], fresh_data: Mapping[str, Any], *, skip: Sequence[str]
) -> str | None:
    """The first field (in the file's order) where the plan file differs from the plan made
    now, as `changes[0].name differs ('Alice' in the file, 'Alicia' planned now)`; None when
    only the `skip` fields (its `now`, checksum and seal) could differ."""
    mine = {k: v for k, v in file_data.items() if k not in skip}
    theirs = {k: v for k, v in fresh_data.items() if k not in skip}
    paths = _paths(_deepdiff(mine, theirs))
    if not paths:
        return None
    first = min(paths, key=lambda path: _document_order(path, mine, theirs))
    old, new = _at(mine, first), _at(theirs, first)
    return (
        f"{_dotted(first)} differs ({_literal(first, old)} in the file, "
        f"{_literal(first, new)} planned now)"
    )


# -- comparing ---------------------------------------------------------------------------------


def _deepdiff(before: Any, after: Any) -> DeepDiff:
    """The tree of differences, always down to the fields: by default deepdiff reports two
    dicts sharing few keys as one changed value, which would name no field."""
    from deepdiff import DeepDiff

    return DeepDiff(before, after, view="tree", threshold_to_diff_deeper=0)


def _paths(tree: DeepDiff) -> list[list[Any]]:
    """Each difference's path from the root, as a list of keys and indexes."""
    return [level.path(output_format="list") for levels in tree.values() for level in levels]


def _keyed(entries: Any, section: str) -> dict[Key, Any]:
    """Changes (or drift) by identity: device, name and occurrence (drift: kind), with a
    count for a second entry of the same identity."""
    keyed: dict[Key, Any] = {}
    for entry in entries if isinstance(entries, list) else []:
        item = entry if isinstance(entry, dict) else {}
        third = item.get("occurrence") if section == "changes" else item.get("kind")
        base = (str(item.get("device", "")), str(item.get("name", "")), str(third or ""))
        count = 0
        while (*base, str(count)) in keyed:
            count += 1
        keyed[(*base, str(count))] = entry
    return keyed


def _label(key: Key, section: str) -> str:
    device, name, third, count = key
    label = f"{device} / {name}"
    if third:
        label += f" ({third})" if section == "changes" else f" [{third}]"
    return label + (f" #{int(count) + 1}" if count != "0" else "")


def _up_to_list(path: Sequence[PathItem]) -> list[PathItem]:
    """A path cut where it enters a list: `reasons` moved as a whole, not `reasons[1]`."""
    out: list[PathItem] = []
    for item in path:
        if isinstance(item, int):
            break
        out.append(item)
    return out or list(path[:1])


def _at(value: Any, path: Sequence[PathItem]) -> Any:
    """The value at `path`, or ABSENT where one side lacks it."""
    for item in path:
        in_list = isinstance(item, int) and isinstance(value, list) and 0 <= item < len(value)
        in_dict = isinstance(item, str) and isinstance(value, dict) and item in value
        if not (in_list or in_dict):
            return ABSENT
        value = value[item]
    return value


def _rank(field: Sequence[PathItem], entry: Any) -> int:
    """Where a change's field comes in its JSON (`action` first), so lines read in order."""
    keys = list(entry) if isinstance(entry, dict) else []
    return keys.index(field[0]) if field and field[0] in keys else len(keys)


def _document_order(
    path: Sequence[PathItem], mine: Mapping[str, Any], theirs: Mapping[str, Any]
) -> tuple[int, ...]:
    """A path's place in the file (keys in the file's order, then those only planned now)."""
    order = []
    here: Any = mine
    there: Any = theirs
    for item in path:
        if isinstance(item, int):
            order.append(item)
        else:
            keys = list(here) if isinstance(here, dict) else []
            extra = [k for k in (there if isinstance(there, dict) else []) if k not in keys]
            names = keys + extra
            order.append(names.index(item) if item in names else len(names))
        here, there = _at(here, [item]), _at(there, [item])
    return tuple(order)


# -- saying it ---------------------------------------------------------------------------------


def _dotted(path: Sequence[PathItem]) -> str:
    """`changes[0].after.ends_at`."""
    out = ""
    for item in path:
        out += f"[{item}]" if isinstance(item, int) else (f".{item}" if out else str(item))
    return out


def _loose_diff(field: Sequence[PathItem], old: Any, new: Any) -> str:
    """`after.ends_at A -> B`, values without quotes (plan values are plain strings)."""
    return f"{_dotted(field)} {_loose(field, old)} -> {_loose(field, new)}"


def _loose(path: Sequence[PathItem], value: Any) -> str:
    if value is ABSENT or value is None:
        return "none"
    if _is_code(path, value):
        return MASK
    text = value if isinstance(value, str) else _json(value)
    return _cut(text.replace("\n", " "))


def _literal(path: Sequence[PathItem], value: Any) -> str:
    """A value as the message quotes it: 'Alice', null, true, 3, a list or object as JSON."""
    if value is ABSENT:
        return "nothing"
    if _is_code(path, value):
        return repr(MASK) if value == MASK else "a hidden value"
    if isinstance(value, str):
        return repr(_cut(value))
    return _cut(_json(value))


def _is_code(path: Sequence[PathItem], value: Any) -> bool:
    """A PIN's place: whatever an edited file holds there is never repeated."""
    return bool(path) and path[-1] == "code" and isinstance(value, str | int) and value != ""


def _json(value: Any) -> str:
    return json.dumps(_masked(value), separators=(",", ":"), default=str)


def _masked(value: Any) -> Any:
    """A copy with every `code` value masked, for values shown whole (a change, a state)."""
    if isinstance(value, dict):
        return {
            k: (MASK if k == "code" and v not in (None, "") else _masked(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


def _cut(text: str) -> str:
    """At most SHOWN_CHARS, keeping both ends (a source's line number is at the end)."""
    if len(text) <= SHOWN_CHARS:
        return text
    head = SHOWN_CHARS // 2
    return text[:head] + "…" + text[len(text) - (SHOWN_CHARS - head - 1) :]


def capped(lines: Sequence[str], limit: int = 5) -> Iterator[str]:
    """The first `limit` lines, then `and N more`."""
    yield from lines[:limit]
    if len(lines) > limit:
        yield f"and {len(lines) - limit} more"
