"""Strict YAML reading for declarations: plain data plus the line and column of every key.

PyYAML (the maintained parser we use) accepts duplicate keys, aliases, tabs in some
places and several documents per file; a declaration must refuse all of them with an
error naming the file, line and column, so this module walks PyYAML's node tree itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

MAX_BYTES = 1024 * 1024
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
        kind = "warning: " if self.warning else ""
        return f"{self.path}:{self.line}:{self.column}: {kind}{self.message}"


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


def read_text(path: Path) -> str:
    """The file's text, refusing oversized, non-UTF-8 or tab-indented content."""
    name = str(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise YamlError(Problem(name, 1, 1, f"cannot read file: {exc.strerror or exc}")) from None
    if size > MAX_BYTES:
        raise YamlError(Problem(name, 1, 1, f"file is {size} bytes, over the 1 MiB limit"))
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise YamlError(Problem(name, line, column, f"not UTF-8: byte 0x{raw[exc.start]:02x}")) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    for number, line_text in enumerate(text.splitlines(), start=1):
        if "\t" in line_text:
            raise YamlError(Problem(name, number, line_text.index("\t") + 1, "tab character: indent with spaces"))
    return text


def load(path: Path) -> Document:
    """Parse one YAML file strictly into a Document."""
    name = str(path)
    text = read_text(path)
    loader = _Loader(text)
    try:
        # Refuse anchors and aliases from the event stream, before anything is built,
        # so an alias bomb costs nothing.
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                line, column = _mark(event.start_mark)
                raise YamlError(Problem(name, line, column, "YAML anchors and aliases are not allowed"))
        node = loader.get_single_node()
        if node is None:
            raise YamlError(Problem(name, 1, 1, "empty file"))
        positions: dict[DataPath, tuple[int, int]] = {(): _mark(node.start_mark)}
        data = _build(node, (), positions, name, loader)
    except YamlError:
        raise
    except yaml.MarkedYAMLError as exc:
        line, column = _mark(exc.problem_mark or exc.context_mark)
        problem = exc.problem or exc.context or "invalid YAML"
        if "expected a single document" in str(exc.context or ""):
            problem = "more than one YAML document: one tenant per file"
        raise YamlError(Problem(name, line, column, problem)) from None
    except yaml.YAMLError as exc:
        raise YamlError(Problem(name, 1, 1, f"invalid YAML: {exc}")) from None
    finally:
        loader.dispose()
    return Document(name, data, positions)


def _build(node: yaml.Node, where: DataPath, positions: dict, name: str, loader: Any) -> Any:
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                line, column = _mark(key_node.start_mark)
                raise YamlError(Problem(name, line, column, "keys must be plain strings"))
            key = key_node.value
            if key in result:
                line, column = _mark(key_node.start_mark)
                first = positions[where + (key,)]
                raise YamlError(Problem(name, line, column, f"duplicate key '{key}' (first at line {first[0]})"))
            positions[where + (key,)] = _mark(key_node.start_mark)
            result[key] = _build(value_node, where + (key,), positions, name, loader)
        return result
    if isinstance(node, yaml.SequenceNode):
        items = []
        for index, item in enumerate(node.value):
            positions[where + (index,)] = _mark(item.start_mark)
            items.append(_build(item, where + (index,), positions, name, loader))
        return items
    # Dates and times stay text: the schema checks their format, the loader parses them.
    if node.tag == "tag:yaml.org,2002:timestamp":
        return node.value
    return loader.construct_object(node, deep=True)
