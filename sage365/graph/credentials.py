"""Choose the azure-identity credential for a real tenant, always bound to that tenant.

Which credential comes from the environment, with azure-identity's own variable names:
- ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN (a GitHub Actions job with
  `permissions: id-token: write`) + AZURE_CLIENT_ID: ClientAssertionCredential whose assertion
  is a fresh GitHub ID token (GitHubIdToken): GitHub's tokens live 5 minutes, and each tenant
  makes its own exchange, so a token fetched once would fail every tenant read after that;
- AZURE_FEDERATED_TOKEN_FILE (+ AZURE_CLIENT_ID): WorkloadIdentityCredential, for any other
  federated identity whose file is kept fresh (Kubernetes workload identity);
- AZURE_CLIENT_CERTIFICATE_PATH (+ AZURE_CLIENT_ID, optional
  AZURE_CLIENT_CERTIFICATE_PASSWORD): CertificateCredential;
- otherwise DefaultAzureCredential (developer sign-in, managed identity, ...).
SAGE365_CREDENTIAL=github|workload|certificate|default forces one of them.

The tenant id is never taken from AZURE_TENANT_ID: it is the declared tenant's, so one
tenant's token can never be requested for another. azure-identity is imported lazily
(slow to import, and the sandbox never needs it).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import threading
import time
from typing import Any, Callable, Mapping

KINDS = ("default", "github", "workload", "certificate")
KIND_ENV = "SAGE365_CREDENTIAL"
GITHUB_URL_ENV = "ACTIONS_ID_TOKEN_REQUEST_URL"
GITHUB_TOKEN_ENV = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"
# Entra ID's audience for federated credentials (what its federated identity credentials expect).
OIDC_AUDIENCE = "api://AzureADTokenExchange"
# A cached GitHub ID token is replaced once less than this is left: the exchange must reach
# Entra ID while the assertion is valid, retries included (GitHub's tokens live 300 s).
REFRESH_BEFORE_EXPIRY = 60.0


class CredentialError(ValueError):
    """The environment does not describe a usable credential (never quotes a secret)."""


def credential_kind(env: Mapping[str, str] | None = None) -> str:
    """Which credential the environment asks for: workload, certificate or default."""
    env = os.environ if env is None else env
    forced = env.get(KIND_ENV, "").strip().lower()
    if forced:
        if forced not in KINDS:
            raise CredentialError(f"{KIND_ENV}={forced!r}: expected one of {', '.join(KINDS)}")
        return forced
    if env.get(GITHUB_URL_ENV) and env.get(GITHUB_TOKEN_ENV):
        return "github"
    if env.get("AZURE_FEDERATED_TOKEN_FILE"):
        return "workload"
    if env.get("AZURE_CLIENT_CERTIFICATE_PATH"):
        return "certificate"
    return "default"


def _require(env: Mapping[str, str], kind: str, *names: str) -> None:
    missing = [n for n in names if not env.get(n)]
    if missing:
        raise CredentialError(f"the {kind} credential needs {', '.join(missing)} in the environment")


def _jwt_expiry(token: str) -> float | None:
    """The `exp` claim of a JWT, unverified (Entra ID verifies the signature; we only need to
    know when to ask again), or None when the token carries no readable one."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        exp = claims.get("exp") if isinstance(claims, dict) else None
    except (IndexError, ValueError):
        return None
    return float(exp) if isinstance(exp, (int, float)) and not isinstance(exp, bool) else None


class GitHubIdToken:
    """The job's GitHub Actions ID token for Entra ID, as a ClientAssertionCredential's `func`.

    Written here because azure-identity has no GitHub Actions credential. Each call returns a
    token with more than REFRESH_BEFORE_EXPIRY seconds left: the last one while it has (its JWT
    `exp`), else a new one from ACTIONS_ID_TOKEN_REQUEST_URL (sage365.github_api). Held in
    memory only, never written to disk; thread-safe (tenants sign in from worker threads). The
    request token (a secret that lives as long as the job) is in no repr and no message.
    """

    def __init__(self, request_url: str, request_token: str, *, audience: str = OIDC_AUDIENCE,
                 clock: Callable[[], float] = time.time, transport: Any = None) -> None:
        self.request_url = request_url
        self._request_token = request_token
        self.audience = audience
        self._clock = clock
        self._transport = transport
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires = 0.0
        self.fetched = 0  # how many tokens were asked of GitHub (for progress and tests)

    def __repr__(self) -> str:
        return f"GitHubIdToken({self.request_url!r}, audience={self.audience!r})"

    def __call__(self) -> str:
        with self._lock:
            if self._token is None or self._clock() >= self._expires - REFRESH_BEFORE_EXPIRY:
                from sage365.github_api import GitHubError, fetch_oidc_token  # httpx: on first use

                try:
                    token = fetch_oidc_token(self.request_url, self._request_token, self.audience,
                                             transport=self._transport)
                except GitHubError as exc:
                    raise CredentialError(f"GitHub Actions ID token: {exc}") from None
                self.fetched += 1
                expires = _jwt_expiry(token)
                # Without a readable exp the token is used once and never cached.
                self._token, self._expires = (token, expires) if expires is not None else (None, 0.0)
                return token
            return self._token


_GITHUB_SOURCES: dict[tuple[str, str, str], GitHubIdToken] = {}
_GITHUB_SOURCES_LOCK = threading.Lock()


def github_id_token(request_url: str, request_token: str, audience: str = OIDC_AUDIENCE) -> GitHubIdToken:
    """The process's one GitHubIdToken for these settings: every tenant's credential shares it,
    so a fleet run asks GitHub once per token lifetime, not once per tenant."""
    key = (request_url, request_token, audience)
    with _GITHUB_SOURCES_LOCK:
        if key not in _GITHUB_SOURCES:
            _GITHUB_SOURCES[key] = GitHubIdToken(request_url, request_token, audience=audience)
        return _GITHUB_SOURCES[key]


METHODS = ("assertion", "workload", "certificate", "msi", "cli", "default")


def build_credential(method: str, tenant_id: str, client_id: str | None = None, *,
                     assertion: Callable[[], str] | None = None, token_file: str | None = None,
                     certificate_path: str | None = None, password: str | None = None,
                     options: Mapping[str, Any] | None = None) -> Any:
    """The sync azure-identity credential for `tenant_id` signing in by `method`, from settings
    already resolved (sync_credential: the environment; identity.credential: the azuread
    provider's stack config); the one place that names azure-identity's classes.

    assertion: a ClientAssertionCredential's token source; token_file: a federated token file;
    options: azure-identity keyword arguments (authority, transport). An empty password is none.
    """
    import azure.identity as identity  # lazy: see the module docstring

    options = dict(options or {})
    if method == "assertion":
        return identity.ClientAssertionCredential(tenant_id, client_id, assertion, **options)
    if method == "workload":
        return identity.WorkloadIdentityCredential(tenant_id=tenant_id, client_id=client_id,
                                                   token_file_path=token_file, **options)
    if method == "certificate":
        return identity.CertificateCredential(tenant_id, client_id, certificate_path=certificate_path,
                                              password=password or None, **options)
    if method == "msi":
        return identity.ManagedIdentityCredential(client_id=client_id, **options) if client_id \
            else identity.ManagedIdentityCredential(**options)
    if method == "cli":
        return identity.AzureCliCredential(tenant_id=tenant_id, **options)
    if method == "default":
        # Allowed for this tenant only: TenantBoundCredential asks for it on every token.
        return identity.DefaultAzureCredential(additionally_allowed_tenants=[tenant_id], **options)
    raise ValueError(f"unknown sign-in method {method!r}: expected one of {', '.join(METHODS)}")


def sync_credential(tenant_id: str, env: Mapping[str, str] | None = None, *,
                    options: Mapping[str, Any] | None = None, id_token: Callable[[], str] | None = None) -> Any:
    """An azure-identity (sync) credential for `tenant_id`, chosen by credential_kind().

    options: azure-identity keyword arguments for the credential (authority, transport).
    id_token: the assertion source of the github kind (default: the process's shared one).
    """
    env = os.environ if env is None else env
    kind = credential_kind(env)
    if kind == "github":
        _require(env, kind, "AZURE_CLIENT_ID", GITHUB_URL_ENV, GITHUB_TOKEN_ENV)
        source = id_token or github_id_token(env[GITHUB_URL_ENV], env[GITHUB_TOKEN_ENV])
        return build_credential("assertion", tenant_id, env["AZURE_CLIENT_ID"], assertion=source, options=options)
    if kind == "workload":
        _require(env, kind, "AZURE_CLIENT_ID", "AZURE_FEDERATED_TOKEN_FILE")
        return build_credential("workload", tenant_id, env["AZURE_CLIENT_ID"],
                                token_file=env["AZURE_FEDERATED_TOKEN_FILE"], options=options)
    if kind == "certificate":
        _require(env, kind, "AZURE_CLIENT_ID", "AZURE_CLIENT_CERTIFICATE_PATH")
        return build_credential("certificate", tenant_id, env["AZURE_CLIENT_ID"],
                                certificate_path=env["AZURE_CLIENT_CERTIFICATE_PATH"],
                                password=env.get("AZURE_CLIENT_CERTIFICATE_PASSWORD"), options=options)
    return build_credential("default", tenant_id, options=options)


class TenantBoundCredential:
    """An async token credential over a sync azure-identity one, pinned to one tenant.

    Sync credentials because azure.identity.aio needs aiohttp, which sage365 does not
    depend on; the blocking token request runs in a worker thread, off the event loop.
    Every get_token asks for `tenant_id`, whatever the caller passes.
    """

    def __init__(self, credential: Any, tenant_id: str) -> None:
        self.credential = credential
        self.tenant_id = tenant_id

    async def get_token(self, *scopes: str, claims: str | None = None, tenant_id: str | None = None, **kwargs: Any) -> Any:
        return await asyncio.to_thread(
            self.credential.get_token, *scopes, claims=claims, tenant_id=self.tenant_id, **kwargs
        )

    async def close(self) -> None:
        close = getattr(self.credential, "close", None)
        if close is not None:
            await asyncio.to_thread(close)

    async def __aenter__(self) -> "TenantBoundCredential":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()


def credential_for(tenant_id: str, env: Mapping[str, str] | None = None, *,
                   options: Mapping[str, Any] | None = None, id_token: Callable[[], str] | None = None
                   ) -> TenantBoundCredential:
    """The credential sage365 uses for a real tenant: chosen by the environment, bound to `tenant_id`.

    One per tenant (each makes its own token exchange); options and id_token: see sync_credential.
    """
    return TenantBoundCredential(sync_credential(tenant_id, env, options=options, id_token=id_token), tenant_id)
