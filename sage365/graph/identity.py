"""One identity for a Pulumi run: the preview gate signs in exactly as the azuread provider does.

The provider takes its credential from stack config (`azuread:clientId`, `azuread:useOidc`,
`azuread:oidcToken`, `azuread:oidcTokenFilePath`, `azuread:oidcRequestToken`,
`azuread:oidcRequestUrl`, `azuread:clientCertificatePath`, `azuread:useMsi`,
`azuread:useCli`), each falling back to its
environment variables as terraform-provider-azuread reads them (`ARM_CLIENT_ID`,
`ARM_USE_OIDC`, `ARM_OIDC_TOKEN`, `ARM_OIDC_TOKEN_FILE_PATH`, `ARM_OIDC_REQUEST_TOKEN` then
GitHub's `ACTIONS_ID_TOKEN_REQUEST_TOKEN`, `ARM_OIDC_REQUEST_URL` then
`ACTIONS_ID_TOKEN_REQUEST_URL`, `ARM_USE_MSI`, `ARM_USE_CLI`). `resolve` applies the same rules,
`credential` builds the matching azure-identity credential for the gate, and `problems` names
every setting that would make the gate and the provider sign in differently (azure-identity's
own `AZURE_CLIENT_ID`/`AZURE_FEDERATED_TOKEN_FILE`, `SAGE365_CREDENTIAL`, another tenant in
`ARM_TENANT_ID`/`AZURE_TENANT_ID`), so the program can refuse such a run. Secrets (tokens) are
never part of a message. azure-identity is imported lazily.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

# One GitHub token source for drift, export and the gate: fresh tokens, cached until near expiry.
from sage365.graph.credentials import KIND_ENV, TenantBoundCredential, build_credential, github_id_token

_TRUE = ("1", "true", "t", "yes")


def _bool(value: str | None) -> bool:
    return (value or "").strip().lower() in _TRUE


def _first(config: Mapping[str, str | None], key: str, env: Mapping[str, str], *names: str) -> str | None:
    if config.get(key):
        return config[key]
    for name in names:
        if env.get(name):
            return env[name]
    return None


@dataclass(frozen=True)
class ProviderAuth:
    """How the stack's azuread provider signs in (tokens kept out of repr)."""

    client_id: str | None = None
    use_oidc: bool = False
    use_msi: bool = False
    use_cli: bool = False
    oidc_token: str | None = field(default=None, repr=False)
    oidc_token_file_path: str | None = None
    oidc_request_token: str | None = field(default=None, repr=False)
    oidc_request_url: str | None = None
    client_certificate_path: str | None = None
    client_certificate_password: str | None = field(default=None, repr=False)
    use_aks_workload_identity: bool = False

    @property
    def method(self) -> str:
        """certificate, oidc, msi, cli or none, in the order the provider tries them."""
        if self.client_certificate_path:
            return "certificate"
        if self.use_oidc:
            return "oidc"
        if self.use_msi:
            return "msi"
        if self.use_cli:
            return "cli"
        return "none"

    @property
    def oidc_source(self) -> str | None:
        """Where an OIDC token comes from: token, file, request (GitHub Actions), or None."""
        if self.oidc_token:
            return "token"
        if self.oidc_token_file_path:
            return "file"
        if self.oidc_request_token and self.oidc_request_url:
            return "request"
        return None


AUTH_BOOLS = ("useOidc", "useMsi", "useCli")

# The stack-config settings that are no secret, and so may travel as a resource's inputs (and
# sit in its state) for a process that signs in later (the add-in deployment's dynamic provider).
# Tokens, request URLs and passwords never do: that process reads them from its own
# environment, as the provider plugin does.
PUBLIC_SETTINGS = ("clientId", "useOidc", "useMsi", "useCli", "oidcTokenFilePath", "clientCertificatePath",
                   "useAksWorkloadIdentity")


def resolve(config: Mapping[str, str | None], env: Mapping[str, str]) -> ProviderAuth:
    """The provider's sign-in from stack config (`azuread:` keys, without the namespace) and env.

    As components.program builds the provider: with no auth switch in stack config, OIDC.
    """
    chosen = any(config.get(k) for k in AUTH_BOOLS)
    use_oidc = _bool(config.get("useOidc")) if config.get("useOidc") else (not chosen or _bool(env.get("ARM_USE_OIDC")))
    return ProviderAuth(
        client_id=_first(config, "clientId", env, "ARM_CLIENT_ID"),
        use_oidc=use_oidc,
        use_msi=_bool(_first(config, "useMsi", env, "ARM_USE_MSI")),
        use_cli=_bool(_first(config, "useCli", env, "ARM_USE_CLI")),
        oidc_token=_first(config, "oidcToken", env, "ARM_OIDC_TOKEN"),
        oidc_token_file_path=_first(config, "oidcTokenFilePath", env, "ARM_OIDC_TOKEN_FILE_PATH"),
        oidc_request_token=_first(config, "oidcRequestToken", env, "ARM_OIDC_REQUEST_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
        oidc_request_url=_first(config, "oidcRequestUrl", env, "ARM_OIDC_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_URL"),
        client_certificate_path=_first(config, "clientCertificatePath", env, "ARM_CLIENT_CERTIFICATE_PATH"),
        client_certificate_password=_first(config, "clientCertificatePassword", env, "ARM_CLIENT_CERTIFICATE_PASSWORD"),
        use_aks_workload_identity=_bool(_first(config, "useAksWorkloadIdentity", env, "ARM_USE_AKS_WORKLOAD_IDENTITY")),
    )


def problems(auth: ProviderAuth, env: Mapping[str, str], tenant_id: str) -> list[str]:
    """Every reason the gate could not sign in as the provider does, one line each; [] when none."""
    found = []
    if env.get(KIND_ENV):
        found.append(f"{KIND_ENV}={env[KIND_ENV]} would choose the gate's credential apart from the provider's; "
                     "unset it for Pulumi runs")
    azure_client = env.get("AZURE_CLIENT_ID")
    if azure_client and auth.client_id and azure_client.lower() != auth.client_id.lower():
        found.append(f"AZURE_CLIENT_ID is {azure_client} but the provider signs in as {auth.client_id} "
                     "(azuread:clientId or ARM_CLIENT_ID); set one client id")
    federated = env.get("AZURE_FEDERATED_TOKEN_FILE")
    if federated and auth.oidc_token_file_path and federated != auth.oidc_token_file_path:
        found.append(f"AZURE_FEDERATED_TOKEN_FILE is {federated} but the provider reads its OIDC token from "
                     f"{auth.oidc_token_file_path} (azuread:oidcTokenFilePath or ARM_OIDC_TOKEN_FILE_PATH)")
    for name in ("ARM_TENANT_ID", "AZURE_TENANT_ID"):
        if env.get(name) and env[name].lower() != tenant_id.lower():
            found.append(f"{name} names tenant {env[name]}, but this stack is pinned to {tenant_id}; unset it")
    if auth.use_aks_workload_identity:
        found.append("useAksWorkloadIdentity is not supported by the preview gate: use useOidc with "
                     "oidcTokenFilePath (the same federated token file)")
    if auth.method == "certificate" and not auth.client_id:
        found.append("azuread:clientId (or ARM_CLIENT_ID) is not set: a certificate needs the app's client id")
    if auth.method == "none":
        found.append("no sign-in method: set azuread:useOidc (or useMsi, useCli) in the stack config")
    if auth.method == "oidc" and not auth.client_id:
        found.append("azuread:clientId (or ARM_CLIENT_ID) is not set: with OIDC the provider cannot sign in")
    if auth.method == "oidc" and auth.oidc_source is None:
        found.append("no OIDC token: set azuread:oidcTokenFilePath (or ARM_OIDC_TOKEN_FILE_PATH), or run in GitHub "
                     "Actions with `permissions: id-token: write` (ACTIONS_ID_TOKEN_REQUEST_TOKEN/URL)")
    return found


def credential(auth: ProviderAuth, tenant_id: str) -> TenantBoundCredential:
    """The azure-identity credential that signs in as `auth` does, bound to `tenant_id`.

    Call problems() first: an incomplete `auth` raises ValueError here.
    """
    if auth.method == "certificate":
        inner = build_credential("certificate", tenant_id, auth.client_id or "",
                                 certificate_path=auth.client_certificate_path,
                                 password=auth.client_certificate_password)
    elif auth.method == "oidc":
        if not auth.client_id:
            raise ValueError("OIDC needs a client id")
        if auth.oidc_source == "token":
            token = auth.oidc_token or ""
            inner = build_credential("assertion", tenant_id, auth.client_id, assertion=lambda: token)
        elif auth.oidc_source == "file":
            inner = build_credential("workload", tenant_id, auth.client_id, token_file=auth.oidc_token_file_path)
        elif auth.oidc_source == "request":
            inner = build_credential("assertion", tenant_id, auth.client_id, assertion=github_id_token(
                auth.oidc_request_url or "", auth.oidc_request_token or ""))
        else:
            raise ValueError("OIDC needs a token, a token file or GitHub's token request variables")
    elif auth.method in ("msi", "cli"):
        inner = build_credential(auth.method, tenant_id, auth.client_id)
    else:
        raise ValueError("no sign-in method")
    return TenantBoundCredential(inner, tenant_id)
