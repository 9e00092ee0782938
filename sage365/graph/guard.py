"""Per-tenant limits on every HTTP exchange with Microsoft Graph: deadline, redirects, tenant.

One `TenantGuard` per tenant read, shared by that tenant's client pieces:
- `RefuseRedirects` (an httpx middleware in place of kiota's RedirectHandler): a 3xx
  answer is never followed. kiota's handler keeps the body on 307/308 and follows a 302
  to any host (it only drops the Authorization header), so another host could receive
  the batch (administrator UPN, app ids) or answer `GET /organization` in the tenant's name.
  Graph does not redirect the calls sage365 makes; a redirect is a misconfigured proxy or
  an attack, and the tenant stops with an error naming it.
- `DeadlineRetryHandler` (kiota's RetryHandler): a `Retry-After` longer than what is left
  of the tenant's deadline stops the tenant at once instead of sleeping past it.
- `TenantCheckedCredential` and `TenantCheckedTokenProvider`: the tenant of the token is
  checked before every request, Graph's, Graph beta's and Exchange's alike (the `tid`
  claim of an Entra ID access token, read without verifying the signature, which is the
  service's job; or the sandbox's `sandbox.<tenantId>`): a credential that hands out
  another tenant's token mid-run stops the tenant before that request is sent.
The first violation is kept in `TenantGuard.violation`; the engine reports the whole
tenant as unreadable with it, whatever part of the read it interrupted.
"""

from __future__ import annotations

import asyncio
from typing import Any, Optional

import httpx
from kiota_abstractions.authentication import AccessTokenProvider, AllowedHostsValidator
from kiota_http.middleware import RetryHandler
from kiota_http.middleware.middleware import BaseMiddleware
from kiota_http.middleware.options import RetryHandlerOption

from sage365.exchange.tokens import token_facts
from sage365.graph.rest import issued_token


class TenantStopped(Exception):
    """A limit was hit: nothing more is sent for this tenant."""


class TenantGuard:
    """The limits of one tenant's read, and the first one broken."""

    def __init__(self, tenant_id: str, timeout: float = float("inf")) -> None:
        self.tenant_id = tenant_id.lower()
        self.timeout = timeout
        self.violation: str | None = None
        self._deadline: float | None = None

    def start(self) -> None:
        """Start the clock (inside the running loop)."""
        self._deadline = asyncio.get_running_loop().time() + self.timeout

    def remaining(self) -> float:
        if self._deadline is None:
            return self.timeout
        return self._deadline - asyncio.get_running_loop().time()

    def stop(self, message: str) -> TenantStopped:
        """Record the first violation; the exception to raise where it was found."""
        if self.violation is None:
            self.violation = message
        return TenantStopped(message)

    def allow_wait(self, delay: float, cause: str) -> None:
        """Raise TenantStopped when waiting `delay` s before a retry would pass the deadline:
        for the Exchange and Graph beta clients, whose retries are their own (kiota's are
        DeadlineRetryHandler's). `cause` says what is retried, e.g. "Exchange Online answered
        429 to Get-App"."""
        if delay > self.remaining():
            raise self.stop(f"{cause}; waiting {delay:g} s to retry is more than is left of the tenant deadline of "
                            f"{self.timeout:g} s (--tenant-timeout); nothing was checked")

    def timed_out_message(self) -> str:
        return (f"no complete answer from Microsoft Graph within the tenant deadline of {self.timeout:g} s "
                "(--tenant-timeout); nothing was checked")

    def check_token(self, token: str) -> None:
        """Raise TenantStopped unless `token` was issued for this tenant."""
        tenant = token_facts(token).tenant_id  # the same reading as Exchange's client makes
        if tenant is None:
            raise self.stop("the access token does not say which tenant it belongs to (no tid claim); "
                            "nothing more was sent")
        if tenant != self.tenant_id:
            raise self.stop(f"the credential returned a token for tenant {tenant}, not for the declared tenant "
                            f"{self.tenant_id}; that request and everything after it were not sent")


class TenantCheckedCredential:
    """An azure-identity credential whose every token is checked against the tenant before it
    is handed out: Graph, Graph beta and Exchange clients all get their tokens through it."""

    def __init__(self, credential: Any, guard: TenantGuard) -> None:
        self._credential = credential
        self._guard = guard

    async def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        # The whole AccessToken is handed on (a credential's callers, kiota's included, read its expiry).
        token = await issued_token(self._credential, *scopes, **kwargs)
        self._guard.check_token(token.token)
        return token


class TenantCheckedTokenProvider(AccessTokenProvider):
    """Wraps the real token provider: every token is checked against the tenant before use."""

    def __init__(self, inner: AccessTokenProvider, guard: TenantGuard) -> None:
        self._inner = inner
        self._guard = guard

    async def get_authorization_token(self, uri: str, additional_authentication_context: dict[str, Any] = {}) -> str:  # noqa: B006 (kiota's signature)
        token = await self._inner.get_authorization_token(uri, additional_authentication_context)
        if token:  # "" means kiota will not authenticate this host: nothing to check
            self._guard.check_token(token)
        return token

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return self._inner.get_allowed_hosts_validator()


class RefuseRedirects(BaseMiddleware):
    """Never follow a redirect: stop the tenant, naming where Graph's answer pointed."""

    def __init__(self, guard: TenantGuard) -> None:
        super().__init__()
        self._guard = guard

    async def send(self, request: httpx.Request, transport: httpx.AsyncBaseTransport) -> httpx.Response:
        response = await super().send(request, transport)
        if 300 <= response.status_code < 400 and response.status_code != 304:
            location = response.headers.get("location", "(no Location)")
            await response.aclose()
            raise self._guard.stop(
                f"{request.method} {request.url.path} was answered {response.status_code} redirecting to {location}: "
                "redirects are never followed (the token or the request could reach another host); nothing more was sent")
        return response


class DeadlineRetryHandler(RetryHandler):
    """kiota's retries (429/503/504 with Retry-After), never past the tenant's deadline."""

    def __init__(self, guard: TenantGuard) -> None:
        super().__init__()
        self._guard = guard

    def get_delay_time(self, retry_count: int, response: Optional[httpx.Response] = None,
                       delay: float = RetryHandlerOption.DEFAULT_DELAY) -> float:
        wait = super().get_delay_time(retry_count, response, delay)
        retryable = response is not None and response.status_code in self.retry_on_status_codes
        if retryable and retry_count < self.options.max_retry and wait > self._guard.remaining():
            raise self._guard.stop(
                f"Microsoft Graph answered {response.status_code} asking to retry in {wait:g} s, more than is left of "
                f"the tenant deadline of {self._guard.timeout:g} s (--tenant-timeout); nothing was checked")
        return wait
