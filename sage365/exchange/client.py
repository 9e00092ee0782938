"""A client for Exchange Online's admin REST endpoint, one tenant per client.

Request and response shapes, as used by public clients of this endpoint (docs/exchange.md
cites them): `POST {base}/adminapi/beta/{tenantId}/InvokeCommand` with
`{"CmdletInput": {"CmdletName": ..., "Parameters": {...}}}`, a bearer token for
`https://outlook.office365.com/.default`, `Prefer: odata.maxpagesize=1000`, an
`X-AnchorMailbox` routing header; the answer is `{"value": [...]}`, followed page by page
through `@odata.nextLink` (POSTed again with the same body); errors are
`{"error": {"code", "message", "details": [{"message"}], "innererror": {...}}}`.

Hand-written on httpx because no maintained Python client for this endpoint exists.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import uuid
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

import httpx

from sage365.exchange.tokens import missing_permissions, token_facts
from sage365.graph.batch import MAX_PAGES, retry_after
from sage365.graph.redact import redact

EXCHANGE_URL = "https://outlook.office365.com"
EXCHANGE_SCOPE = "https://outlook.office365.com/.default"
EXCHANGE_URL_ENV = "SAGE365_EXCHANGE_URL"
# The system mailbox ExchangeOnlineManagement anchors app-only admin calls on.
ANCHOR = "APP:SystemMailbox{{bb558c35-97f1-4cb9-8ff7-d53741dc928c}}@{tenant}"
CMDLETS = frozenset({"Get-App", "New-App", "Set-App", "Remove-App"})
RETRY_STATUSES = frozenset({429, 503, 504})

TokenSource = Callable[[], Awaitable[str]]


class ExchangeError(Exception):
    """A failed Exchange call: HTTP status (0: no answer), Exchange's code, a redacted message.
    `permission` marks a missing right (known from the token or a 401/403)."""

    def __init__(self, status: int, code: str, message: str, *, permission: bool = False) -> None:
        self.status, self.code, self.permission = status, code, permission
        self.message = redact(message)
        super().__init__(self.describe())

    def describe(self) -> str:
        head = " ".join(p for p in (str(self.status) if self.status else "", self.code) if p)
        return f"{head}: {self.message}" if head else self.message


@dataclass(frozen=True)
class RetryPolicy:
    """Resends of one page: 429/503/504 after Retry-After (else the backoff), a transport
    error after the backoff: default_delay, then twice as long each time (1, 2, 4 s)."""

    max_attempts: int = 4  # sends of one page, the first included
    max_total_wait: float = 30.0  # seconds slept per call
    default_delay: float = 1.0

    def backoff(self, attempt: int) -> float:
        return self.default_delay * 2 ** (attempt - 1)


def exchange_url_from(explicit: str | None, graph_url: str | None) -> str | None:
    """The Exchange base URL override: explicit, else $SAGE365_EXCHANGE_URL, else the sandbox
    that serves `graph_url` (its root: the sandbox serves Exchange's path beside /v1.0)."""
    import os

    value = explicit or os.environ.get(EXCHANGE_URL_ENV)
    if value:
        return value.rstrip("/")
    if graph_url:
        url = httpx.URL(graph_url)
        return str(url.copy_with(path="", query=None)).rstrip("/")
    return None


def token_source(tenant_id: str, *, credential: Any = None, sandbox: bool = False) -> TokenSource:
    """Tokens for Exchange: the sandbox's static one, or the credential's for EXCHANGE_SCOPE."""
    if credential is None:
        if not sandbox:
            raise ValueError("a credential is required for the real Exchange Online")

        async def static() -> str:
            return f"sandbox.{tenant_id}"

        return static

    async def issued() -> str:
        token = credential.get_token(EXCHANGE_SCOPE)
        if inspect.isawaitable(token):
            token = await token
        return token.token

    return issued


class ExchangeClient:
    """InvokeCommand for one tenant. Use as `async with ExchangeClient(...) as client:`."""

    def __init__(self, tenant_id: str, tokens: TokenSource, *, base_url: str | None = None,
                 http: Any = None, policy: RetryPolicy = RetryPolicy(),
                 timeout: float = 60.0, guard: Any = None) -> None:
        """guard: the tenant's sage365.graph.guard.TenantGuard; a wait for a retry longer than
        what is left of its deadline stops the tenant at once (TenantStopped)."""
        self.tenant_id = tenant_id.lower()
        self.base_url = (base_url or EXCHANGE_URL).rstrip("/")
        self.url = f"{self.base_url}/adminapi/beta/{self.tenant_id}/InvokeCommand"
        self._tokens = tokens
        self._own_http = http is None
        if http is None:
            from sage365.graph.http import HttpClient  # the shared TLS context and size limit

            http = HttpClient(timeout=timeout)
        self._http = http
        self._policy = policy
        self._guard = guard
        self._token: str | None = None
        self.requests = 0  # HTTP requests sent, retries and pages included

    async def __aenter__(self) -> "ExchangeClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._own_http:
            await self._http.aclose()

    async def _authorization(self) -> str:
        """The bearer token, checked once: right tenant, and no right known to be missing."""
        if self._token is None:
            try:
                token = await self._tokens()
            except Exception as exc:  # azure-identity raises its own types
                raise ExchangeError(0, "NoToken", f"no token for {EXCHANGE_SCOPE} in tenant {self.tenant_id}: "
                                    f"{type(exc).__name__}: {exc}") from None
            facts = token_facts(token)
            if facts.tenant_id != self.tenant_id:
                raise ExchangeError(0, "WrongTenant", f"the Exchange token belongs to tenant {facts.tenant_id or 'unknown'}, "
                                    f"not to the declared tenant {self.tenant_id}; nothing was sent")
            missing = missing_permissions(facts)
            if missing:
                raise ExchangeError(0, "MissingPermission", "the deployment identity lacks " + " and ".join(missing)
                                    + "; nothing was sent", permission=True)
            self._token = token
        return self._token

    async def invoke(self, cmdlet: str, parameters: dict[str, Any]) -> list[dict[str, Any]]:
        """Run one cmdlet; every page's `value` items, in order."""
        if cmdlet not in CMDLETS:
            raise ValueError(f"sage365 sends only {', '.join(sorted(CMDLETS))}, not {cmdlet}")
        body = json.dumps({"CmdletInput": {"CmdletName": cmdlet, "Parameters": parameters}}).encode()
        items: list[dict[str, Any]] = []
        url: str | None = self.url
        waited = 0.0
        pages = 0
        while url is not None:
            if pages == MAX_PAGES:  # a looping nextLink must end, as Graph's do (sage365.graph.batch)
                raise ExchangeError(200, "TooManyPages", f"{cmdlet}: stopped after {MAX_PAGES} pages, the limit of "
                                                         "@odata.nextLink pages followed; the result was not read in full")
            pages += 1
            page, waited = await self._send(url, body, cmdlet, waited)
            value = page.get("value", [])
            if not isinstance(value, list):
                raise ExchangeError(200, "MalformedResponse", f"{cmdlet}: 'value' is not a list")
            odd = next((n for n, v in enumerate(value) if not isinstance(v, dict)), None)
            if odd is not None:  # dropping it could hide the very app a check looks for
                raise ExchangeError(200, "MalformedResponse", f"{cmdlet}: item {odd} of 'value' (page {pages}) is "
                                                              "not a JSON object; the result was not read")
            items.extend(value)
            url = page.get("@odata.nextLink") or None
            if url is not None and httpx.URL(url).host != httpx.URL(self.url).host:
                # The token goes wherever the link points: never off Exchange's own host.
                raise ExchangeError(200, "UnexpectedNextLink", f"{cmdlet}: @odata.nextLink leaves {httpx.URL(self.url).host}")
        return items

    async def _send(self, url: str, body: bytes, cmdlet: str, waited: float) -> tuple[dict[str, Any], float]:
        headers = {
            "Authorization": f"Bearer {await self._authorization()}",
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Prefer": "odata.maxpagesize=1000",
            "X-AnchorMailbox": ANCHOR.format(tenant=self.tenant_id),
            "client-request-id": str(uuid.uuid4()),
        }
        attempt = 0
        while True:
            attempt += 1
            self.requests += 1
            try:
                response = await self._http.post(url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                # A dropped connection or a timeout: resent after the backoff (an outage is
                # not over in a millisecond), within the same budget as throttling.
                delay = self._policy.backoff(attempt)
                if attempt < self._policy.max_attempts and waited + delay <= self._policy.max_total_wait:
                    waited = await self._wait(delay, waited, f"Exchange Online did not answer {cmdlet} "
                                                             f"({type(exc).__name__})")
                    continue
                raise ExchangeError(0, "NoResponse", f"{cmdlet}: {type(exc).__name__}: {exc}") from None
            if response.status_code in RETRY_STATUSES and attempt < self._policy.max_attempts:
                delay = retry_after(dict(response.headers))
                delay = self._policy.backoff(attempt) if delay is None else delay
                if waited + delay <= self._policy.max_total_wait:
                    waited = await self._wait(delay, waited, f"Exchange Online answered {response.status_code} "
                                                             f"to {cmdlet}")
                    continue
            if response.status_code >= 400:
                raise _error(response, cmdlet)
            if response.status_code >= 300:  # never followed: the body and token would go wherever Location says
                raise ExchangeError(response.status_code, "Redirect", f"{cmdlet}: redirected to "
                                    f"{response.headers.get('location', '(no Location)')}: redirects are never followed")
            try:
                page = response.json()
            except ValueError:
                raise ExchangeError(response.status_code, "MalformedResponse", f"{cmdlet}: the body is not JSON") from None
            # An empty body or `{}` is no answer, not "no organization apps".
            if not isinstance(page, dict) or "value" not in page:
                raise ExchangeError(response.status_code, "MalformedResponse", f"{cmdlet}: the body is not a JSON object with 'value'")
            return page, waited


    async def _wait(self, delay: float, waited: float, cause: str) -> float:
        """Sleep before a resend, unless that would pass the tenant's deadline: then the
        tenant stops now (sage365.graph.guard), not when the deadline cuts the sleep."""
        if self._guard is not None:
            self._guard.allow_wait(delay, cause)
        await asyncio.sleep(delay)
        return waited + delay


def _error(response: Any, cmdlet: str) -> ExchangeError:
    """Exchange's message, looked up where its clients find it: details, innererror, message."""
    code, message = "", ""
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        error = {}
    if isinstance(error, dict):
        code = str(error.get("code") or "")
        details = error.get("details") or []
        inner = (error.get("innererror") or {}).get("internalException") or {}
        message = next((str(d.get("message")) for d in details if isinstance(d, dict) and d.get("message")), "") \
            or str(inner.get("message") or "") or str(error.get("message") or "")
    message = message or response.reason_phrase or "no message"
    status = response.status_code
    return ExchangeError(status, code, f"{cmdlet}: {message}", permission=status in (401, 403))
