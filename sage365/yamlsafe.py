"""Strict YAML reading for declarations: plain data plus the line and column of every key.

PyYAML (the maintained parser we use) accepts duplicate keys, aliases, tabs in some
places and several documents per file; a declaration must refuse all of them with an
error naming the file, line and column, so the data is built here (sage365.yamlbuild) from
libyaml's events or PyYAML's node tree, not by PyYAML's constructor.
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
from sage365.yamlbuild import (
    MIN_VALUES,
    SECOND_DOCUMENT,
    VALUES_PER_BYTE,
    DataPath,
    EventBuilder,
    NodeBuilder,
    Refused,
    position,
)

MAX_BYTES = 1024 * 1024
# What YAML 1.1 allows in a stream is printable text; anything else (ESC, NUL, VT, DEL,
# C1 controls, noncharacters) is refused with its exact line and column.
_NOT_PRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")
# libyaml's parser when PyYAML was built with it (the PyPI wheels are): about 10x faster.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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
            EventBuilder(text, loader, aliases, build=False).run()
            composer = _Loader(text)
            try:
                node = composer.get_single_node()
                if node is None:
                    raise Refused(None, "empty file")
                positions: dict[DataPath, tuple[int, int]] = {(): position(node.start_mark)}
                limit = max(MIN_VALUES, VALUES_PER_BYTE * len(text))
                data = NodeBuilder(composer, positions, aliases, limit).build(node, ())
            finally:
                composer.dispose()
        else:
            data, positions = EventBuilder(text, loader, aliases, build=True).run()
    except Refused as exc:
        line, column = position(exc.mark)
        raise YamlError(Problem(name, line, column, exc.message)) from None
    except yaml.MarkedYAMLError as exc:
        line, column = position(exc.problem_mark or exc.context_mark)
        problem = exc.problem or exc.context or "invalid YAML"
        if "expected a single document" in str(exc.context or ""):
            problem = SECOND_DOCUMENT
        raise YamlError(Problem(name, line, column, problem)) from None
    except yaml.YAMLError as exc:
        raise YamlError(Problem(name, 1, 1, f"invalid YAML: {exc}")) from None
    except (RecursionError, ValueError) as exc:  # bounded above; kept so no input ends in a traceback
        raise YamlError(Problem(name, 1, 1, f"cannot be read as a declaration: {exc}")) from None
    finally:
        loader.dispose()
    return Document(name, data, positions)
