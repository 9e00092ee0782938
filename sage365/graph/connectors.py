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

Plain JSON over the tenant's HTTP client with the tenant's own token (no msgraph model exists
for these beta types in the v1.0 SDK); sent, resent and paged by sage365.graph.rest, as the
Exchange client's calls are.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from sage365.exchange.tokens import sandbox_token
from sage365.graph.rest import (
    Call,
    Dialect,
    Paged,
    Pager,
    RetryPolicy,
    ServiceError,
    access_token,
    error_object,
    json_type,
    text,
)
from sage365.snapshot import Connector, SignInActivity

if TYPE_CHECKING:
    from sage365.graph.http import HttpLike

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
CONNECTORS_PATH = "/onPremisesPublishingProfiles/applicationProxy/connectors"
GROUPS_PATH = "/onPremisesPublishingProfiles/applicationProxy/connectorGroups"
SIGN_INS_PATH = "/reports/servicePrincipalSignInActivities"


class BetaError(ServiceError):
    """A failed Graph beta read: HTTP status (0: no answer), Graph's code, a redacted message."""


def beta_url(graph_url: str | None) -> str:
    """The beta root beside a v1.0 root: https://graph.microsoft.com/beta, or the sandbox's."""
    base = (graph_url or "https://graph.microsoft.com/v1.0").rstrip("/")
    return (base[: -len("/v1.0")] if base.endswith("/v1.0") else base) + "/beta"


class BetaReader(Paged):
    """GETs under /beta for one tenant, paged, with the tenant's token."""

    def __init__(self, tenant_id: str, *, graph_url: str | None, credential: Any, http: HttpLike,
                 max_attempts: int = 4, max_wait: float = 30.0, default_delay: float = 1.0, guard: Any = None) -> None:
        """guard: the tenant's TenantGuard, asked before every wait (sage365.graph.rest)."""
        self.tenant_id = tenant_id
        self.root = beta_url(graph_url)
        self._credential = credential
        self._pager = Pager(http, DIALECT, RetryPolicy(max_attempts, max_wait, default_delay), guard)
        self.path = ""  # the collection read last (no query): what a failure's message names

    async def _token(self) -> str:
        if self._credential is None:
            return sandbox_token(self.tenant_id)
        return await access_token(self._credential, GRAPH_SCOPE)

    async def collection(self, path: str) -> list[dict[str, Any]]:
        """Every page's `value` items of `GET {root}{path}`, in order; the token is asked for once per collection."""
        self.path = path.partition("?")[0]
        headers = {"Authorization": f"Bearer {await self._token()}", "Accept": "application/json"}
        return await self._pager.collect(Call("GET", self.root + path, headers, subject=_path))


def _path(url: str) -> str:
    """`GET /beta/...` without the query: what a message names (a $filter may hold an app id)."""
    return f"GET {httpx.URL(url).path}"


def _error(response: Any, prefix: str) -> BetaError:
    """Graph's error code and message, each only when a string; the reason phrase when the body has none."""
    error = error_object(response)
    message = text(error.get("message")) or text(response.reason_phrase) or "no message"
    return BetaError(response.status_code, text(error.get("code")), prefix + message)


DIALECT = Dialect(
    service="Microsoft Graph beta", error=BetaError, failed=_error, result="collection",
    not_json="the body is not a Graph collection", not_object="the body is not a Graph collection",
    not_list="the body is not a Graph collection", not_followed="; it was not followed")


def _string(value: Any) -> str:
    """A name or id compared as it is: a JSON string, else matched by nothing."""
    return value if isinstance(value, str) else ""


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
    groups = [g for g in await reader.collection(GROUPS_PATH) if _string(g.get("name")).casefold() == group.casefold()]
    members: set[str] = set()
    for match in groups:
        group_id = match.get("id")
        if not isinstance(group_id, str) or not group_id:  # its members cannot be asked for
            raise BetaError(200, "MalformedResponse", f"the connector group named '{group}' has "
                            f"{'no id' if not group_id else 'an id that is ' + json_type(group_id)}; its members were not read")
        members |= {str(m.get("id")) for m in await reader.collection(f"{GROUPS_PATH}/{quote(group_id, safe='')}/members")}
    return tuple(dataclasses.replace(c, group=group) if c.id in members else c for c in found)


async def read_sign_in(reader: BetaReader, app_id: str) -> SignInActivity:
    """The app's last sign-in (any kind); last_sign_in None when it has none or is not listed."""
    query = quote(f"appId eq '{app_id}'", safe="")
    rows = await reader.collection(f"{SIGN_INS_PATH}?$filter={query}")
    row = next((r for r in rows if _string(r.get("appId")).lower() == app_id.lower()), None)
    # A sign-in that cannot be read is not "never signed in" (the check would fail on that).
    activity = (row or {}).get("lastSignInActivity")
    if activity is not None and not isinstance(activity, dict):
        raise BetaError(200, "MalformedResponse", f"lastSignInActivity is {json_type(activity)}, not an object; "
                        "the sign-in was not read")
    last = (activity or {}).get("lastSignInDateTime")
    if last is not None and not isinstance(last, str):
        raise BetaError(200, "MalformedResponse", f"lastSignInActivity.lastSignInDateTime is {json_type(last)}, "
                        "not a date and time; the sign-in was not read")
    return SignInActivity(app_id=app_id, last_sign_in=last or None)
