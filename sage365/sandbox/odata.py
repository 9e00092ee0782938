"""The OData query options the sandbox understands: $filter, $select, $top, paging.

$filter supports what sage365 sends and Graph accepts on directory objects: `eq`, `ne`,
`and`, `or`, `not`, parentheses, `startswith(prop,'x')`, `endswith(prop,'x')` and
`prop in ('a','b')`. String comparisons are case-insensitive, as Graph's are for
directory properties. Anything else is Graph's 400 Request_UnsupportedQuery, so a client
never silently gets unfiltered data.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable
from urllib.parse import quote

from sage365.sandbox.errors import bad_request, unsupported_query

Obj = dict[str, Any]
Predicate = Callable[[Obj], bool]

MAX_TOP = 999

_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?\b)|(?P<punct>[(),])"
    r"|(?P<word>[A-Za-z_@][A-Za-z0-9_./@-]*))"
)


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise bad_request(f"Invalid filter clause: syntax error at position {pos} in '{text}'.", "BadRequest")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def _value(kind: str, text: str) -> Any:
    if kind == "str":
        return text[1:-1].replace("''", "'")
    if kind == "num":
        return float(text) if "." in text else int(text)
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    # A bare GUID literal is allowed by OData for Edm.Guid properties.
    if re.fullmatch(r"[0-9a-fA-F-]{36}", text):
        return text
    raise bad_request(f"Invalid filter clause: '{text}' is not a literal.", "BadRequest")


def _get(obj: Obj, path: str) -> Any:
    value: Any = obj
    for part in path.split("/"):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _norm(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, expected: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok is None or (expected is not None and tok[1].lower() != expected):
            want = f"'{expected}'" if expected else "more input"
            raise bad_request(f"Invalid filter clause: expected {want} in '{self.text}'.", "BadRequest")
        self.i += 1
        return tok

    def parse(self) -> Predicate:
        pred = self.or_expr()
        if self.peek() is not None:
            raise bad_request(f"Invalid filter clause: unexpected '{self.peek()[1]}' in '{self.text}'.", "BadRequest")
        return pred

    def _is_word(self, word: str) -> bool:
        tok = self.peek()
        return tok is not None and tok[0] == "word" and tok[1].lower() == word

    def or_expr(self) -> Predicate:
        preds = [self.and_expr()]
        while self._is_word("or"):
            self.take()
            preds.append(self.and_expr())
        return preds[0] if len(preds) == 1 else (lambda o, ps=tuple(preds): any(p(o) for p in ps))

    def and_expr(self) -> Predicate:
        preds = [self.unary()]
        while self._is_word("and"):
            self.take()
            preds.append(self.unary())
        return preds[0] if len(preds) == 1 else (lambda o, ps=tuple(preds): all(p(o) for p in ps))

    def unary(self) -> Predicate:
        if self._is_word("not"):
            self.take()
            inner = self.unary()
            return lambda o: not inner(o)
        return self.primary()

    def literal(self) -> Any:
        kind, text = self.take()
        if kind == "punct":
            raise bad_request(f"Invalid filter clause: unexpected '{text}' in '{self.text}'.", "BadRequest")
        return _value(kind, text)

    def primary(self) -> Predicate:
        kind, text = self.take()
        if kind == "punct" and text == "(":
            inner = self.or_expr()
            self.take(")")
            return inner
        if kind != "word":
            raise bad_request(f"Invalid filter clause: unexpected '{text}' in '{self.text}'.", "BadRequest")
        func = text.lower()
        if func in ("startswith", "endswith") and self.peek() == ("punct", "("):
            self.take("(")
            _, prop = self.take()
            self.take(",")
            arg = str(self.literal()).lower()
            self.take(")")
            if func == "startswith":
                return lambda o: isinstance(_get(o, prop), str) and _get(o, prop).lower().startswith(arg)
            return lambda o: isinstance(_get(o, prop), str) and _get(o, prop).lower().endswith(arg)
        if self.peek() == ("punct", "("):
            raise unsupported_query(f"Unsupported query: function '{text}' is not supported by the sandbox.")
        prop = text
        op_kind, op = self.take()
        op = op.lower()
        if op == "in":
            self.take("(")
            values = [_norm(self.literal())]
            while self.peek() == ("punct", ","):
                self.take(",")
                values.append(_norm(self.literal()))
            self.take(")")
            allowed = frozenset(values)
            return lambda o: _norm(_get(o, prop)) in allowed
        if op in ("eq", "ne"):
            value = _norm(self.literal())
            if op == "eq":
                return lambda o: _norm(_get(o, prop)) == value
            return lambda o: _norm(_get(o, prop)) != value
        if op in ("gt", "ge", "lt", "le", "has"):
            raise unsupported_query(f"Unsupported query: operator '{op}' is not supported by the sandbox.")
        raise bad_request(f"Invalid filter clause: '{op}' is not an operator.", "BadRequest")


def parse_filter(text: str | None) -> Predicate | None:
    if text is None or not text.strip():
        return None
    return _Parser(text).parse()


def parse_top(text: str | None) -> int | None:
    if text is None:
        return None
    if not text.isdigit() or not 1 <= int(text) <= MAX_TOP:
        raise bad_request(f"Invalid page size specified: '{text}'. Must be between 1 and {MAX_TOP} inclusive.", "Request_BadRequest")
    return int(text)


def parse_select(text: str | None) -> list[str] | None:
    if not text:
        return None
    return [s.strip() for s in text.split(",") if s.strip()]


def select(obj: Obj, fields: list[str] | None, keep: Iterable[str] = ()) -> Obj:
    """Only the selected properties (plus @odata annotations and expanded navigations)."""
    if not fields:
        return obj
    wanted = {f.lower() for f in fields} | {k.lower() for k in keep}
    return {k: v for k, v in obj.items() if k.lower() in wanted or k.startswith("@odata.")}


def encode_skiptoken(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def decode_skiptoken(token: str) -> int:
    try:
        padded = token + "=" * (-len(token) % 4)
        offset = json.loads(base64.urlsafe_b64decode(padded))["o"]
        if not isinstance(offset, int) or offset < 0:
            raise ValueError
        return offset
    except (ValueError, KeyError, TypeError):
        raise bad_request("Invalid $skiptoken.", "Request_BadRequest") from None


@dataclass(frozen=True)
class Query:
    """The query options of one request, parsed once."""

    filter: Predicate | None
    select: list[str] | None
    top: int | None
    skip: int
    expand: list[str]
    count: bool
    raw: dict[str, str]

    @classmethod
    def parse(cls, params: dict[str, str]) -> "Query":
        for key in params:
            if key.lower() in _UNSUPPORTED:
                raise unsupported_query(f"Unsupported query: '{key}' is not supported by the sandbox.")
            if key.startswith("$") and key.lower() not in _KNOWN:
                raise bad_request(f"Query option '{key}' is not allowed.", "BadRequest")
            if key.startswith("$") and key != key.lower():
                raise bad_request(f"Query option '{key}' is not allowed; OData system query options are lowercase here.", "BadRequest")
        skiptoken = params.get("$skiptoken")
        expand = [e.strip() for e in params.get("$expand", "").split(",") if e.strip()]
        return cls(
            filter=parse_filter(params.get("$filter")),
            select=parse_select(params.get("$select")),
            top=parse_top(params.get("$top")),
            skip=decode_skiptoken(skiptoken) if skiptoken else 0,
            expand=expand,
            count=params.get("$count", "").lower() == "true",
            raw=params,
        )


_UNSUPPORTED = {"$orderby", "$search", "$skip", "$apply", "$compute"}
_KNOWN = {"$filter", "$select", "$top", "$skiptoken", "$expand", "$count"}


def page(
    items: list[Obj],
    query: Query,
    *,
    base_url: str,
    path: str,
    context: str,
    page_size: int,
    shape: Callable[[Obj], Obj] | None = None,
) -> Obj:
    """A collection response: @odata.context, value, and an absolute @odata.nextLink.

    `shape` turns a stored object into what is served ($expand, $select), applied to the
    page only.
    """
    if query.filter is not None:
        items = [o for o in items if query.filter(o)]
    size = query.top or page_size
    chunk = items[query.skip : query.skip + size]
    body: Obj = {"@odata.context": context}
    if query.count:
        body["@odata.count"] = len(items)
    if query.skip + size < len(items):
        params = {k: v for k, v in query.raw.items() if k != "$skiptoken"}
        params["$skiptoken"] = encode_skiptoken(query.skip + size)
        qs = "&".join(f"{quote(k, safe='$')}={quote(v, safe='')}" for k, v in params.items())
        body["@odata.nextLink"] = f"{base_url}{path}?{qs}"
    body["value"] = [shape(o) for o in chunk] if shape else chunk
    return body
