"""Credential selection: from the environment, always bound to the declared tenant."""

from __future__ import annotations

import asyncio

import pytest

from sage365.graph.credentials import (
    CredentialError,
    TenantBoundCredential,
    credential_for,
    credential_kind,
)

TENANT = "11111111-1111-4111-8111-111111111111"


def test_kind_follows_the_environment():
    assert credential_kind({}) == "default"
    assert credential_kind({"AZURE_FEDERATED_TOKEN_FILE": "/t", "AZURE_CLIENT_CERTIFICATE_PATH": "/c"}) == "workload"
    assert credential_kind({"AZURE_CLIENT_CERTIFICATE_PATH": "/c"}) == "certificate"
    assert credential_kind({"SAGE365_CREDENTIAL": "Default", "AZURE_FEDERATED_TOKEN_FILE": "/t"}) == "default"
    with pytest.raises(CredentialError, match="SAGE365_CREDENTIAL='kerberos': expected one of default, github, workload, certificate"):
        credential_kind({"SAGE365_CREDENTIAL": "kerberos"})


class Recorder:
    """Stands for an azure-identity class: records how it was built."""

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs


def test_workload_identity_is_bound_to_the_declared_tenant_not_azure_tenant_id(monkeypatch):
    import azure.identity

    monkeypatch.setattr(azure.identity, "WorkloadIdentityCredential", Recorder)
    env = {"AZURE_CLIENT_ID": "22222222-0000-4000-8000-000000000000", "AZURE_FEDERATED_TOKEN_FILE": "/run/oidc-token",
           "AZURE_TENANT_ID": "99999999-9999-4999-8999-999999999999"}
    credential = credential_for(TENANT, env)
    assert isinstance(credential, TenantBoundCredential) and credential.tenant_id == TENANT
    assert (credential.credential.args, credential.credential.kwargs) == (
        (), {"tenant_id": TENANT, "client_id": "22222222-0000-4000-8000-000000000000", "token_file_path": "/run/oidc-token"}
    )


def test_certificate_credential_from_the_environment(monkeypatch):
    import azure.identity

    monkeypatch.setattr(azure.identity, "CertificateCredential", Recorder)
    env = {"AZURE_CLIENT_ID": "c", "AZURE_CLIENT_CERTIFICATE_PATH": "/etc/sage365.pem", "AZURE_CLIENT_CERTIFICATE_PASSWORD": "pw"}
    credential = credential_for(TENANT, env).credential
    assert (credential.args, credential.kwargs) == ((TENANT, "c"), {"certificate_path": "/etc/sage365.pem", "password": "pw"})


def test_default_credential_allows_the_declared_tenant(monkeypatch):
    import azure.identity

    monkeypatch.setattr(azure.identity, "DefaultAzureCredential", Recorder)
    credential = credential_for(TENANT, {}).credential
    assert (credential.args, credential.kwargs) == ((), {"additionally_allowed_tenants": [TENANT]})


def test_certificate_credential_needs_a_client_id():
    with pytest.raises(CredentialError, match="the certificate credential needs AZURE_CLIENT_ID in the environment"):
        credential_for(TENANT, {"AZURE_CLIENT_CERTIFICATE_PATH": "/nonexistent.pem"})


def test_default_credential_is_a_real_azure_identity_credential():
    assert type(credential_for(TENANT, {}).credential).__name__ == "DefaultAzureCredential"


def test_every_token_is_requested_for_the_bound_tenant():
    calls = []

    class Recording:
        def get_token(self, *scopes, **kwargs):
            calls.append((scopes, kwargs))
            return "token"

        def close(self):
            calls.append("closed")

    async def go():
        async with TenantBoundCredential(Recording(), TENANT) as credential:
            return await credential.get_token("https://graph.microsoft.com/.default", tenant_id="someone-else", enable_cae=True)

    assert asyncio.run(go()) == "token"
    assert calls == [(("https://graph.microsoft.com/.default",), {"claims": None, "tenant_id": TENANT, "enable_cae": True}), "closed"]


def test_github_kind_signs_in_with_the_shared_id_token_and_the_options(monkeypatch):
    import azure.identity

    from sage365.graph.credentials import github_id_token

    monkeypatch.setattr(azure.identity, "ClientAssertionCredential", Recorder)
    env = {"ACTIONS_ID_TOKEN_REQUEST_URL": "https://x/", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "t", "AZURE_CLIENT_ID": "c"}
    credential = credential_for(TENANT, env, options={"authority": "login.example"}).credential
    assert (credential.args, credential.kwargs) == ((TENANT, "c", github_id_token("https://x/", "t")),
                                                    {"authority": "login.example"})
    source = lambda: "assertion"  # noqa: E731
    credential = credential_for(TENANT, env, id_token=source).credential
    assert (credential.args, credential.kwargs) == ((TENANT, "c", source), {})


def test_options_reach_every_kind(monkeypatch):
    import azure.identity

    for name in ("WorkloadIdentityCredential", "CertificateCredential", "DefaultAzureCredential"):
        monkeypatch.setattr(azure.identity, name, type(name, (Recorder,), {}))
    options = {"authority": "login.example"}
    workload = credential_for(TENANT, {"AZURE_CLIENT_ID": "c", "AZURE_FEDERATED_TOKEN_FILE": "/t"}, options=options)
    assert workload.credential.kwargs == {"tenant_id": TENANT, "client_id": "c", "token_file_path": "/t", **options}
    certificate = credential_for(TENANT, {"AZURE_CLIENT_ID": "c", "AZURE_CLIENT_CERTIFICATE_PATH": "/p",
                                          "AZURE_CLIENT_CERTIFICATE_PASSWORD": ""}, options=options).credential
    assert (certificate.args, certificate.kwargs) == ((TENANT, "c"), {"certificate_path": "/p", "password": None, **options})
    default = credential_for(TENANT, {}, options=options).credential
    assert (type(default).__name__, default.args, default.kwargs) == (
        "DefaultAzureCredential", (), {"additionally_allowed_tenants": [TENANT], **options})
