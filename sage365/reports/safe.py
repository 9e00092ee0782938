"""Text from declarations and from Graph, made inert for each report format.

Every string a renderer did not write itself (a group name, a display name, a Graph error
message, a file path) is data: it must never become terminal escapes, markup, XML that
does not parse, a link, an image or a mention in a pull-request comment. The functions
here are the only way such text enters a report.

sage365.text.visible() is the common step (control characters shown as escapes); this
module adds what each format needs on top. No maintained library does this per output
format (rich's own escaping covers its markup only, and `Text` objects keep control
characters), hence this module.
"""

from __future__ import annotations

import html
import re

from sage365.text import visible

ZWSP = "\u200b"  # breaks an autolink or a mention without changing what a reader sees


def scrub(text: str) -> str:
    """`text` encodable as UTF-8: lone surrogates (possible in JSON escapes) become U+FFFD.

    For formats that carry data exactly (JSON), where escaping would change the value."""
    return text.encode("utf-8", "replace").decode("utf-8") if _has_surrogate(text) else text


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def xml_text(text: str) -> str:
    """Text valid in XML 1.0 (JUnit) and HTML, newlines and tabs kept, markup left to the caller."""
    return visible(text, keep="\n\t")


def html_text(text: str) -> str:
    """Text for an HTML element or attribute: escaped markup, visible controls."""
    return html.escape(xml_text(text), quote=True)


# Markdown (GitHub-flavoured) inline syntax that could make data act: emphasis, code,
# links and images, strikethrough, tables, math, backslash escapes themselves. An
# underscore between two letters or digits never makes emphasis, so AAD_PREMIUM stays as is.
_MD_PUNCT = re.compile(r"([\\`*\[\]~|$]|(?<![^\W_])_|_(?![^\W_]))")
# GitHub links a bare URL (scheme:// or www.) and pings @user or @org/team; it links
# #123 to an issue. A zero-width space after the trigger stops each without hiding text.
_URL = re.compile(r"(?i)(?<=[a-z])(:)(?=//)|(?<![a-z0-9])(www)(?=\.)")
_MENTION = re.compile(r"(?<![A-Za-z0-9_])([@#])(?=[A-Za-z0-9])")


def markdown_text(text: str) -> str:
    """Inline Markdown that renders as exactly `text` (plus invisible breaks): never a link,
    image, mention, HTML, emphasis or a line break; safe inside a table cell."""
    out = html.escape(visible(text), quote=False)  # & < > as entities: no HTML, no autolink <...>
    out = _MD_PUNCT.sub(r"\\\1", out)
    out = _URL.sub(lambda m: (m.group(1) or m.group(2)) + ZWSP, out)
    return _MENTION.sub(r"\1" + ZWSP, out)


_CODE_SPAN = re.compile(r"(`[^`\n]+`)")


def markdown_prose(text: str) -> str:
    """Our own sentences (remediations): code spans kept as code, everything else as markdown_text."""
    parts = _CODE_SPAN.split(text)
    return "".join(part if index % 2 else markdown_text(part) for index, part in enumerate(parts))
