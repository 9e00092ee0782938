"""Remove secrets from text before it reaches a log, an error message or a report.

Error messages travel far (CI logs, pull-request comments, HTML reports), and the
libraries under us sometimes quote a request's headers or a token endpoint's answer.
"""

from __future__ import annotations

import re

REDACTED = "[redacted]"

_PATTERNS = (
    # Authorization headers and bearer tokens, whatever the token looks like.
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"),
    # A URL's user:password@ (a proxy's, most often).
    re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@:]*:[^/\s@]*@"),
    # JWTs (access, id and federated tokens) wherever they appear.
    re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"),
    # key=value or "key": "value" pairs whose key names a secret.
    re.compile(
        r"""(?ix)
        (?P<key>["']?(?<![A-Za-z0-9])(?:access_token|refresh_token|id_token|client_secret|client_assertion|password|
        assertion|secret|token|sig)["']?\s*[:=]\s*)
        (?P<value>"[^"]*"|'[^']*'|[^\s&,;"'}]+)"""
    ),
)


def redact(text: str) -> str:
    """`text` with bearer tokens, URL credentials, JWTs and secret-named values replaced by [redacted]."""
    text = _PATTERNS[0].sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _PATTERNS[1].sub(lambda m: f"{m.group(1)}{REDACTED}@", text)
    text = _PATTERNS[2].sub(REDACTED, text)

    def pair(m: re.Match[str]) -> str:
        value = m.group("value")
        quote = value[0] if value[:1] in "\"'" else ""
        return f"{m.group('key')}{quote}{REDACTED}{quote}"

    return _PATTERNS[3].sub(pair, text)
