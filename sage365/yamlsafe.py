"""Strict YAML reading for declarations: plain data plus the line and column of every key.

PyYAML (the maintained parser we use) accepts duplicate keys, aliases, tabs in some
places and several documents per file; a declaration must refuse all of them with an
error naming the file, line and column, so this module walks PyYAML's node tree itself.
Sandbox states (sage365.sandbox.state) are read here too, with anchors, aliases and merge
keys allowed (they share Graph's service principals between tenants), expansion bounded.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sage365.text import visible

MAX_BYTES = 1024 * 1024
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
# What YAML 1.1 allows in a stream is printable text; anything else (ESC, NUL, VT, DEL,
# C1 controls, noncharacters) is refused with its exact line and column.
_NOT_PRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")
# libyaml's parser when PyYAML was built with it (the PyPI wheels are): about 10x faster.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# A location in the data: mapping keys and sequence indexes from the root.
DataPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file, pointing at a line and column (1-based)."""

    path: str
    line: int
    column: int
    message: str
    warning: bool = False

    def __str__(self) -> str:
        # Always one line: a value with a newline or an escape sequence is shown escaped.
        kind = "warning: " if self.warning else ""
        return f"{visible(self.path)}:{self.line}:{self.column}: {kind}{visible(self.message)}"


class YamlError(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


@dataclass(frozen=True)
class Document:
    """A parsed file: its data and where each value stands in the text."""

    path: str
    data: Any
    # For a mapping entry: where its key stands; for a sequence item: where it stands.
    positions: dict[DataPath, tuple[int, int]]

    def position(self, where: DataPath) -> tuple[int, int]:
        """The closest known position to `where`, walking up to the root."""
        where = tuple(where)
        while where:
            if where in self.positions:
                return self.positions[where]
            where = where[:-1]
        return self.positions.get((), (1, 1))

    def problem(self, where: DataPath, message: str, *, warning: bool = False) -> Problem:
        line, column = self.position(where)
        return Problem(self.path, line, column, message, warning)


def _mark(mark: Any) -> tuple[int, int]:
    return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)


def _limit(max_bytes: int) -> str:
    return f"{max_bytes // (1024 * 1024)} MiB" if max_bytes % (1024 * 1024) == 0 else f"{max_bytes} bytes"


def read_text(path: Path, max_bytes: int = MAX_BYTES) -> str:
    """The file's text, refusing anything but a regular file, oversized (counted while
    reading, so /dev/zero or a growing file cannot exhaust memory), non-UTF-8, control
    characters or tab-indented content."""
    name = str(path)
    raw = _read_bytes(path, name, max_bytes)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise YamlError(Problem(name, line, column, f"not UTF-8: byte 0x{raw[exc.start]:02x}")) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    # The first line holding a tab or a control character is reported, the tab first when a
    # line holds both: searched in the whole text at once, not line by line (a tenant file's cost).
    tab = text.find("\t")
    bad = _NOT_PRINTABLE.search(text)
    if tab >= 0 and (bad is None or text.count("\n", 0, tab) <= text.count("\n", 0, bad.start())):
        line, column = _line_column(text, tab)
        raise YamlError(Problem(name, line, column, "tab character: indent with spaces"))
    if bad is not None:
        line, column = _line_column(text, bad.start())
        raise YamlError(Problem(name, line, column, f"control character U+{ord(bad.group()):04X} is "
                                "not allowed in YAML: write it as an escape in a double-quoted string"))
    return text


def _line_column(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of text[index], lines split at '\\n'."""
    return text.count("\n", 0, index) + 1, index - (text.rfind("\n", 0, index) + 1) + 1


def _read_bytes(path: Path, name: str, max_bytes: int = MAX_BYTES) -> bytes:
    """At most max_bytes of a regular file; a FIFO, device or folder is refused without blocking."""
    def problem(message: str) -> YamlError:
        return YamlError(Problem(name, 1, 1, message))

    try:
        # O_NONBLOCK: opening a FIFO without a writer returns at once instead of hanging;
        # it is then refused, like a device, by what fstat says it is.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except IsADirectoryError:
        raise problem("is a folder, not a YAML file") from None
    except OSError as exc:
        raise problem(f"cannot read file: {exc.strerror or exc}") from None
    try:
        status = os.fstat(fd)
        mode = status.st_mode
        if stat.S_ISDIR(mode):
            raise problem("is a folder, not a YAML file")
        if not stat.S_ISREG(mode):
            kind = "a FIFO" if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a socket"
            raise problem(f"is {kind}, not a regular file")
        size = status.st_size
        if size > max_bytes:
            raise problem(f"file is {size} bytes, over the {_limit(max_bytes)} limit")
        raw = b""
        while len(raw) <= max_bytes:  # the size read, not the size stat claims
            chunk = os.read(fd, max_bytes + 1 - len(raw))
            if not chunk:
                break
            raw += chunk
    except OSError as exc:
        raise problem(f"cannot read file: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(raw) > max_bytes:
        raise problem(f"file is over the {_limit(max_bytes)} limit")
    return raw


def read_bytes(path: Path, max_bytes: int = MAX_BYTES) -> bytes:
    """At most max_bytes of a regular file (JSON states); YamlError otherwise."""
    return _read_bytes(path, str(path), max_bytes)


def load(path: Path, *, aliases: bool = False, max_bytes: int = MAX_BYTES) -> Document:
    """Parse one YAML file strictly into a Document. `aliases`: allow anchors, aliases and
    `<<` merge keys (sandbox states), each alias built as a copy, MAX_VALUES in all."""
    name = str(path)
    return parse(name, read_text(path, max_bytes), aliases=aliases)


def parse(name: str, text: str, *, aliases: bool = False, compose: bool = False) -> Document:
    """`text` (as read_text returns it) parsed strictly into a Document named `name`.

    Without aliases (declarations) the data and positions are built in the one pass over
    libyaml's events that checks them; with aliases (sandbox states) the events are checked
    first, then PyYAML's composer builds the node tree that _Builder expands. `compose=True`
    takes the second way without aliases too: both give the same Document or the same
    problem (tests/declaration/test_yamlsafe.py holds them to it).
    """
    loader = _Loader(text)
    try:
        if aliases or compose:
            # Refuse anchors and aliases from the event stream, before anything is built,
            # so an alias bomb costs nothing. Nesting and number sizes are bounded here,
            # before the (recursive) composer or int() ever sees them.
            _Events(name, text, loader, aliases, build=False).run()
            composer = _Loader(text)
            try:
                node = composer.get_single_node()
                if node is None:
                    raise YamlError(Problem(name, 1, 1, "empty file"))
                positions: dict[DataPath, tuple[int, int]] = {(): _mark(node.start_mark)}
                limit = max(MIN_VALUES, VALUES_PER_BYTE * len(text))
                data = _Builder(name, composer, positions, aliases, limit).build(node, ())
            finally:
                composer.dispose()
        else:
            data, positions = _Events(name, text, loader, aliases, build=True).run()
    except YamlError:
        raise
    except yaml.MarkedYAMLError as exc:
        line, column = _mark(exc.problem_mark or exc.context_mark)
        problem = exc.problem or exc.context or "invalid YAML"
        if "expected a single document" in str(exc.context or ""):
            problem = _SECOND_DOCUMENT
        raise YamlError(Problem(name, line, column, problem)) from None
    except yaml.YAMLError as exc:
        raise YamlError(Problem(name, 1, 1, f"invalid YAML: {exc}")) from None
    except (RecursionError, ValueError) as exc:  # bounded above; kept so no input ends in a traceback
        raise YamlError(Problem(name, 1, 1, f"cannot be read as a declaration: {exc}")) from None
    finally:
        loader.dispose()
    return Document(name, data, positions)


_SECOND_DOCUMENT = "more than one YAML document: one tenant per file"


def _construct(name: str, loader: Any, node: yaml.ScalarNode) -> Any:
    """The scalar's value as PyYAML's safe constructor makes it. An explicit tag on a value
    it does not fit (`!!bool x`, an empty `!!int`) ends there in a KeyError or IndexError,
    not a YAMLError: said here as one positioned line."""
    try:
        return loader.construct_object(node, deep=True)
    except LookupError:
        line, column = _mark(node.start_mark)
        raise YamlError(Problem(name, line, column, f"{node.value!r} cannot be read as {node.tag}")) from None
_STR = "tag:yaml.org,2002:str"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_NO_KEY = object()  # a mapping waiting for its next key


class _Events:
    """One pass over libyaml's events: the stream checks (anchors, nesting, number sizes) and,
    with `build`, the data and positions _Builder would make of the composed tree.

    Why by hand: composing PyYAML's node tree and walking it again cost as much as parsing;
    building from the events that are read anyway for the checks makes one pass of three.
    What _Builder would refuse (a duplicate key, a key that is not a plain string, a value
    that cannot be constructed) is kept and raised only once the whole stream has passed
    the checks and proved a single document, so every file gets the problem it got when
    the checks, the composer and _Builder ran in turn.
    """

    def __init__(self, name: str, text: str, loader: Any, aliases: bool, *, build: bool) -> None:
        self.name, self.text, self.loader, self.aliases, self.build = name, text, loader, aliases, build

    def _problem(self, mark: Any, message: str) -> YamlError:
        line, column = _mark(mark)
        return YamlError(Problem(self.name, line, column, message))

    def run(self) -> tuple[Any, dict[DataPath, tuple[int, int]]]:
        """(data, positions) when building (never with aliases: parse() composes those),
        (None, {}) when only checking; YamlError or PyYAML's error otherwise."""
        name, loader, aliases = self.name, self.loader, self.aliases
        building = self.build
        positions: dict[DataPath, tuple[int, int]] = {}
        limit = max(MIN_VALUES, VALUES_PER_BYTE * len(self.text))
        values = depth = documents = 0
        root: Any = None
        # The open collections, innermost last: [container, its path, the key awaiting its value].
        stack: list[list[Any]] = []
        failed: Exception | None = None  # the first thing _Builder would refuse
        second: Any = None  # where a second document starts
        check_event, get_event = loader.check_event, loader.get_event
        scalar, mapping_start, sequence_start = yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent
        while check_event():
            event = get_event()
            kind = type(event)
            if kind is scalar:
                if event.anchor and not aliases:
                    raise self._problem(event.start_mark, "YAML anchors and aliases are not allowed")
                value = event.value
                if not event.style and len(value) > MAX_NUMBER_LENGTH and _NUMBER.fullmatch(value):  # plain: ''
                    raise self._problem(event.start_mark, f"a number of {len(value)} characters: at most "
                                        f"{MAX_NUMBER_LENGTH} (quote it if it is text)")
                if not building:
                    continue
                if stack:
                    container, where, key = top = stack[-1]
                    if key is _NO_KEY:  # a mapping's key
                        try:
                            if (value == "<<" or event.tag not in (None, "!")) and self._tag(event) == _MERGE:
                                raise self._problem(event.start_mark, "keys must be plain strings")
                            if value in container:
                                first = positions[where + (value,)]
                                raise self._problem(event.start_mark, f"duplicate key '{value}' (first at line {first[0]})")
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
                        raise self._problem(event.start_mark, f"more than {limit:,} values once aliases are expanded")
                    tag = self._tag(event)
                    # Dates and times stay text: the schema checks their format, the loader parses them.
                    if tag != _STR and tag != _TIMESTAMP:
                        value = _construct(name, loader, yaml.ScalarNode(tag, value, event.start_mark,
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
                    raise self._problem(event.start_mark, "YAML anchors and aliases are not allowed")
                depth += 1
                if depth > MAX_DEPTH:
                    raise self._problem(event.start_mark, f"nested more than {MAX_DEPTH} levels deep")
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
                        failed, building = self._problem(mark, "keys must be plain strings"), False
                        continue
                    path = where + ((len(container),) if key is None else (key,))
                values += 1
                if values > limit:
                    failed = self._problem(mark, f"more than {limit:,} values once aliases are expanded")
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
                    raise self._problem(event.start_mark, "YAML anchors and aliases are not allowed")
            elif kind is yaml.DocumentStartEvent:
                documents += 1
                if documents == 2:
                    second, building = event.start_mark, False
        if not self.build:
            return None, positions
        if documents == 0:
            raise YamlError(Problem(name, 1, 1, "empty file"))
        if second is not None:  # as PyYAML's composer says it, after the first document
            raise self._problem(second, _SECOND_DOCUMENT)
        if failed is not None:
            raise failed
        return root, positions

    def _tag(self, event: Any) -> str:
        """The scalar's tag as PyYAML's composer resolves it."""
        tag = event.tag
        if tag is None or tag == "!":
            return self.loader.resolve(yaml.ScalarNode, event.value, event.implicit)
        return tag


class _Builder:
    """Plain data from PyYAML's node tree, recording where each key and item stands."""

    def __init__(self, name: str, loader: Any, positions: dict, aliases: bool, limit: int) -> None:
        self.name, self.loader, self.positions, self.aliases, self.limit = name, loader, positions, aliases, limit
        self.values = 0

    def _problem(self, node: yaml.Node, message: str) -> YamlError:
        line, column = _mark(node.start_mark)
        return YamlError(Problem(self.name, line, column, message))

    def build(self, node: yaml.Node, where: DataPath) -> Any:
        self.values += 1
        if self.values > self.limit:
            raise self._problem(node, f"more than {self.limit:,} values once aliases are expanded")
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, where)
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, item in enumerate(node.value):
                self.positions[where + (index,)] = _mark(item.start_mark)
                items.append(self.build(item, where + (index,)))
            return items
        # Dates and times stay text: the schema checks their format, the loader parses them.
        if node.tag == "tag:yaml.org,2002:timestamp":
            return node.value
        return _construct(self.name, self.loader, node)

    def _mapping(self, node: yaml.MappingNode, where: DataPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if self.aliases and isinstance(key_node, yaml.ScalarNode) and key_node.tag == _MERGE:
                # YAML's merge key: the first mapping giving a key wins, keys written here win over all.
                sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                for source in sources:
                    if not isinstance(source, yaml.MappingNode):
                        raise self._problem(source, "'<<' merges mappings only")
                    for key, value in self._mapping(source, where).items():
                        merged.setdefault(key, value)
                continue
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _MERGE:
                raise self._problem(key_node, "keys must be plain strings")
            key = key_node.value
            if key in result:
                first = self.positions[where + (key,)]
                raise self._problem(key_node, f"duplicate key '{key}' (first at line {first[0]})")
            self.positions[where + (key,)] = _mark(key_node.start_mark)
            result[key] = self.build(value_node, where + (key,))
        if not merged:
            return result
        out = dict(merged)  # merged keys first, as PyYAML orders them
        out.update(result)
        return out
