"""YAML's tags and anchors as accesscodes reads them: libyaml's loader without implicit
timestamps, scalars typed like SafeLoader's, the tags refused, and `&name` values with the
secret fields inside them. Split from the event builder (`reconciler.config.yamlevents`)."""

from __future__ import annotations

from typing import Any

import yaml

from reconciler.config.yamlvars import PathKey

_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


# libyaml's parser when the wheel has it (about five times faster on large fleets), with the
# same marks; pure Python otherwise.
_Base: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class Loader(_Base):  # type: ignore[misc, valid-type]
    """SafeLoader without implicit timestamps."""


Loader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag != _TIMESTAMP_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


STR_TAG = "tag:yaml.org,2002:str"
MAP_TAGS = (None, "!", "tag:yaml.org,2002:map")
SEQ_TAGS = (None, "!", "tag:yaml.org,2002:seq")
_MERGE_TAG = "tag:yaml.org,2002:merge"
MERGE = object()  # what `<<` reads as: the merge key


def expect_tag(event: yaml.Event, allowed: tuple[str | None, ...], what: str) -> None:
    """Refuse a tag this reader does not build (`!!python/object`, custom tags)."""
    if event.tag not in allowed:
        raise yaml.constructor.ConstructorError(
            None, None, f"the tag {event.tag!r} is not supported on {what}", event.start_mark
        )


def typed_scalar(loader: Loader, event: yaml.ScalarEvent) -> Any:
    """A scalar's value, typed like SafeLoader does (timestamps stay strings); `<<` is the
    merge key."""
    tag = event.tag
    if tag is None or tag == "!":
        tag = loader.resolve(yaml.ScalarNode, event.value, event.implicit)
    if tag == STR_TAG:
        return event.value
    if tag == _MERGE_TAG:
        return MERGE
    constructor = loader.yaml_constructors.get(tag)
    if constructor is None:
        raise yaml.constructor.ConstructorError(
            None,
            None,
            f"could not determine a constructor for the tag {tag!r}",
            event.start_mark,
        )
    node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
    return constructor(loader, node)


class Anchors:
    """`&name` values, each with the secret fields inside it (relative to where it was
    written), so that an alias can copy a value read from the environment only into another
    secret field."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.secrets: dict[str, tuple[PathKey, ...]] = {}

    def remember(self, anchor: str, value: Any, secrets: tuple[PathKey, ...]) -> None:
        """Keep an anchored value (a later anchor of the same name replaces it, as in YAML)."""
        self.values[anchor] = value
        self.secrets[anchor] = secrets

    def recall(self, event: yaml.AliasEvent) -> tuple[Any, tuple[PathKey, ...]]:
        """The value `*name` stands for and its secret fields; an unknown name is an error."""
        if event.anchor not in self.values:
            raise yaml.composer.ComposerError(
                None, None, f"found undefined alias {event.anchor!r}", event.start_mark
            )
        return self.values[event.anchor], self.secrets.get(event.anchor, ())
