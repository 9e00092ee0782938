"""Build one msgraph-sdk GraphServiceClient per tenant: real Entra ID or the sandbox.

One client per tenant, never shared: a tenant's token and connection pool never serve
another tenant. Against a base-URL override (the sandbox) the token is the static
`sandbox.<tenantId>`, which the sandbox accepts for that tenant only.
"""

from __future__ import annotations

import functools
import os
from typing import Any

import httpx
from kiota_abstractions.authentication import (
    AccessTokenProvider,
    AllowedHostsValidator,
    BaseBearerTokenAuthenticationProvider,
)
from kiota_http.kiota_client_factory import KiotaClientFactory
from kiota_http.middleware import (
    BodyInspectionHandler,
    HeadersInspectionHandler,
    ParametersNameDecodingHandler,
    RedirectHandler,
    RetryHandler,
    UrlReplaceHandler,
)
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph_core import GraphClientFactory
from msgraph_core.middleware import GraphTelemetryHandler

from sage365.exchange.tokens import sandbox_token
from sage365.graph.guard import DeadlineRetryHandler, RefuseRedirects, TenantCheckedTokenProvider, TenantGuard
from sage365.graph.http import graph_transport

GRAPH_URL = "https://graph.microsoft.com/v1.0"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
GRAPH_URL_ENV = "SAGE365_GRAPH_URL"


def graph_url_from_env(explicit: str | None = None) -> str | None:
    """The base-URL override: the explicit value, else $SAGE365_GRAPH_URL, else None.

    A blank value (an unset CI variable) raises ValueError: falling back to production
    Graph with the environment's credentials is never what an empty setting meant."""
    value = explicit if explicit is not None else os.environ.get(GRAPH_URL_ENV)
    if value is None:
        return None
    if not value.strip():
        source = "the Graph URL" if explicit is not None else f"${GRAPH_URL_ENV}"
        raise ValueError(f"{source} is empty: nothing is read rather than production Microsoft Graph")
    return value.strip().rstrip("/")


class StaticTokenProvider(AccessTokenProvider):
    """A fixed bearer token, for the sandbox only (it holds no secret)."""

    def __init__(self, token: str, host: str) -> None:
        self._token = token
        self._hosts = AllowedHostsValidator([host])

    async def get_authorization_token(self, uri: str, additional_authentication_context: dict[str, Any] = {}) -> str:  # noqa: B006 (kiota's signature)
        return self._token

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return self._hosts


# kiota's default handlers that do nothing for sage365's requests yet each run per request
# (an OpenTelemetry span, option look-ups): ~0.1 ms of CPU per Graph request in all, measured
# with callgrind (Session 3 of issue 11). Kept: redirect (RefuseRedirects), retry
# (DeadlineRetryHandler), UserAgentHandler and GraphTelemetryHandler (the User-Agent,
# SdkVersion and client-request-id headers Microsoft support correlates requests by).
# - ParametersNameDecodingHandler decodes `%24select` back to `$select` in URLs that kiota's
#   URI templates percent-encoded; sage365 writes its URLs itself, with a literal `$`.
# - UrlReplaceHandler rewrites URL segments per its replacement pairs (msgraph's own adapter
#   sets `/users/me-token-to-replace` -> `/me`, for delegated sign-in, only on a client it
#   builds itself); sage365 signs in as an app, never sends that token, and kiota's default
#   options here have no pairs at all.
# - HeadersInspectionHandler and BodyInspectionHandler copy headers/bodies into a request
#   option for the caller to inspect; sage365 passes no such option and reads the
#   httpx.Response itself (sage365.graph.transport).
_NO_OP_FOR_SAGE365 = (ParametersNameDecodingHandler, UrlReplaceHandler, HeadersInspectionHandler,
                      BodyInspectionHandler)


class _GraphHttpClient(httpx.AsyncClient):
    """The httpx client kiota's adapter sends through, doing only what sage365's requests need.

    - It closes its bottom transport too: msgraph's AsyncGraphTransport, which wraps it once
      the middleware is loaded, does not pass aclose on, and an unclosed aiohttp session
      would keep its connections (and warn) until the process ends.
    - build_request and send skip the parts of httpx's that never apply here, ~0.1 ms of
      CPU per request (benchmarks/drift_fleet.py): query-parameter and cookie merging (the
      URL comes whole from sage365; a cookie from Graph is never sent back), and the auth
      and redirect loops (kiota's middleware authenticates and refuses redirects, and this
      client has no auth and follows none). Every request still goes through the transport
      chain: the middleware, the size limit, aiohttp. Anything else asked of build_request
      (params, json, data, files, cookies, a timeout) takes httpx's own path.
    """

    def __init__(self, bottom: httpx.AsyncBaseTransport, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._bottom = bottom

    def build_request(self, method: str, url: httpx.URL | str, *, content: Any = None, headers: Any = None,
                      extensions: dict[str, Any] | None = None, **other: Any) -> httpx.Request:
        if other:
            return super().build_request(method, url, content=content, headers=headers, extensions=extensions, **other)
        extensions = {"timeout": self.timeout.as_dict(), **(extensions or {})}
        return httpx.Request(method, _absolute_url(url) if isinstance(url, str) else self._merge_url(url),
                             content=content, headers=self._merge_headers(headers), extensions=extensions)

    async def send(self, request: httpx.Request, *, stream: bool = False, **options: Any) -> httpx.Response:
        if options or self.is_closed:
            return await super().send(request, stream=stream, **options)
        response = await self._transport_for_url(request.url).handle_async_request(request)
        response.request = request
        try:
            if not stream:
                await response.aread()
        except BaseException:
            await response.aclose()
            raise
        return response

    async def aclose(self) -> None:
        try:
            await super().aclose()
        finally:
            await self._bottom.aclose()


@functools.lru_cache(maxsize=256)
def _absolute_url(url: str) -> httpx.URL:
    """httpx.URL(url), parsed once per distinct URL: a fleet's tenants all ask the same
    `/organization` and `/$batch` URLs, and httpx's URL parser costs ~25 us a call.
    httpx.URL is immutable, so sharing one between requests is safe."""
    return httpx.URL(url)


def make_http_client(base_url: str, *, timeout: float = 30.0, max_connections: int = 20,
                     guard: TenantGuard | None = None) -> httpx.AsyncClient:
    """An httpx client on graph_transport's connections with msgraph's default middleware, except that
    redirects are never followed and retries never wait past the tenant's deadline
    (sage365.graph.guard)."""
    guard = guard or TenantGuard("")
    bottom = graph_transport(base_url, max_connections)
    # trust_env off: proxies from the environment are the bottom transport's (sage365.graph.http),
    # so that every answer goes through the size limit; httpx would mount its own transports for them.
    # No base_url on the httpx client: every URL kiota sends is absolute, and the adapter has
    # its own base URL (graph_client sets it).
    client = _GraphHttpClient(bottom, timeout=httpx.Timeout(timeout), transport=bottom, trust_env=False)
    middleware = [
        RefuseRedirects(guard) if isinstance(m, RedirectHandler) else DeadlineRetryHandler(guard)
        if isinstance(m, RetryHandler) else m
        for m in KiotaClientFactory.get_default_middleware(None)
        if not isinstance(m, _NO_OP_FOR_SAGE365)
    ]
    middleware.append(GraphTelemetryHandler())  # as GraphClientFactory's default pipeline has
    return GraphClientFactory.create_with_custom_middleware(middleware, client=client)


def graph_client(
    tenant_id: str,
    *,
    graph_url: str | None = None,
    credential: Any = None,
    http_client: httpx.AsyncClient,
    guard: TenantGuard | None = None,
) -> GraphServiceClient:
    """A GraphServiceClient for one tenant.

    graph_url: a base URL such as the sandbox's `http://127.0.0.1:8765/v1.0`; without a
    credential, the sandbox's static token for `tenant_id` is sent.
    credential: an azure-identity credential for real tenants (DefaultAzureCredential,
    WorkloadIdentityCredential, CertificateCredential), bound to `tenant_id` by the caller.
    Either way, every token is checked to be `tenant_id`'s before each request (guard).
    http_client: make_http_client(...)'s client, which the caller closes (`await
    http_client.aclose()`) when the tenant's read is over: its connections are the caller's.
    """
    guard = guard or TenantGuard(tenant_id)
    base_url = (graph_url or GRAPH_URL).rstrip("/")
    if credential is None:
        if graph_url is None:
            raise ValueError("a credential is required for the real Microsoft Graph")
        tokens: AccessTokenProvider = StaticTokenProvider(sandbox_token(tenant_id), _absolute_url(base_url).host)
    else:
        # Imported here: azure-identity's import is slow and the sandbox never needs it.
        from kiota_authentication_azure.azure_identity_access_token_provider import (
            AzureIdentityAccessTokenProvider,
        )

        tokens = AzureIdentityAccessTokenProvider(credential, None, scopes=[GRAPH_SCOPE])
    auth = BaseBearerTokenAuthenticationProvider(TenantCheckedTokenProvider(tokens, guard))
    adapter = GraphRequestAdapter(auth, client=http_client)
    adapter.base_url = base_url
    return GraphServiceClient(request_adapter=adapter)
