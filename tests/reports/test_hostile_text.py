"""Text from declarations and Graph is data in every report: properties over arbitrary unicode.

For any text in any field of any finding, each format parses with a real parser of that
format and shows the text exactly (escaped where it would act): JSON loads to the same
values, JUnit is XML 1.0 that expat accepts, Markdown keeps its table shape with no link,
image, HTML, emphasis, mention or bare URL, HTML has only the report's own elements, and
the terminal table carries no control character and no interpreted markup.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from sage365 import reports
from sage365.findings import Finding, Severity, Status, TenantResult
from sage365.reports.safe import ZWSP, markdown_text, scrub, visible, xml_text

GENERATED_AT = dt.datetime(2026, 6, 1, 8, 30, tzinfo=dt.timezone.utc)
HOSTILE = [
    "[/x]", "[red]alarm[/red]", "[link=https://evil.example]click[/link]", ":smile: [bold]",
    "\x1b[31mred\x1b[0m\x1b]8;;https://evil.example\x07link\x1b]8;;\x07", "\x00nul\x0bvt\x1f\ufffe\uffff",
    "line\r\nbreak\rcr\nlf\u2028ls\u2029ps", "![x](https://evil.example/p.png) [t](https://evil.example)",
    "https://evil.example www.evil.example @org/team @user #12 <b>bold</b> <img src=x onerror=alert(1)>",
    "| a | b |", "`code` *em* _em_ ~~s~~ $x$ \\", "\u202egnp.exe\u202c \u200b\u2066", "&amp; &lt;", "\ud800 lone",
]
# Any unicode, surrogates included (Graph's JSON may carry them as \ud800 escapes).
ANY_TEXT = st.text(st.characters(codec=None, categories=None), max_size=60)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def result_with(text: str, status: Status = Status.FAIL) -> TenantResult:
    finding = Finding(tenant="acme", check="addin.members", status=status, severity=Severity.MEDIUM,
                      resource=text, expected=text, actual=text, message=text, remediation="Run `pulumi up`.")
    other = Finding(tenant="acme", check="admin.exists", status=Status.PASS, severity=Severity.HIGH,
                    resource=text, message=text)
    return TenantResult(name="acme", tenant_id="11111111-1111-4111-8111-111111111111", path=text,
                        findings=(finding, other))


def render(fmt: str, text: str, **options: object) -> str:
    return reports.render(fmt, [result_with(text)], lang="en", generated_at=GENERATED_AT, **options)


@FAST
@given(ANY_TEXT)
@example("\ud800 lone surrogate")
def test_json_loads_to_the_exact_text(text: str) -> None:
    out = render("json", text)
    out.encode("utf-8")  # writable as a file
    finding = json.loads(out)["tenants"][0]["findings"][0]
    assert [finding[k] for k in ("resource", "expected", "actual", "message")] == [scrub(text)] * 4


@FAST
@given(ANY_TEXT)
@example("\ud800 lone surrogate")
@example("\x00\x1f\x7f\u2028\u2029é\"\\/\n\t\b\f\r")
def test_json_is_the_standard_librarys_text(text: str) -> None:
    # The report is encoded with msgspec for speed; its text must stay json.dumps's, byte for byte.
    from sage365.reports.json_report import document

    data = document([result_with(text)], lang="en", generated_at=GENERATED_AT)
    assert render("json", text) == scrub(json.dumps(data, indent=2, ensure_ascii=False)) + "\n"


@FAST
@given(ANY_TEXT)
@example("\x1b\x00\x0b\x1f\ufffe\uffff\ud800")
def test_junit_is_xml_1_0_and_shows_the_text(text: str) -> None:
    out = render("junit", text)
    root = ET.fromstring(out.encode("utf-8"))  # expat refuses any character XML 1.0 forbids
    failure = root.find("testsuite/testcase[@name='addin.members']/failure")
    assert failure is not None and failure.get("message") == xml_text(text)
    assert root.find("testsuite").get("file") == xml_text(text)
    assert f"{xml_text(text)}: {xml_text(text)}" in failure.text


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.attributes: set[str] = set()
        self.cells: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.add(tag)
        self.attributes |= {name for name, _ in attrs}
        if tag == "td":
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            self.cells.append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


REPORT_TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "nav", "a", "strong", "br",
               "small", "section", "span", "table", "colgroup", "col", "tr", "th", "td", "details", "summary"}


@FAST
@given(ANY_TEXT)
@example("<script>alert(1)</script><img src=x onerror=alert(1)>")
def test_html_has_only_the_reports_elements_and_shows_the_text(text: str) -> None:
    parser = _Elements()
    parser.feed(render("html", text))
    parser.close()
    assert parser.tags <= REPORT_TAGS
    assert parser.attributes <= {"lang", "charset", "class", "href", "id", "colspan"}
    shown = xml_text(text)
    # The failing finding's resource, expected, actual, message; the pass's resource and message.
    assert parser.cells.count(shown) >= 6 if shown else True


def _cells(markdown: str) -> list[list[list]]:
    """Each table's rows, each row its cells' inline children tokens."""
    tokens = MarkdownIt("commonmark").enable(["table", "strikethrough"]).parse(markdown)
    tables, row, cell = [], None, False
    for token in tokens:
        if token.type == "table_open":
            tables.append([])
        elif token.type == "tr_open":
            row = []
        elif token.type == "tr_close":
            tables[-1].append(row)
        elif token.type in ("td_open", "th_open"):
            cell = True
        elif token.type == "inline" and cell:
            row.append(token.children or [])
            cell = False
    return tables


BARE_URL = re.compile(r"(?i)[a-z][a-z0-9+.-]*://|www\.")
MENTION = re.compile(r"(?<![A-Za-z0-9_])[@#][A-Za-z0-9]")


def markdown_shows_only_text(text: str) -> None:
    out = render("markdown", text)
    tables = _cells(out)
    # Fleet summary (header + 1 tenant), the issues (header + 1), the passes (header + 1).
    assert [len(t) for t in tables] == [2, 2, 2]
    assert [len(r) for r in tables[1]] == [7, 7] and [len(r) for r in tables[2]] == [3, 3]
    shown = visible(text).strip()  # a table cell's outer blanks are layout, not content
    for cells in (tables[1][1][3:], tables[2][1][1:]):
        for children in cells:
            assert {c.type for c in children} <= {"text"}  # no link, image, html, code, emphasis
            content = "".join(c.content for c in children)
            assert not BARE_URL.search(content) and not MENTION.search(content)
            assert content.replace(ZWSP, "").strip() == shown


@FAST
@given(ANY_TEXT)
@example(HOSTILE[7] + HOSTILE[8])
@example("line\r\nbreak")
def test_markdown_keeps_its_table_shape_and_shows_only_text(text: str) -> None:
    markdown_shows_only_text(text)


@pytest.mark.parametrize("text", HOSTILE)
def test_markdown_of_hostile_text_has_no_link_and_one_line_per_row(text: str) -> None:
    markdown_shows_only_text(text)
    assert "\r" not in render("markdown", text)


TERMINAL_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")  # SGR colours, the only escapes we emit
# What a terminal would act on or hide: C0/C1 controls, DEL, bidi and other format
# characters but the emoji joiner, line/paragraph separators, noncharacters, surrogates.
ACTING = re.compile("[\x00-\x1f\x7f-\x9f\u00ad\u061c\u200b\u200c\u200e\u200f\u202a-\u202e\u2028\u2029"
                    "\u2060-\u206f\ufeff\ufff9-\ufffb\ufffe\uffff\ud800-\udfff\U000e0000-\U000e007f]")


@FAST
@given(ANY_TEXT)
@example("[/x]")
@example("[red]alarm[/red] [link=https://evil.example]click[/link]")
@example("addin.members")  # text equal to the check id also appears in the title line
def test_terminal_table_shows_text_verbatim_and_never_a_control_character(text: str) -> None:
    for color in (False, True):
        out = render("table", text, width=4000, color=color)
        plain = TERMINAL_ESCAPE.sub("", out) if color else out
        assert not ACTING.search(plain.replace("\n", "")), repr(plain)
        if not color:
            assert "\x1b" not in out
        # One line per finding: the failing finding's line carries the message, shown as typed.
        line = next(line for line in plain.split("\n") if line.startswith("fail "))
        assert line.rstrip().endswith(visible(text).rstrip()) or not visible(text).strip()


@pytest.mark.parametrize("text", HOSTILE)
def test_terminal_table_of_hostile_text(text: str) -> None:
    out = render("table", text)
    assert visible(text).rstrip() in out
    assert "\x1b" not in out and "\r" not in out


def test_markup_is_shown_as_typed_in_the_terminal() -> None:
    out = render("table", "[red]alarm[/red] [/x] [link=https://evil.example]click[/link]")
    assert "[red]alarm[/red] [/x] [link=https://evil.example]click[/link]" in out


def test_escapes_are_named_exactly() -> None:
    assert visible("a\x1b[31m\n\t\r\x00\x7f\x85\u202e\u2028\ufffe\U0001fffe\ud800b") == (
        "a\\x1b[31m\\n\\t\\r\\x00\\x7f\\x85\\u202e\\u2028\\ufffe\\U0001fffe\\ud800b")
    assert visible("Zoë 👩‍💻 日本") == "Zoë 👩‍💻 日本"
    assert markdown_text("@org/team https://x.example www.x.example #1 a@b.fr") == (
        f"@{ZWSP}org/team https:{ZWSP}//x.example www{ZWSP}.x.example #{ZWSP}1 a@b.fr")
