"""The one-pass loader (yamlbuild.EventBuilder) gives exactly what checking the events, composing
PyYAML's node tree and walking it (yamlbuild.NodeBuilder) gives: the same data with the same
types and key order, the same positions, or the same problem at the same line and column.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sage365.yamlsafe import _NOT_PRINTABLE, YamlError, load, parse, read_text

ROOT = Path(__file__).resolve().parents[2]
SAME = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
EXAMPLE = (ROOT / "tenants" / "contoso.yaml").read_text(encoding="utf-8")


def outcome(text: str, compose: bool) -> tuple:
    try:
        document = parse("t.yaml", text, compose=compose)
    except YamlError as exc:
        return ("problem", exc.problem)
    # repr: 1, 1.0 and True differ, NaN equals itself, and key order counts.
    return ("document", repr(document.data), list(document.positions.items()))


def assert_same(text: str) -> tuple:
    one_pass = outcome(text, compose=False)
    assert one_pass == outcome(text, compose=True)
    return one_pass


def yaml_files() -> list[Path]:
    skip = {".venv", ".git", "node_modules"}
    return sorted(p for p in ROOT.rglob("*.y*ml") if not skip & set(p.relative_to(ROOT).parts))


@pytest.mark.parametrize("path", yaml_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_yaml_file_of_the_repository(path):
    assert_same(path.read_bytes().decode("utf-8", "replace"))


@pytest.mark.parametrize(("text", "expected"), [
    ("a: 1\nb: [x, {c: 2}]\n", ("document", "{'a': 1, 'b': ['x', {'c': 2}]}",
                                [((), (1, 1)), (("a",), (1, 1)), (("b",), (2, 1)), (("b", 0), (2, 5)),
                                 (("b", 1), (2, 8)), (("b", 1, "c"), (2, 9))])),
    ("a: 1\nb: 2\na: 3\n", "duplicate key 'a' (first at line 1)"),
    ("a: !!int x\n---\nb\n", "more than one YAML document: one tenant per file"),
    ("a: !!int x\nb: [\n", "did not find expected node content"),
    ("a: 1\na: 2\nb: " + "9" * 101 + "\n", "a number of 101 characters: at most 100 (quote it if it is text)"),
    ("a: !!int x\n", "cannot be read as a declaration: invalid literal for int() with base 10: 'x'"),
    ("a: [!!bool x]\n", "'x' cannot be read as tag:yaml.org,2002:bool"),
    ("!!int\n", "'' cannot be read as tag:yaml.org,2002:int"),
    ("a: !custom x\n", "could not determine a constructor for the tag '!custom'"),
    ("? [a]\n: b\n", "keys must be plain strings"),
    ("<<: {a: 1}\n", "keys must be plain strings"),
    ("a: {b: 1}\nc: &x 2\n", "YAML anchors and aliases are not allowed"),
    ("# nothing\n", "empty file"),
    ("d: 2026-01-01\nn: .nan\nt: [yes, ~, 0x1F, 1_0, '1', ! 2, !!str 3, \"<<\"]\n", None),
])
def test_outcomes_that_differ_by_step(text, expected):
    """One of each: built, refused while building, refused by the composer, by the parser,
    by the event checks; a build problem never hides a later stream problem."""
    result = assert_same(text)
    if expected is None:
        assert result[0] == "document"
    elif isinstance(expected, str):
        assert result[0] == "problem" and result[1].message == expected
    else:
        assert result == expected


TOKENS = ["a", "b", "<<", "'<<'", "!!int", "!!str", "!!float", "!!bool", "!!null", "!!timestamp", "!!binary",
          "!!set", "!!omap", "!!merge", "!foo", "!", "1", "0x1F", "1e3", ".nan", "-.inf", "yes", "~", "null",
          "2026-02-30", "2026-01-01T10:00:00Z", "'q'", '"d\\n"', "?", ":", "- ", "[", "]", "{", "}", ",", "&x",
          "*x", "|", ">", "#c", "---", "...", "%YAML 1.1", "\n", "\n  ", "\n- ", " ", "  ", "aGk="]


@SAME
@given(st.lists(st.sampled_from(TOKENS), max_size=40))
def test_token_soup(tokens):
    assert_same("".join(tokens))


@SAME
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c", "<<", "1", "? [x]", "'a'"]),
                          st.sampled_from(["1", "x", "!!int x", "[1, a]", "{a: 1, a: 2}", "2026-01-01", "", "!x y",
                                           "{b: {c: [d]}}", "- z", "!!binary aGk=", "!!set {a}"]),
                          st.integers(0, 3)), max_size=12))
def test_nested_mappings(entries):
    text = "".join(f"{'  ' * indent}{key}: {value}\n" for key, value, indent in entries)
    assert_same(text)


@SAME
@given(st.lists(st.tuples(st.integers(0, len(EXAMPLE)), st.text(alphabet=":-[]{}!&*'\"#,?<\n ab1", max_size=6)),
                min_size=1, max_size=4))
def test_mutated_example(cuts):
    text = EXAMPLE
    for offset, insert in cuts:
        text = text[:offset] + insert + text[offset + len(insert):]
    assert_same(text)


def first_bad_line(text: str) -> tuple[int, int, str] | None:
    """read_text's rule, line by line: the first line with a tab or a control character
    (the tab when a line has both)."""
    for number, line in enumerate(text.split("\n"), start=1):
        if "\t" in line:
            return number, line.index("\t") + 1, "tab"
        bad = _NOT_PRINTABLE.search(line)
        if bad:
            return number, bad.start() + 1, f"U+{ord(bad.group()):04X}"
    return None


@SAME
@given(st.text(alphabet="a \n\t\x1b\x00\x7f\r\u0085\ufffe", max_size=60))
def test_tabs_and_control_characters_are_found_where_they_stand(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("text") / "t.yaml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    expected = first_bad_line(text)
    try:
        assert read_text(path) == text and expected is None
    except YamlError as exc:
        problem = exc.problem
        assert expected is not None and (problem.line, problem.column) == expected[:2]
        assert ("tab character" in problem.message) == (expected[2] == "tab")
        assert expected[2] == "tab" or expected[2] in problem.message


def test_a_tag_that_does_not_fit_its_value_is_one_positioned_problem(tmp_path):
    """PyYAML's constructor ends `!!bool x` in a KeyError and an empty `!!int` in an IndexError."""
    path = tmp_path / "t.yaml"
    path.write_text("a: 1\nb: !!bool x\n", encoding="utf-8")
    with pytest.raises(YamlError) as caught:
        load(path)
    assert str(caught.value.problem) == f"{path}:2:4: 'x' cannot be read as tag:yaml.org,2002:bool"
