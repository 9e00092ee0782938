"""One service's paged JSON REST calls on a tenant's HTTP client: sends, resends, waits, pages.

Exchange Online's InvokeCommand (sage365.exchange.client) and Graph beta
(sage365.graph.connectors) are plain JSON over HTTP that no kiota middleware carries, so
their resends are sage365's own, and written once, here:

- 429/503/504 is resent after its Retry-After (else the backoff: 1, 2, 4 s), a transport
  error (httpx.HTTPError) after the backoff, within the policy's sends per page and one
  total wait per call; the tenant's guard allows each wait first (sage365.graph.guard), so a
  wait past the tenant's deadline stops the tenant at once instead of being cut short;
- a redirect is never followed (the token would go wherever Location says); an error answer
  becomes the service's own error;
- a page must be a JSON object with a `value` list of JSON objects; `@odata.nextLink`, a
  string, is followed up to MAX_PAGES pages and never off the first page's origin (scheme,
  host and port: the token goes wherever it points);
- whatever JSON an answer holds, a wrong type is the service's own error naming the request,
  never a Python exception (`json_type`, `text`, `error_object` read what is usable).

What differs from one service to the other (the words and statuses of its errors) is its `Dialect`; how one call is sent and
named is its `Call`. Graph v1.0's `$batch` (sage365.graph.batch) shares the constants, the
Retry-After parser and the backoff.
"""

from __future__ import annotations

import asyncio
import email.utils
import inspect
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import httpx

from sage365.graph.redact import redact

MAX_PAGES = 200  # @odata.nextLink pages followed per request: a looping nextLink must end
RETRY_STATUSES = frozenset({429, 503, 504})
_NOT_RUN = frozenset({429})  # statuses after which a call that changes something was certainly not carried out


def retry_after(headers: dict[str, Any] | None, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date), case-insensitive."""
    for key, value in (headers or {}).items():
        if str(key).lower() != "retry-after":
            continue
        value = str(value).strip()
        if value.isascii() and value.isdigit():  # str.isdigit alone admits "²", which float() refuses
            return float(value)
        try:
            when = email.utils.parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError, OverflowError):
            return None
        return max(0.0, when - (time.time() if now is None else now))
    return None


def json_type(value: Any) -> str:
    """How a value looks in JSON, for messages: a service's data is never echoed raw."""
    if value is None:
        return "null"
    return {bool: "a boolean", str: "a string", int: "a number", float: "a number", list: "a list",
            dict: "an object"}.get(type(value), type(value).__name__)


def text(value: Any) -> str:
    """A JSON string on one line (runs of whitespace, newlines included, become one space);
    "" for anything else: a code or message that is a number, list or object is not one."""
    return " ".join(value.split()) if isinstance(value, str) else ""


def error_object(response: Any) -> dict[str, Any]:
    """An error answer's `error` object, or {} when the body has none to read (not JSON,
    nested past what the parser follows, not an object, or `error` neither an object nor a
    string; a bare string is taken as its message)."""
    try:
        body = response.json()
    except (ValueError, RecursionError):
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, str):
        return {"message": error}
    return error if isinstance(error, dict) else {}


async def issued_token(credential: Any, *scopes: str, **kwargs: Any) -> Any:
    """`credential.get_token(*scopes, **kwargs)`'s AccessToken, from an azure-identity
    credential synchronous or not (awaited when the credential is an async one)."""
    token = credential.get_token(*scopes, **kwargs)
    if inspect.isawaitable(token):
        token = await token
    return token


async def access_token(credential: Any, scope: str) -> str:
    """The bearer token for `scope` from an azure-identity credential, synchronous or not."""
    return (await issued_token(credential, scope)).token


@dataclass(frozen=True)
class RetryPolicy:
    """Resends of one page: 429/503/504 after Retry-After (else the backoff), a transport
    error after the backoff: default_delay, then twice as long each time (1, 2, 4 s)."""

    max_attempts: int = 4  # sends of one page, the first included
    max_total_wait: float = 30.0  # seconds slept per call
    default_delay: float = 1.0

    def backoff(self, attempt: int) -> float:
        return self.default_delay * 2 ** (attempt - 1)


class ServiceError(Exception):
    """A failed call: HTTP status (0: no answer), the service's code, a redacted message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        self.status, self.code = status, code
        self.message = redact(message)  # services quote requests back, headers included
        super().__init__(self.describe())

    def describe(self) -> str:
        """`404 NotFound: ...`, `404: ...`, `NoResponse: ...`, or the message alone."""
        head = " ".join(p for p in (str(self.status) if self.status else "", self.code) if p)
        return f"{head}: {self.message}" if head else self.message


@dataclass(frozen=True)
class Dialect:
    """How one service differs: kept apart on purpose, since partners read (and tests pin) each
    service's own words, and each service's checks were chosen for what it serves."""

    service: str  # names it in a wait's cause: "Exchange Online answered 429 to Get-App"
    error: Callable[[int, str, str], ServiceError]  # its error type: (status, code, message)
    failed: Callable[[Any, str], ServiceError]  # an error answer (4xx/5xx) and the call's prefix -> its error
    result: str  # what the page limit says was not read in full: "result", "collection"
    not_json: str  # MalformedResponse messages, by what is wrong with a page
    not_object: str  # not a JSON object with `value`
    not_list: str  # its `value` is not a list
    # The status of errors found inside a page (its `value`, its nextLink): None for the
    # answer's own; Exchange's have always said 200, whatever 2xx carried them.
    page_status: int | None = None
    not_followed: str = ""  # ends the nextLink error's message


@dataclass(frozen=True)
class Call:
    """One call, every page of it: how it is sent, and how its messages name it."""

    method: str  # "GET" or "POST"
    url: str  # the first page's; a nextLink must stay on its origin
    headers: Mapping[str, str]
    subject: Callable[[str], str]  # names the request sent to a page's URL, in a wait's cause
    prefix: str = ""  # begins every error message: "Get-App: "
    body: bytes | None = None  # POSTed again, unchanged, for every page and resend
    page_headers: Callable[[], Mapping[str, str]] = field(default=dict)  # per page, kept by its resends
    # A call that changes nothing (a read) may be sent again whenever it failed. One that changes
    # something (New-App, Set-App, Remove-App) only when it cannot have been carried out: a 429
    # (throttled before it ran) or a connection that never opened. After a timeout, a dropped
    # connection or a 503/504 it may have run: sent again, a New-App would answer "already
    # installed" for the app it installed.
    idempotent: bool = True


class Pager:
    """Paged calls to one service over `http` (sage365.graph.http.HttpLike). `requests`: HTTP
    requests sent so far, resends and pages included."""

    def __init__(self, http: Any, dialect: Dialect, policy: RetryPolicy = RetryPolicy(), guard: Any = None) -> None:
        """guard: the tenant's sage365.graph.guard.TenantGuard, asked before every wait."""
        self._http, self._dialect, self._policy, self._guard = http, dialect, policy, guard
        self.requests = 0

    async def collect(self, call: Call) -> list[Any]:
        """Every page's `value` items, in order; the dialect's error when any page fails."""
        dialect = self._dialect
        items: list[Any] = []
        url: str | None = call.url
        waited = 0.0  # one budget for every page of the call
        pages = 0
        while url is not None:
            if pages == MAX_PAGES:
                raise dialect.error(200, "TooManyPages", f"{call.prefix}stopped after {MAX_PAGES} pages, the limit of "
                                    f"@odata.nextLink pages followed; the {dialect.result} was not read in full")
            pages += 1
            response, waited = await self._send(call, url, waited)
            value, link = self._page(call, response, pages)
            items.extend(value)
            url = self._next(call, response, link, pages)
        return items

    async def _send(self, call: Call, url: str, waited: float) -> tuple[Any, float]:
        """One page's answer (2xx), resent as the policy allows; `waited` grows by what was slept."""
        dialect, policy = self._dialect, self._policy
        headers = {**call.headers, **call.page_headers()}
        attempt = 0
        while True:
            attempt += 1
            self.requests += 1
            try:
                if call.method == "POST":
                    response = await self._http.post(url, content=call.body, headers=headers)
                else:
                    response = await self._http.get(url, headers=headers)
            except httpx.HTTPError as exc:
                # A dropped connection or a timeout: resent after the backoff (an outage is
                # not over in a millisecond), within the same budget as throttling.
                delay = policy.backoff(attempt)
                unsent = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout))
                if (call.idempotent or unsent) and attempt < policy.max_attempts and waited + delay <= policy.max_total_wait:
                    waited = await self._wait(delay, waited, f"{dialect.service} did not answer {call.subject(url)} "
                                                             f"({type(exc).__name__})")
                    continue
                raise dialect.error(0, "NoResponse", f"{call.prefix}{type(exc).__name__}: {exc}") from None
            status = response.status_code
            if status in (RETRY_STATUSES if call.idempotent else _NOT_RUN) and attempt < policy.max_attempts:
                delay = retry_after(dict(response.headers))
                delay = policy.backoff(attempt) if delay is None else delay
                # Past the budget, the throttled answer itself is the outcome (below).
                if waited + delay <= policy.max_total_wait:
                    waited = await self._wait(delay, waited, f"{dialect.service} answered {status} to {call.subject(url)}")
                    continue
            if status >= 400:
                raise dialect.failed(response, call.prefix)
            if status >= 300:  # never followed: the body and token would go wherever Location says
                raise dialect.error(status, "Redirect", f"{call.prefix}redirected to "
                                    f"{response.headers.get('location', '(no Location)')}: redirects are never followed")
            return response, waited

    async def _wait(self, delay: float, waited: float, cause: str) -> float:
        """Sleep before a resend, unless that would pass the tenant's deadline: then the
        tenant stops now (TenantStopped), not when the deadline cuts the sleep."""
        if self._guard is not None:
            self._guard.allow_wait(delay, cause)
        await asyncio.sleep(delay)
        return waited + delay

    def _page(self, call: Call, response: Any, page: int) -> tuple[list[Any], Any]:
        """The page's `value` and nextLink: an empty body or `{}` is no answer, not "nothing there"."""
        dialect = self._dialect
        try:
            body = response.json()
        except (ValueError, RecursionError):  # RecursionError: arrays nested deeper than the parser follows
            raise dialect.error(response.status_code, "MalformedResponse", call.prefix + dialect.not_json) from None
        if not isinstance(body, dict) or "value" not in body:
            raise dialect.error(response.status_code, "MalformedResponse", call.prefix + dialect.not_object)
        value = body["value"]
        if not isinstance(value, list):
            raise dialect.error(self._status(response), "MalformedResponse", call.prefix + dialect.not_list)
        # Every item is an object: callers read fields from each, and dropping one could hide
        # the very app or connector a check looks for.
        odd = next((n for n, v in enumerate(value) if not isinstance(v, dict)), None)
        if odd is not None:
            raise dialect.error(self._status(response), "MalformedResponse", f"{call.prefix}item {odd} of 'value' (page "
                                f"{page}) is not a JSON object; the {dialect.result} was not read")
        return value, body.get("@odata.nextLink")

    def _next(self, call: Call, response: Any, link: Any, page: int) -> str | None:
        """The next page's URL, or None (no link, null or ""); never one off the first page's
        origin, scheme and port included (the token goes wherever it points)."""
        if link is None or link == "":
            return None
        dialect = self._dialect
        try:
            there = httpx.URL(link) if isinstance(link, str) else None
            origin = (there.scheme, there.host, there.port) if there is not None else None
        except (httpx.InvalidURL, ValueError):  # ValueError: the idna package's, for a host like `xn--`
            there = origin = None
        if origin is None:
            # Not a string (5, true, {}, []) or not a URL: no way to read on, and the end of the
            # collection is unknown, so neither ending here nor guessing is right.
            what = json_type(link) if not isinstance(link, str) else "a string that is not a URL"
            raise dialect.error(self._status(response), "MalformedResponse", f"{call.prefix}@odata.nextLink (page {page}) "
                                f"is {what}; the {dialect.result} was not read in full")
        here = httpx.URL(call.url)
        if origin != (here.scheme, here.host, here.port):
            raise dialect.error(self._status(response), "UnexpectedNextLink",
                                f"{call.prefix}@odata.nextLink leaves {_origin(here)}{dialect.not_followed}")
        return link

    def _status(self, response: Any) -> int:
        return self._dialect.page_status or response.status_code


def _origin(url: httpx.URL) -> str:
    """scheme://host[:port], the port only when it is not the scheme's default."""
    return f"{url.scheme}://{url.host}" + (f":{url.port}" if url.port is not None else "")


class Paged:
    """A service client whose calls go through its `_pager`."""

    _pager: Pager

    @property
    def requests(self) -> int:
        """HTTP requests sent, resends and pages included."""
        return self._pager.requests
