"""GitHub Actions OIDC for every tenant: a fresh GitHub ID token per exchange, never a stale one.

Over real HTTP: GitHub's ID-token endpoint is tests/ci's stand-in (its tokens are JWTs living
300 s, as GitHub's do), and Entra ID's token endpoint is a local stand-in that refuses an
expired client assertion as Entra does (AADSTS700024). azure-identity's own
ClientAssertionCredential makes the exchange; only its host is redirected to the stand-in.
One clock drives all three, so a ten-minute fleet run takes no ten minutes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import azure.identity
import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError
from azure.core.pipeline.transport import RequestsTransport

from sage365.graph import identity
from sage365.graph.credentials import (
    CredentialError,
    GitHubIdToken,
    _jwt_expiry,
    credential_for,
    credential_kind,
    github_id_token,
)
from sage365.graph.identity import ProviderAuth
from tests.ci.fake_github import OIDC_REQUEST_TOKEN, OIDC_VALUE, FakeGitHub

CLIENT = "99999999-0000-4000-8000-000000000009"
TENANTS = [f"{n}{n}{n}{n}{n}{n}{n}{n}-0000-4000-8000-00000000000{n}" for n in range(1, 6)]
GRAPH = "https://graph.microsoft.com/.default"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class FakeEntra:
    """POST /{tenant}/oauth2/v2.0/token with a client assertion, as Entra ID answers it."""

    def __init__(self, clock: Clock) -> None:
        self.exchanges: list[tuple[str, str, str]] = []  # (tenant, assertion jti, outcome)
        exchanges = self.exchanges

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                tenant = self.path.split("/")[1]
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode()).items()}
                assertion = form.get("client_assertion", "")
                claims = json.loads(_b64(assertion.split(".")[1]))
                ok = (form.get("grant_type") == "client_credentials" and form.get("client_id") == CLIENT
                      and form.get("client_assertion_type") == ASSERTION_TYPE and form.get("scope") == GRAPH
                      and self.path == f"/{tenant}/oauth2/v2.0/token")
                if not ok:
                    return self._send(400, {"error": "invalid_request", "error_description": f"AADSTS900144: {sorted(form)}"})
                if not claims["nbf"] <= clock() < claims["exp"]:
                    exchanges.append((tenant, claims["jti"], "AADSTS700024"))
                    return self._send(400, {"error": "invalid_client", "error_description":
                                            "AADSTS700024: Client assertion is not within its valid time range."})
                exchanges.append((tenant, claims["jti"], "ok"))
                self._send(200, {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                                 "access_token": f"access-token-for-{tenant}"})

            def _send(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def transport(self) -> RequestsTransport:
        """azure-identity's own transport, its requests to login.microsoftonline.com sent here instead."""
        base = self.url

        class ToStandIn(requests.adapters.HTTPAdapter):
            def send(self, request, **kwargs):
                request.url = request.url.replace("https://login.microsoftonline.com", base, 1)
                return super().send(request, **kwargs)

        session = requests.Session()
        session.mount("https://login.microsoftonline.com", ToStandIn())
        return RequestsTransport(session=session, session_owner=False)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _b64(part: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def github(clock):
    with FakeGitHub() as fake:
        fake.state.oidc_lifetime, fake.state.clock = 300, clock
        yield fake


@pytest.fixture
def entra(clock):
    fake = FakeEntra(clock)
    yield fake
    fake.close()


def env_of(github) -> dict[str, str]:
    return {"AZURE_CLIENT_ID": CLIENT, "ACTIONS_ID_TOKEN_REQUEST_URL": f"{github.url}/oidc?api-version=2.0",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN": OIDC_REQUEST_TOKEN}


def sign_in(tenant: str, env, entra, **kwargs) -> str:
    """What the engine does per tenant: its own credential, one Graph token, closed afterwards."""
    async def go():
        async with credential_for(tenant, env, options={"transport": entra.transport()}, **kwargs) as credential:
            return (await credential.get_token(GRAPH)).token

    return asyncio.run(go())


def oidc_requests(github) -> int:
    return sum(1 for _m, path in github.state.requests if path.startswith("/oidc"))


def test_a_fleet_run_longer_than_a_token_keeps_signing_in(github, entra, clock):
    env = env_of(github)
    source = GitHubIdToken(env["ACTIONS_ID_TOKEN_REQUEST_URL"], OIDC_REQUEST_TOKEN, clock=clock)
    start = clock.now
    for tenant, at in zip(TENANTS, (0, 100, 250, 420, 600)):
        clock.now = start + at
        assert sign_in(tenant, env, entra, id_token=source) == f"access-token-for-{tenant}"
    # id-1 (issued at 0, exp 300) is reused at 100; at 250 less than 60 s are left: id-2 (exp 550);
    # reused at 420; at 600 it has expired: id-3. Every tenant made its own exchange.
    assert entra.exchanges == [(TENANTS[0], "id-1", "ok"), (TENANTS[1], "id-1", "ok"), (TENANTS[2], "id-2", "ok"),
                               (TENANTS[3], "id-2", "ok"), (TENANTS[4], "id-3", "ok")]
    assert (oidc_requests(github), source.fetched) == (3, 3)


def test_the_token_fetched_once_fails_later_tenants_as_entra_would(github, entra, clock):
    """The stand-in enforces expiry: the old one-shot token (a file written at the start) fails at 6 minutes."""
    env = env_of(github)
    once = GitHubIdToken(env["ACTIONS_ID_TOKEN_REQUEST_URL"], OIDC_REQUEST_TOKEN, clock=clock)()
    clock.now += 360
    with pytest.raises(ClientAuthenticationError, match="AADSTS700024"):
        sign_in(TENANTS[0], env, entra, id_token=lambda: once)
    assert entra.exchanges == [(TENANTS[0], "id-1", "AADSTS700024")]


def test_every_tenant_has_its_own_credential_and_they_share_one_token_source(github, entra, clock):
    clock.now = time.time()  # the process's shared source reads the real clock
    env = env_of(github)
    first, second = credential_for(TENANTS[0], env), credential_for(TENANTS[1], env)
    assert isinstance(first.credential, azure.identity.ClientAssertionCredential)
    assert first.credential is not second.credential
    assert (first.tenant_id, second.tenant_id) == (TENANTS[0], TENANTS[1])
    assert [sign_in(tenant, env, entra) for tenant in TENANTS[:3]] == [f"access-token-for-{t}" for t in TENANTS[:3]]
    # Three exchanges, each in its own tenant, with one GitHub token (and one request to GitHub).
    assert entra.exchanges == [(TENANTS[0], "id-1", "ok"), (TENANTS[1], "id-1", "ok"), (TENANTS[2], "id-1", "ok")]
    assert oidc_requests(github) == 1
    source = github_id_token(env["ACTIONS_ID_TOKEN_REQUEST_URL"], OIDC_REQUEST_TOKEN)
    assert source.fetched == 1
    # The preview gate (issue 8) signs in with the same source, not a copy of it.
    gate = identity.credential(ProviderAuth(client_id=CLIENT, use_oidc=True, oidc_request_token=OIDC_REQUEST_TOKEN,
                                            oidc_request_url=env["ACTIONS_ID_TOKEN_REQUEST_URL"]), TENANTS[3])
    assert isinstance(gate.credential, azure.identity.ClientAssertionCredential)
    assert gate.credential._func is source


def test_the_request_token_is_never_logged_nor_in_a_message(github, entra, clock, caplog):
    caplog.set_level(logging.DEBUG)
    env = env_of(github)
    source = GitHubIdToken(env["ACTIONS_ID_TOKEN_REQUEST_URL"], OIDC_REQUEST_TOKEN, clock=clock)
    assert sign_in(TENANTS[0], env, entra, id_token=source) == f"access-token-for-{TENANTS[0]}"
    refused = GitHubIdToken(env["ACTIONS_ID_TOKEN_REQUEST_URL"], "wrong-request-token", clock=clock)
    with pytest.raises(CredentialError) as error:
        sign_in(TENANTS[1], env, entra, id_token=refused)
    assert str(error.value) == "GitHub Actions ID token: OIDC token request: HTTP 401: Bad credentials"
    # Libraries did log (azure-core's HTTP policy, urllib3), and never the request token.
    assert "login.microsoftonline.com" in caplog.text or "oauth2/v2.0/token" in caplog.text
    assert OIDC_REQUEST_TOKEN not in caplog.text and "wrong-request-token" not in caplog.text
    assert OIDC_REQUEST_TOKEN not in repr(source) and "wrong-request-token" not in str(error.value)
    assert repr(source) == f"GitHubIdToken({env['ACTIONS_ID_TOKEN_REQUEST_URL']!r}, audience='api://AzureADTokenExchange')"


def test_a_token_without_a_readable_expiry_is_used_once(github, clock):
    github.state.oidc_lifetime = None  # the stand-in answers an opaque OIDC_VALUE
    source = GitHubIdToken(f"{github.url}/oidc?api-version=2.0", OIDC_REQUEST_TOKEN, clock=clock)
    assert (source(), source(), source.fetched) == (OIDC_VALUE, OIDC_VALUE, 2)
    assert _jwt_expiry(OIDC_VALUE) is None and _jwt_expiry("no-dots") is None
    github.state.oidc_lifetime = 300
    assert _jwt_expiry(source()) == int(clock.now) + 300


def test_github_actions_is_chosen_when_its_token_request_variables_are_set():
    both = {"ACTIONS_ID_TOKEN_REQUEST_URL": "https://x/", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "t"}
    assert credential_kind(both) == "github"
    # Before a federated token file: in GitHub Actions that file can only be a token fetched once.
    assert credential_kind(both | {"AZURE_FEDERATED_TOKEN_FILE": "/t"}) == "github"
    assert credential_kind(both | {"AZURE_FEDERATED_TOKEN_FILE": "/t", "SAGE365_CREDENTIAL": "workload"}) == "workload"
    assert credential_kind({"ACTIONS_ID_TOKEN_REQUEST_URL": "https://x/"}) == "default"
    with pytest.raises(CredentialError, match="^the github credential needs AZURE_CLIENT_ID in the environment$"):
        credential_for(TENANTS[0], both)
    with pytest.raises(CredentialError, match="^the github credential needs ACTIONS_ID_TOKEN_REQUEST_URL, "
                                              "ACTIONS_ID_TOKEN_REQUEST_TOKEN in the environment$"):
        credential_for(TENANTS[0], {"SAGE365_CREDENTIAL": "github", "AZURE_CLIENT_ID": CLIENT})
