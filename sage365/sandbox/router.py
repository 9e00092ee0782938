"""Requests, responses and the route table that maps Graph URLs to handlers.

Handlers are plain functions `(req) -> Response` over one tenant's state; they raise
GraphError for failures. The server and $batch both dispatch through `Router.dispatch`,
so a batched request behaves exactly as the same request sent alone.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from sage365.sandbox.errors import GraphError, bad_request
from sage365.sandbox.odata import Query, page
from sage365.sandbox.state import Obj, State, Tenant

# Path parameters: one URL segment (ids, UPNs) or a quoted appId key.
_SEGMENT = r"(?P<{name}>[^/()']+)"
_APP_KEY = r"\(appId='(?P<appId>[^/']+)'\)"


@dataclass
class Request:
    method: str
    path: str  # after the version, percent-decoded: "/users/abc"
    params: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    tenant: Tenant
    state: State
    base_url: str  # ".../v1.0", for absolute links
    page_size: int = 100
    args: dict[str, str] = field(default_factory=dict)
    _query: Query | None = None
    _json: Any = None

    @property
    def query(self) -> Query:
        if self._query is None:
            self._query = Query.parse(self.params)
        return self._query

    def json(self) -> Obj:
        """The JSON object body, or Graph's 400 for a missing or malformed one."""
        if self._json is None:
            if not self.body:
                raise bad_request("Write requests (excluding DELETE) must contain the Content-Type header declaration.", "BadRequest")
            try:
                self._json = json.loads(self.body)
            except (ValueError, UnicodeDecodeError):
                raise bad_request("Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.", "BadRequest") from None
            if not isinstance(self._json, dict):
                raise bad_request("The request payload must be a JSON object.", "BadRequest")
        return self._json

    def context(self, suffix: str) -> str:
        return f"{self.base_url}/$metadata#{suffix}"

    def collection(self, items: list[Obj], context: str, shape: Callable[[Obj], Obj] | None = None) -> "Response":
        body = page(
            items, self.query, base_url=self.base_url, path=self.path, context=self.context(context),
            page_size=self.page_size, shape=shape or self.selected,
        )
        return Response(200, body)

    def selected(self, obj: Obj) -> Obj:
        from sage365.sandbox.odata import select

        return select(obj, self.query.select, keep=self.query.expand)

    def entity(self, obj: Obj, context: str, status: int = 200) -> "Response":
        body = {"@odata.context": self.context(context)}
        body.update(self.selected(obj))
        return Response(status, body)


@dataclass
class Response:
    status: int
    body: Obj | None = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Request], Response]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    key: str  # the endpoint name used by counters: "GET /users/{id}"
    handler: Handler
    expand: frozenset[str] = frozenset()  # the navigations $expand may name here


class Router:
    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, method: str, template: str, handler: Handler, expand: frozenset[str] = frozenset()) -> None:
        """Register `template` such as "/users/{id}/licenseDetails" or "/servicePrincipals{sp}"."""
        regex = re.escape(template)
        regex = regex.replace(re.escape("(appId='{appId}')"), _APP_KEY)
        regex = re.sub(r"\\\{(\w+)\\\}", lambda m: _SEGMENT.format(name=m.group(1)), regex)
        self.routes.append(Route(method, re.compile(f"^{regex}/?$"), f"{method} {template}", handler, expand))

    def route(self, method: str, *templates: str, expand: frozenset[str] = frozenset()) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            for template in templates:
                self.add(method, template, handler, expand)
            return handler

        return register

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        allowed = False
        for route in self.routes:
            m = route.pattern.match(path)
            if m:
                if route.method == method:
                    return route, m.groupdict()
                allowed = True
        if allowed:
            raise GraphError(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")
        segment = path.strip("/").split("/")[-1] if path.strip("/") else ""
        raise bad_request(f"Resource not found for the segment '{segment}'.", "BadRequest")

    def endpoint(self, method: str, path: str) -> str:
        """The counter key for a request, without running it."""
        try:
            return self.match(method, path)[0].key
        except GraphError:
            return f"{method} (unknown)"

    def dispatch(self, req: Request) -> tuple[str, Response]:
        route, args = self.match(req.method, req.path)
        req.args = args
        # Checked for every route, so an $expand the sandbox cannot honour is never silently dropped.
        for name in req.query.expand:
            if name not in route.expand:
                raise bad_request(f"Parsing OData Select and Expand failed: Could not find a property named '{name}'.", "BadRequest")
        return route.key, route.handler(req)
