"""A client for Exchange Online's admin REST endpoint, one tenant per client.

Request and response shapes, as used by public clients of this endpoint (docs/exchange.md
cites them): `POST {base}/adminapi/beta/{tenantId}/InvokeCommand` with
`{"CmdletInput": {"CmdletName": ..., "Parameters": {...}}}`, a bearer token for
`https://outlook.office365.com/.default`, `Prefer: odata.maxpagesize=1000`, an
`X-AnchorMailbox` routing header; the answer is `{"value": [...]}`, followed page by page
through `@odata.nextLink` (POSTed again with the same body); errors are
`{"error": {"code", "message", "details": [{"message"}], "innererror": {...}}}`.

Hand-written because no maintained Python client for this endpoint exists; sends, resends,
waits and pages through sage365.graph.rest, as Graph beta's reads do.
"""

from __future__ import annotations

import functools
import json
import uuid
from typing import Any, Awaitable, Callable

import httpx

from sage365.exchange.tokens import missing_permissions, sandbox_token, token_facts
from sage365.graph.rest import Call, Dialect, Paged, Pager, RetryPolicy, ServiceError, access_token, error_object, text

EXCHANGE_URL = "https://outlook.office365.com"
READS = frozenset({"Get-App"})  # the cmdlets that change nothing: sent again whenever they failed (rest.Call)
EXCHANGE_SCOPE = "https://outlook.office365.com/.default"
EXCHANGE_URL_ENV = "SAGE365_EXCHANGE_URL"
# The system mailbox ExchangeOnlineManagement anchors app-only admin calls on.
ANCHOR = "APP:SystemMailbox{{bb558c35-97f1-4cb9-8ff7-d53741dc928c}}@{tenant}"
CMDLETS = frozenset({"Get-App", "New-App", "Set-App", "Remove-App"})

TokenSource = Callable[[], Awaitable[str]]


class ExchangeError(ServiceError):
    """A failed Exchange call: HTTP status (0: no answer), Exchange's code, a redacted message.
    `permission` marks a missing right (known from the token or a 401/403)."""

    def __init__(self, status: int, code: str, message: str, *, permission: bool = False) -> None:
        self.permission = permission
        super().__init__(status, code, message)


def exchange_url_from(explicit: str | None, graph_url: str | None) -> str | None:
    """The Exchange base URL override: explicit, else $SAGE365_EXCHANGE_URL, else the sandbox
    that serves `graph_url` (its root: the sandbox serves Exchange's path beside /v1.0)."""
    import os

    value = explicit or os.environ.get(EXCHANGE_URL_ENV)
    if value:
        return value.rstrip("/")
    if graph_url:
        return _origin_of(graph_url)
    return None


@functools.lru_cache(maxsize=16)
def _origin_of(url: str) -> str:
    """scheme://host[:port] of `url`; every tenant of a run asks it of the same Graph URL."""
    return str(httpx.URL(url).copy_with(path="", query=None)).rstrip("/")


def token_source(tenant_id: str, *, credential: Any = None, sandbox: bool = False) -> TokenSource:
    """Tokens for Exchange: the sandbox's static one, or the credential's for EXCHANGE_SCOPE."""
    if credential is None:
        if not sandbox:
            raise ValueError("a credential is required for the real Exchange Online")

        async def static() -> str:
            return sandbox_token(tenant_id)

        return static

    async def issued() -> str:
        return await access_token(credential, EXCHANGE_SCOPE)

    return issued


class ExchangeClient(Paged):
    """InvokeCommand for one tenant. Use as `async with ExchangeClient(...) as client:`."""

    def __init__(self, tenant_id: str, tokens: TokenSource, *, base_url: str | None = None,
                 http: Any = None, policy: RetryPolicy = RetryPolicy(),
                 timeout: float = 60.0, guard: Any = None) -> None:
        """guard: the tenant's TenantGuard, asked before every wait (sage365.graph.rest)."""
        self.tenant_id = tenant_id.lower()
        self.base_url = (base_url or EXCHANGE_URL).rstrip("/")
        self.url = f"{self.base_url}/adminapi/beta/{self.tenant_id}/InvokeCommand"
        self._tokens = tokens
        self._own_http = http is None
        if http is None:
            from sage365.graph.http import HttpClient  # the shared TLS context and size limit

            http = HttpClient(timeout=timeout)
        self._http = http
        self._pager = Pager(http, DIALECT, policy, guard)
        self._token: str | None = None

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
        headers = {
            "Authorization": f"Bearer {await self._authorization()}",
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Prefer": "odata.maxpagesize=1000",
            "X-AnchorMailbox": ANCHOR.format(tenant=self.tenant_id),
        }
        # Every page (POSTed again with the same body) is named by the cmdlet, and gets a
        # client-request-id of its own that its resends keep.
        call = Call("POST", self.url, headers, subject=lambda url: cmdlet, prefix=f"{cmdlet}: ", body=body,
                    page_headers=lambda: {"client-request-id": str(uuid.uuid4())}, idempotent=cmdlet in READS)
        return await self._pager.collect(call)


def _error(response: Any, prefix: str) -> ExchangeError:
    """Exchange's message, looked up where its clients find it: details, innererror, message;
    each only where it has the documented shape (a string in an object, in a list), else the
    next; the reason phrase when none is usable. The status is always kept."""
    error = error_object(response)
    details, inner = error.get("details"), error.get("innererror")
    exception = inner.get("internalException") if isinstance(inner, dict) else None
    found = [d.get("message") for d in details if isinstance(d, dict)] if isinstance(details, list) else []
    found += [exception.get("message") if isinstance(exception, dict) else None, error.get("message")]
    message = next((m for m in map(text, found) if m), "") or text(response.reason_phrase) or "no message"
    status = response.status_code
    return ExchangeError(status, text(error.get("code")), prefix + message, permission=status in (401, 403))


DIALECT = Dialect(
    service="Exchange Online", error=ExchangeError, failed=_error, result="result",
    not_json="the body is not JSON", not_object="the body is not a JSON object with 'value'",
    not_list="'value' is not a list", page_status=200, not_followed="")
