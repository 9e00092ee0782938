"""Choose the azure-identity credential for a real tenant, always bound to that tenant.

Which credential comes from the environment, with azure-identity's own variable names:
- AZURE_FEDERATED_TOKEN_FILE (+ AZURE_CLIENT_ID): WorkloadIdentityCredential, for GitHub
  Actions OIDC or any federated identity (the workflow writes its OIDC token to the file);
- AZURE_CLIENT_CERTIFICATE_PATH (+ AZURE_CLIENT_ID, optional
  AZURE_CLIENT_CERTIFICATE_PASSWORD): CertificateCredential;
- otherwise DefaultAzureCredential (developer sign-in, managed identity, ...).
SAGE365_CREDENTIAL=workload|certificate|default forces one of them.

The tenant id is never taken from AZURE_TENANT_ID: it is the declared tenant's, so one
tenant's token can never be requested for another. azure-identity is imported lazily
(slow to import, and the sandbox never needs it).
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, Mapping

KINDS = ("default", "workload", "certificate")
KIND_ENV = "SAGE365_CREDENTIAL"


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
    if env.get("AZURE_FEDERATED_TOKEN_FILE"):
        return "workload"
    if env.get("AZURE_CLIENT_CERTIFICATE_PATH"):
        return "certificate"
    return "default"


def _require(env: Mapping[str, str], kind: str, *names: str) -> None:
    missing = [n for n in names if not env.get(n)]
    if missing:
        raise CredentialError(f"the {kind} credential needs {', '.join(missing)} in the environment")


def sync_credential(tenant_id: str, env: Mapping[str, str] | None = None) -> Any:
    """An azure-identity (sync) credential for `tenant_id`, chosen by credential_kind()."""
    env = os.environ if env is None else env
    kind = credential_kind(env)
    import azure.identity as identity  # lazy: see the module docstring

    if kind == "workload":
        _require(env, kind, "AZURE_CLIENT_ID", "AZURE_FEDERATED_TOKEN_FILE")
        return identity.WorkloadIdentityCredential(
            tenant_id=tenant_id, client_id=env["AZURE_CLIENT_ID"], token_file_path=env["AZURE_FEDERATED_TOKEN_FILE"]
        )
    if kind == "certificate":
        _require(env, kind, "AZURE_CLIENT_ID", "AZURE_CLIENT_CERTIFICATE_PATH")
        password = env.get("AZURE_CLIENT_CERTIFICATE_PASSWORD") or None
        return identity.CertificateCredential(
            tenant_id, env["AZURE_CLIENT_ID"], certificate_path=env["AZURE_CLIENT_CERTIFICATE_PATH"], password=password
        )
    # Allowed for this tenant only: the wrapper below asks for it on every token.
    return identity.DefaultAzureCredential(additionally_allowed_tenants=[tenant_id])


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


def credential_for(tenant_id: str, env: Mapping[str, str] | None = None) -> TenantBoundCredential:
    """The credential sage365 uses for a real tenant: chosen by the environment, bound to `tenant_id`."""
    return TenantBoundCredential(sync_credential(tenant_id, env), tenant_id)
