"""Text that must show rather than act: control characters written as visible escapes.

Used wherever text from a file or from a service is put in front of a reader in one
line: problems (`PATH:LINE:COL: message`) and every report format (sage365.reports.safe).
Characters that would act instead of show (C0/C1 controls, DEL, line and paragraph
separators, bidirectional and other invisible format characters, noncharacters, lone
surrogates) are written as Python-style escapes (`\\x1b`, `\\u202e`, `\\n`), so a reader
sees exactly what was there. No maintained library does this (rich's escaping covers its
markup only), hence this small module.
"""

from __future__ import annotations

import unicodedata

ZWJ = "\u200d"  # kept: emoji sequences (👩‍💻) are made of it and it does nothing else
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _is_inert(char: str) -> bool:
    """False for a character that acts (or hides) rather than shows."""
    code = ord(char)
    if char == ZWJ:
        return True
    if 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE:  # Unicode noncharacters
        return False
    # Cc: C0, DEL, C1; Cf: bidi overrides, zero-width and tag characters; Cs: lone
    # surrogates (cannot be encoded); Zl/Zp: line and paragraph separators.
    return unicodedata.category(char) not in ("Cc", "Cf", "Cs", "Zl", "Zp")


def _escape(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def visible(text: str, keep: str = "") -> str:
    """`text` with every acting character escaped, except those in `keep` (e.g. "\\n")."""
    if text.isprintable() and text.isascii():  # the common case, quickly
        return text
    return "".join(c if c in keep or _is_inert(c) else _escape(c) for c in text)


