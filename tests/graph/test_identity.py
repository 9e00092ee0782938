"""sage365.graph.identity: the gate signs in as the azuread provider does, or the run is refused."""

from __future__ import annotations

import azure.identity
import pytest

from sage365.graph import identity
from sage365.graph.identity import ProviderAuth
from tests.graph.test_credentials import Recorder

TENANT = "11111111-1111-4111-8111-111111111111"
CLIENT = "99999999-0000-4000-8000-000000000009"


def test_stack_config_wins_over_the_environment():
    auth = identity.resolve({"clientId": CLIENT, "oidcTokenFilePath": "/run/token"},
                            {"ARM_CLIENT_ID": "other", "ARM_OIDC_TOKEN_FILE_PATH": "/elsewhere"})
    assert auth == ProviderAuth(client_id=CLIENT, use_oidc=True, oidc_token_file_path="/run/token")


def test_the_providers_environment_fallbacks_github_actions_included():
    env = {"ARM_CLIENT_ID": CLIENT, "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "secret-bearer",
           "ACTIONS_ID_TOKEN_REQUEST_URL": "https://token.actions.example/?x=1"}
    auth = identity.resolve({"useOidc": "true"}, env)
    assert (auth.client_id, auth.method, auth.oidc_source, auth.oidc_request_url) == (
        CLIENT, "oidc", "request", "https://token.actions.example/?x=1")
    assert "secret-bearer" not in repr(auth)  # tokens stay out of any message
    # ARM_OIDC_REQUEST_* come before GitHub's own variables, as in the provider.
    arm = identity.resolve({}, env | {"ARM_OIDC_REQUEST_URL": "https://arm.example/"})
    assert arm.oidc_request_url == "https://arm.example/"


def test_no_switch_in_stack_config_means_oidc_as_the_program_builds_the_provider():
    assert identity.resolve({}, {}).method == "oidc"
    assert identity.resolve({"useCli": "true"}, {}).method == "cli"
    assert identity.resolve({"useMsi": "true"}, {}).method == "msi"


def test_consistent_settings_have_no_problem():
    auth = ProviderAuth(client_id=CLIENT, use_oidc=True, oidc_token_file_path="/run/token")
    env = {"AZURE_CLIENT_ID": CLIENT.upper(), "AZURE_FEDERATED_TOKEN_FILE": "/run/token", "ARM_TENANT_ID": TENANT}
    assert identity.problems(auth, env, TENANT) == []


def test_every_disagreement_is_named():
    auth = ProviderAuth(client_id=CLIENT, use_oidc=True, oidc_token_file_path="/run/token")
    env = {"SAGE365_CREDENTIAL": "default", "AZURE_CLIENT_ID": "88888888-0000-4000-8000-000000000008",
           "AZURE_FEDERATED_TOKEN_FILE": "/tmp/other", "AZURE_TENANT_ID": "22222222-2222-4222-8222-222222222222"}
    assert identity.problems(auth, env, TENANT) == [
        "SAGE365_CREDENTIAL=default would choose the gate's credential apart from the provider's; unset it for Pulumi runs",
        f"AZURE_CLIENT_ID is 88888888-0000-4000-8000-000000000008 but the provider signs in as {CLIENT} "
        "(azuread:clientId or ARM_CLIENT_ID); set one client id",
        "AZURE_FEDERATED_TOKEN_FILE is /tmp/other but the provider reads its OIDC token from /run/token "
        "(azuread:oidcTokenFilePath or ARM_OIDC_TOKEN_FILE_PATH)",
        f"AZURE_TENANT_ID names tenant 22222222-2222-4222-8222-222222222222, but this stack is pinned to {TENANT}; unset it",
    ]


def test_incomplete_oidc_is_named():
    assert identity.problems(ProviderAuth(use_oidc=True), {}, TENANT) == [
        "azuread:clientId (or ARM_CLIENT_ID) is not set: with OIDC the provider cannot sign in",
        "no OIDC token: set azuread:oidcTokenFilePath (or ARM_OIDC_TOKEN_FILE_PATH), or run in GitHub Actions with "
        "`permissions: id-token: write` (ACTIONS_ID_TOKEN_REQUEST_TOKEN/URL)",
    ]


def test_the_credential_matches_the_method(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("header.payload.signature")
    by_file = identity.credential(ProviderAuth(client_id=CLIENT, use_oidc=True, oidc_token_file_path=str(token_file)), TENANT)
    assert isinstance(by_file.credential, azure.identity.WorkloadIdentityCredential)
    assert by_file.tenant_id == TENANT
    by_request = identity.credential(ProviderAuth(client_id=CLIENT, use_oidc=True, oidc_request_token="t",
                                                  oidc_request_url="https://u/"), TENANT)
    assert isinstance(by_request.credential, azure.identity.ClientAssertionCredential)
    assert isinstance(identity.credential(ProviderAuth(use_cli=True), TENANT).credential, azure.identity.AzureCliCredential)
    assert isinstance(identity.credential(ProviderAuth(use_msi=True), TENANT).credential,
                      azure.identity.ManagedIdentityCredential)
    with pytest.raises(ValueError, match="OIDC needs a client id"):
        identity.credential(ProviderAuth(use_oidc=True, oidc_token="x"), TENANT)


def test_a_certificate_comes_first_as_in_the_provider():
    auth = identity.resolve({"clientId": CLIENT, "clientCertificatePath": "/run/cert.pfx", "useOidc": "true"},
                            {"ARM_CLIENT_CERTIFICATE_PASSWORD": "pfx-secret"})
    assert (auth.method, auth.client_certificate_path) == ("certificate", "/run/cert.pfx")
    assert "pfx-secret" not in repr(auth)
    assert identity.problems(auth, {}, TENANT) == []
    assert identity.problems(identity.resolve({"useAksWorkloadIdentity": "true", "clientId": CLIENT,
                                               "oidcTokenFilePath": "/t"}, {}), {}, TENANT) == [
        "useAksWorkloadIdentity is not supported by the preview gate: use useOidc with oidcTokenFilePath "
        "(the same federated token file)"
    ]


def built(monkeypatch, auth: ProviderAuth):
    for name in ("CertificateCredential", "ClientAssertionCredential", "WorkloadIdentityCredential",
                 "ManagedIdentityCredential", "AzureCliCredential", "DefaultAzureCredential"):
        monkeypatch.setattr(azure.identity, name, type(name, (Recorder,), {}))
    bound = identity.credential(auth, TENANT)
    assert bound.tenant_id == TENANT
    return type(bound.credential).__name__, bound.credential.args, bound.credential.kwargs


def test_each_method_builds_its_credential_with_exactly_the_provider_s_settings(monkeypatch):
    assert built(monkeypatch, ProviderAuth(client_id=CLIENT, client_certificate_path="/c.pfx",
                                           client_certificate_password="pw")) == (
        "CertificateCredential", (TENANT, CLIENT), {"certificate_path": "/c.pfx", "password": "pw"})
    assert built(monkeypatch, ProviderAuth(client_certificate_path="/c.pfx", client_certificate_password="")) == (
        "CertificateCredential", (TENANT, ""), {"certificate_path": "/c.pfx", "password": None})
    assert built(monkeypatch, ProviderAuth(client_id=CLIENT, use_oidc=True, oidc_token_file_path="/t")) == (
        "WorkloadIdentityCredential", (), {"tenant_id": TENANT, "client_id": CLIENT, "token_file_path": "/t"})
    name, args, kwargs = built(monkeypatch, ProviderAuth(client_id=CLIENT, use_oidc=True, oidc_token="the-oidc-token"))
    assert (name, args[:2], args[2](), kwargs) == ("ClientAssertionCredential", (TENANT, CLIENT), "the-oidc-token", {})
    name, args, kwargs = built(monkeypatch, ProviderAuth(client_id=CLIENT, use_oidc=True, oidc_request_token="rt",
                                                         oidc_request_url="https://u/"))
    assert (name, args, kwargs) == ("ClientAssertionCredential",
                                    (TENANT, CLIENT, identity.github_id_token("https://u/", "rt")), {})
    assert built(monkeypatch, ProviderAuth(client_id=CLIENT, use_msi=True)) == (
        "ManagedIdentityCredential", (), {"client_id": CLIENT})
    assert built(monkeypatch, ProviderAuth(use_msi=True)) == ("ManagedIdentityCredential", (), {})
    assert built(monkeypatch, ProviderAuth(client_id=CLIENT, use_cli=True)) == (
        "AzureCliCredential", (), {"tenant_id": TENANT})
    with pytest.raises(ValueError, match="^OIDC needs a token, a token file or GitHub's token request variables$"):
        identity.credential(ProviderAuth(client_id=CLIENT, use_oidc=True), TENANT)
    with pytest.raises(ValueError, match="^no sign-in method$"):
        identity.credential(ProviderAuth(), TENANT)
