"""Plain data and the position of every key and item, from YAML, under a declaration's bounds.

Used by sage365.yamlsafe (which reads the file and turns a Refused into a Problem naming it):
EventBuilder builds declarations from libyaml's events in the pass that checks them;
NodeBuilder expands PyYAML's composed node tree, for sandbox states' anchors and merge keys.
Both give the same data, positions and refusals for a file without anchors
(tests/declaration/test_yamlsafe.py).
"""

from __future__ import annotations

import re
from typing import Any

import yaml

# Where a value stands in the data: mapping keys and sequence indexes from the root.
DataPath = tuple[str | int, ...]

# A declaration is about six levels deep; anything near Python's recursion limit (or the
# C stack: '[' * 50000 crashed the composer) is refused from the event stream, before
# any node is built.
MAX_DEPTH = 64
# Python refuses to convert an int of more than 4,300 digits (ValueError); no value in a
# declaration needs more than a few: refuse long numbers before they are converted.
MAX_NUMBER_LENGTH = 100
# With aliases allowed, the values built after expanding them are counted: a few aliases
# of aliases (the "billion laughs") would otherwise build billions of values. Written out,
# a value takes several bytes, so this bound (linear in the file's size) is never met by a
# file without aliases, and sharing a few objects stays far below it.
VALUES_PER_BYTE = 4
MIN_VALUES = 100_000
_MERGE = "tag:yaml.org,2002:merge"
_NUMBER = re.compile(r"[-+]?(0[xob])?[0-9a-fA-F_]+(\.[0-9_]*)?([eE][-+]?[0-9]+)?")
_STR = "tag:yaml.org,2002:str"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_NO_KEY = object()  # a mapping waiting for its next key
SECOND_DOCUMENT = "more than one YAML document: one tenant per file"


class Refused(Exception):
    """What a file is refused for, and where (a PyYAML mark; None: the file as a whole)."""

    def __init__(self, mark: Any, message: str) -> None:
        super().__init__(message)
        self.mark, self.message = mark, message


def position(mark: Any) -> tuple[int, int]:
    """(line, column), 1-based, of a PyYAML mark; (1, 1) for None."""
    return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)


def construct(loader: Any, node: yaml.ScalarNode) -> Any:
    """The scalar's value as PyYAML's safe constructor makes it. An explicit tag on a value
    it does not fit (`!!bool x`, an empty `!!int`) ends there in a KeyError or IndexError,
    not a YAMLError: refused here, at the value."""
    try:
        return loader.construct_object(node, deep=True)
    except LookupError:
        raise Refused(node.start_mark, f"{node.value!r} cannot be read as {node.tag}") from None


class EventBuilder:
    """One pass over libyaml's events: the stream checks (anchors, nesting, number sizes) and,
    with `build`, the data and positions NodeBuilder would make of the composed tree.

    Why by hand: composing PyYAML's node tree and walking it again cost as much as parsing;
    building from the events that are read anyway for the checks makes one pass of three.
    What NodeBuilder would refuse (a duplicate key, a key that is not a plain string, a value
    that cannot be constructed) is kept and raised only once the whole stream has passed
    the checks and proved a single document, so every file gets the problem it got when
    the checks, the composer and NodeBuilder ran in turn.
    """

    def __init__(self, text: str, loader: Any, aliases: bool, *, build: bool) -> None:
        self.text, self.loader, self.aliases, self.build = text, loader, aliases, build


    def run(self) -> tuple[Any, dict[DataPath, tuple[int, int]]]:
        """(data, positions) when building (never with aliases: yamlsafe.parse composes those),
        (None, {}) when only checking; YamlError or PyYAML's error otherwise."""
        loader, aliases = self.loader, self.aliases
        building = self.build
        positions: dict[DataPath, tuple[int, int]] = {}
        limit = max(MIN_VALUES, VALUES_PER_BYTE * len(self.text))
        values = depth = documents = 0
        root: Any = None
        # The open collections, innermost last: [container, its path, the key awaiting its value].
        stack: list[list[Any]] = []
        failed: Exception | None = None  # the first thing NodeBuilder would refuse
        second: Any = None  # where a second document starts
        check_event, get_event = loader.check_event, loader.get_event
        scalar, mapping_start, sequence_start = yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent
        while check_event():
            event = get_event()
            kind = type(event)
            if kind is scalar:
                if event.anchor and not aliases:
                    raise Refused(event.start_mark, "YAML anchors and aliases are not allowed")
                value = event.value
                if not event.style and len(value) > MAX_NUMBER_LENGTH and _NUMBER.fullmatch(value):  # plain: ''
                    raise Refused(event.start_mark, f"a number of {len(value)} characters: at most "
                                        f"{MAX_NUMBER_LENGTH} (quote it if it is text)")
                if not building:
                    continue
                if stack:
                    container, where, key = top = stack[-1]
                    if key is _NO_KEY:  # a mapping's key
                        try:
                            if (value == "<<" or event.tag not in (None, "!")) and self._tag(event) == _MERGE:
                                raise Refused(event.start_mark, "keys must be plain strings")
                            if value in container:
                                first = positions[where + (value,)]
                                raise Refused(event.start_mark, f"duplicate key '{value}' (first at line {first[0]})")
                        except Exception as exc:  # noqa: BLE001 (raised after the stream checks, below)
                            failed, building = exc, False
                            continue
                        mark = event.start_mark
                        positions[where + (value,)] = (mark.line + 1, mark.column + 1)
                        top[2] = value
                        continue
                values += 1
                try:
                    if values > limit:
                        raise Refused(event.start_mark, f"more than {limit:,} values once aliases are expanded")
                    tag = self._tag(event)
                    # Dates and times stay text: the schema checks their format, the loader parses them.
                    if tag != _STR and tag != _TIMESTAMP:
                        value = construct(loader, yaml.ScalarNode(tag, value, event.start_mark,
                                                                         event.end_mark, event.style))
                except Exception as exc:  # noqa: BLE001
                    failed, building = exc, False
                    continue
                mark = event.start_mark
                if not stack:
                    positions[()] = (mark.line + 1, mark.column + 1)
                    root = value
                elif key is None:  # a list's next item
                    positions[where + (len(container),)] = (mark.line + 1, mark.column + 1)
                    container.append(value)
                else:  # the pending key's value
                    container[key] = value
                    top[2] = _NO_KEY
            elif kind is mapping_start or kind is sequence_start:
                if event.anchor and not aliases:
                    raise Refused(event.start_mark, "YAML anchors and aliases are not allowed")
                depth += 1
                if depth > MAX_DEPTH:
                    raise Refused(event.start_mark, f"nested more than {MAX_DEPTH} levels deep")
                if not building:
                    continue
                new: Any = {} if kind is mapping_start else []
                mark = event.start_mark
                if not stack:
                    path: DataPath = ()
                    root = new
                else:
                    container, where, key = top = stack[-1]
                    if key is _NO_KEY:
                        failed, building = Refused(mark, "keys must be plain strings"), False
                        continue
                    path = where + ((len(container),) if key is None else (key,))
                values += 1
                if values > limit:
                    failed = Refused(mark, f"more than {limit:,} values once aliases are expanded")
                    building = False
                    continue
                if not stack or key is None:
                    positions[path] = (mark.line + 1, mark.column + 1)
                if stack:
                    if key is None:
                        container.append(new)
                    else:
                        container[key] = new
                        top[2] = _NO_KEY
                # A mapping's third slot is its pending key (_NO_KEY between entries); a list's is None.
                stack.append([new, path, _NO_KEY if kind is mapping_start else None])
            elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
                depth -= 1
                if building:
                    stack.pop()
            elif kind is yaml.AliasEvent:
                if not aliases:
                    raise Refused(event.start_mark, "YAML anchors and aliases are not allowed")
            elif kind is yaml.DocumentStartEvent:
                documents += 1
                if documents == 2:
                    second, building = event.start_mark, False
        if not self.build:
            return None, positions
        if documents == 0:
            raise Refused(None, "empty file")
        if second is not None:  # as PyYAML's composer says it, after the first document
            raise Refused(second, SECOND_DOCUMENT)
        if failed is not None:
            raise failed
        return root, positions

    def _tag(self, event: Any) -> str:
        """The scalar's tag as PyYAML's composer resolves it."""
        tag = event.tag
        if tag is None or tag == "!":
            return self.loader.resolve(yaml.ScalarNode, event.value, event.implicit)
        return tag


class NodeBuilder:
    """Plain data from PyYAML's node tree, recording where each key and item stands."""

    def __init__(self, loader: Any, positions: dict, aliases: bool, limit: int) -> None:
        self.loader, self.positions, self.aliases, self.limit = loader, positions, aliases, limit
        self.values = 0


    def build(self, node: yaml.Node, where: DataPath) -> Any:
        self.values += 1
        if self.values > self.limit:
            raise Refused(node.start_mark, f"more than {self.limit:,} values once aliases are expanded")
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, where)
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, item in enumerate(node.value):
                self.positions[where + (index,)] = position(item.start_mark)
                items.append(self.build(item, where + (index,)))
            return items
        # Dates and times stay text: the schema checks their format, the loader parses them.
        if node.tag == "tag:yaml.org,2002:timestamp":
            return node.value
        return construct(self.loader, node)

    def _mapping(self, node: yaml.MappingNode, where: DataPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if self.aliases and isinstance(key_node, yaml.ScalarNode) and key_node.tag == _MERGE:
                # YAML's merge key: the first mapping giving a key wins, keys written here win over all.
                sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                for source in sources:
                    if not isinstance(source, yaml.MappingNode):
                        raise Refused(source.start_mark, "'<<' merges mappings only")
                    for key, value in self._mapping(source, where).items():
                        merged.setdefault(key, value)
                continue
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _MERGE:
                raise Refused(key_node.start_mark, "keys must be plain strings")
            key = key_node.value
            if key in result:
                first = self.positions[where + (key,)]
                raise Refused(key_node.start_mark, f"duplicate key '{key}' (first at line {first[0]})")
            self.positions[where + (key,)] = position(key_node.start_mark)
            result[key] = self.build(value_node, where + (key,))
        if not merged:
            return result
        out = dict(merged)  # merged keys first, as PyYAML orders them
        out.update(result)
        return out
