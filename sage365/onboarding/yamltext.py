"""Writing YAML text by hand, safely: scalars quoted when needed, data in comments escaped.

Declarations are written as text, not dumped, because they carry comments (what export
found missing or different) in chosen places and must be byte-stable; PyYAML's emitter
cannot place comments. Every string from Graph goes through `scalar` or `comment`, so a
name holding a newline, a `#`, a quote or a control character can never add a key or
end a comment early.
"""

from __future__ import annotations

import json
import re

# Plain (unquoted) only for shapes that YAML reads back as the same string: identifiers,
# domains, UPNs of the schema's form, SKU part numbers. Anything else is double-quoted.
_PLAIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._@+ -]*[A-Za-z0-9._@+-])?")
_RESERVED = frozenset({"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"})


def _printable(ch: str) -> bool:
    code = ord(ch)
    if code < 0x20 or 0x7F <= code <= 0x9F or code in (0x2028, 0x2029, 0xFEFF, 0xFFFE, 0xFFFF):
        return False
    return not 0xD800 <= code <= 0xDFFF


def quoted(value: str) -> str:
    """A YAML double-quoted scalar: JSON's escapes plus \\uXXXX for anything YAML may not hold raw."""
    out = []
    for ch in json.dumps(value, ensure_ascii=False)[1:-1]:
        if _printable(ch) or ch == "\\":
            out.append(ch)
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return '"' + "".join(out) + '"'


def scalar(value: str) -> str:
    """`value` as a YAML scalar that reads back as exactly this string."""
    if _PLAIN.fullmatch(value) and value.lower() not in _RESERVED and not _looks_numeric(value):
        return value
    return quoted(value)


def _looks_numeric(value: str) -> bool:
    try:
        float(value.replace("_", ""))
    except ValueError:
        # sexagesimals, dates and hex/octal/binary integers, as YAML 1.1 (PyYAML) reads them
        return bool(re.fullmatch(r"[0-9:.\-+_]+|0[xob][0-9a-fA-F_]+", value, re.IGNORECASE))
    return True


def flow_list(values: list[str]) -> str:
    return "[" + ", ".join(scalar(v) for v in values) + "]"


def comment(text: str, indent: int = 0) -> str:
    """One comment line; `text` must hold data only through `quoted`/`scalar` (no raw newline)."""
    clean = "".join(ch if _printable(ch) else " " for ch in text)
    return " " * indent + "# " + clean
