"""Application proxy connectors (step 7's "Connecteur Microsoft 365"), from Graph beta.

`GET /beta/onPremisesPublishingProfiles/applicationProxy/connectors` (status active or
inactive, machineName, version); with a declared connector group, also `.../connectorGroups`
and that group's `members`. It is a beta API, and Graph's `$batch` runs on one
version, so this is one request of its own, sent only for tenants that declare
`spec.connector`. Microsoft's beta pages for these reads list Application: Not supported
(delegated Directory.ReadWrite.All only), and sage365 runs app-only: a 403 is expected
(unverified on a real tenant; docs/exchange.md). Then the fallback signal is the Sage
connector app's last sign-in, from
`GET /beta/reports/servicePrincipalSignInActivities?$filter=appId eq '...'`
(application AuditLog.Read.All documented), and the finding stays `error` or `fail`,
never `pass`.

Plain httpx with the tenant's own token (no msgraph model exists for these beta types in
the v1.0 SDK); 429/503/504 are retried after Retry-After like the Exchange client.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from sage365.graph.batch import MAX_PAGES, retry_after
from sage365.graph.redact import redact
from sage365.snapshot import Connector, SignInActivity

if TYPE_CHECKING:
    from sage365.graph.http import HttpLike

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
CONNECTORS_PATH = "/onPremisesPublishingProfiles/applicationProxy/connectors"
GROUPS_PATH = "/onPremisesPublishingProfiles/applicationProxy/connectorGroups"
SIGN_INS_PATH = "/reports/servicePrincipalSignInActivities"
RETRY_STATUSES = frozenset({429, 503, 504})


class BetaError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        self.status, self.code, self.message = status, code, redact(message)
        super().__init__(self.describe())

    def describe(self) -> str:
        head = " ".join(p for p in (str(self.status) if self.status else "", self.code) if p)
        return f"{head}: {self.message}" if head else self.message


def beta_url(graph_url: str | None) -> str:
    """The beta root beside a v1.0 root: https://graph.microsoft.com/beta, or the sandbox's."""
    base = (graph_url or "https://graph.microsoft.com/v1.0").rstrip("/")
    return (base[: -len("/v1.0")] if base.endswith("/v1.0") else base) + "/beta"


class BetaReader:
    """GETs under /beta for one tenant, paged, with the tenant's token."""

    def __init__(self, tenant_id: str, *, graph_url: str | None, credential: Any, http: HttpLike,
                 max_attempts: int = 4, max_wait: float = 30.0, default_delay: float = 1.0, guard: Any = None) -> None:
        """guard: the tenant's sage365.graph.guard.TenantGuard; a wait for a retry longer than
        what is left of its deadline stops the tenant at once (TenantStopped)."""
        self.tenant_id = tenant_id
        self.root = beta_url(graph_url)
        self._credential = credential
        self._http = http
        self._max_attempts, self._max_wait, self._default_delay = max_attempts, max_wait, default_delay
        self._guard = guard
        self.requests = 0

    async def _wait(self, delay: float, cause: str) -> None:
        if self._guard is not None:
            self._guard.allow_wait(delay, cause)  # past the deadline: the tenant stops now
        await asyncio.sleep(delay)

    async def _token(self) -> str:
        if self._credential is None:
            return f"sandbox.{self.tenant_id}"
        token = self._credential.get_token(GRAPH_SCOPE)
        if inspect.isawaitable(token):
            token = await token
        return token.token

    async def collection(self, path: str) -> list[dict[str, Any]]:
        headers = {"Authorization": f"Bearer {await self._token()}", "Accept": "application/json"}
        url: str | None = self.root + path
        items: list[dict[str, Any]] = []
        waited = 0.0
        pages = 0
        while url is not None:
            if pages == MAX_PAGES:  # a looping nextLink must end, as in sage365.graph.batch
                raise BetaError(200, "TooManyPages", f"stopped after {MAX_PAGES} pages, the limit of @odata.nextLink "
                                                     "pages followed; the collection was not read in full")
            pages += 1
            attempt = 0
            while True:
                attempt += 1
                self.requests += 1
                backoff = self._default_delay * 2 ** (attempt - 1)  # 1, 2, 4 s
                try:
                    response = await self._http.get(url, headers=headers)
                except httpx.HTTPError as exc:
                    # A dropped connection or a timeout: resent after the backoff, within the
                    # same budget as throttling.
                    if attempt < self._max_attempts and waited + backoff <= self._max_wait:
                        await self._wait(backoff, f"Microsoft Graph beta did not answer {_path(url)} ({type(exc).__name__})")
                        waited += backoff
                        continue
                    raise BetaError(0, "NoResponse", f"{type(exc).__name__}: {exc}") from None
                delay = retry_after(dict(response.headers))
                delay = backoff if delay is None else delay
                if response.status_code in RETRY_STATUSES and attempt < self._max_attempts and waited + delay <= self._max_wait:
                    await self._wait(delay, f"Microsoft Graph beta answered {response.status_code} to {_path(url)}")
                    waited += delay
                    continue
                break
            if response.status_code >= 400:
                raise _error(response)
            if response.status_code >= 300:  # never followed: the token would go wherever Location says
                raise BetaError(response.status_code, "Redirect", f"redirected to {response.headers.get('location', '(no Location)')}: "
                                "redirects are never followed")
            try:
                page = response.json()
            except ValueError:
                page = None
            # `{}` or `{"value": null}` is no answer, not "no connectors".
            if not isinstance(page, dict) or not isinstance(page.get("value"), list):
                raise BetaError(response.status_code, "MalformedResponse", "the body is not a Graph collection")
            items.extend(page["value"])
            url = page.get("@odata.nextLink") or None
            if url is not None and _origin(url) != _origin(self.root):
                # The token goes wherever the link points: never off this Graph's own host.
                raise BetaError(response.status_code, "UnexpectedNextLink",
                                f"@odata.nextLink leaves {httpx.URL(self.root).host}; it was not followed")
        return items


def _path(url: str) -> str:
    """`GET /beta/...` without the query: what a message names (a $filter may hold an app id)."""
    return f"GET {httpx.URL(url).path}"


def _origin(url: str) -> tuple[str, str, int | None]:
    parsed = httpx.URL(url)
    return parsed.scheme, parsed.host, parsed.port


def _error(response: Any) -> BetaError:
    try:
        error = response.json().get("error") or {}
        code, message = str(error.get("code") or ""), str(error.get("message") or "")
    except (ValueError, AttributeError):
        code, message = "", ""
    return BetaError(response.status_code, code, message or response.reason_phrase)


def connector(obj: dict[str, Any]) -> Connector:
    return Connector(id=str(obj.get("id") or ""), machine_name=str(obj.get("machineName") or ""),
                     status=str(obj.get("status") or ""), version=str(obj.get("version") or ""),
                     external_ip=str(obj.get("externalIp") or ""))


async def read_connectors(reader: BetaReader, group: str | None = None) -> tuple[Connector, ...]:
    """Every connector; with `group` (a declared connector group's name), those in it carry
    its name: two more GETs, the groups and that group's members, only then."""
    found = tuple(connector(o) for o in await reader.collection(CONNECTORS_PATH))
    if group is None:
        return found
    groups = [g for g in await reader.collection(GROUPS_PATH) if str(g.get("name", "")).casefold() == group.casefold()]
    members: set[str] = set()
    for match in groups:
        members |= {str(m.get("id")) for m in await reader.collection(f"{GROUPS_PATH}/{quote(str(match['id']), safe='')}/members")}
    return tuple(dataclasses.replace(c, group=group) if c.id in members else c for c in found)


async def read_sign_in(reader: BetaReader, app_id: str) -> SignInActivity:
    """The app's last sign-in (any kind); last_sign_in None when it has none or is not listed."""
    query = quote(f"appId eq '{app_id}'", safe="")
    rows = await reader.collection(f"{SIGN_INS_PATH}?$filter={query}")
    row = next((r for r in rows if str(r.get("appId", "")).lower() == app_id.lower()), None)
    last = ((row or {}).get("lastSignInActivity") or {}).get("lastSignInDateTime")
    return SignInActivity(app_id=app_id, last_sign_in=str(last) if last else None)
