"""Tenant binding on every request, through the engine with an azure-identity-shaped credential.

A credential is the boundary to azure-identity (get_token -> AccessToken); here it hands
out real-shaped JWTs whose `tid` changes mid-run, as a misconfigured or hostile credential
would. The server records every Authorization header it receives.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import time

from azure.core.credentials import AccessToken

from sage365 import engine
from sage365.catalog import load_catalog
from sage365.declaration import load_tenant
from sage365.findings import Status
from tests.hostile.server import HostileServer, Reply, Request
from tests.hostile.support import CONTOSO, CONTOSO_FILE, ROOT

FABRIKAM = "22222222-2222-4222-8222-222222222222"
ORGANIZATION = {"value": [{"id": CONTOSO, "displayName": "Contoso", "verifiedDomains": [
    {"name": "contoso.onmicrosoft.com", "isDefault": True, "isInitial": True, "type": "Managed"}]}]}


def jwt(claims: dict) -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


class Tokens:
    """Hands out `tokens` in turn, the last one for ever (azure-identity's TokenCredential shape)."""

    def __init__(self, *tokens: str) -> None:
        self.tokens = list(tokens)
        self.calls = 0

    def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
        token = self.tokens[min(self.calls, len(self.tokens) - 1)]
        self.calls += 1
        return AccessToken(token, int(time.time()) + 3600)


def organization_only(request: Request) -> Reply:
    if request.path.endswith("/organization"):
        return Reply(200, json=ORGANIZATION)
    return Reply(200, json={"responses": []})


def check(credential: Tokens, server: HostileServer):
    tenant = load_tenant(ROOT / CONTOSO_FILE)
    catalog = load_catalog(ROOT / "catalog" / "catalog.yaml")
    [result] = asyncio.run(engine.check_tenants([tenant], catalog, graph_url=server.base_url,
                                                credential_factory=lambda tenant_id: credential,
                                                today=dt.date(2026, 11, 28)))
    return result


def test_a_token_for_another_tenant_mid_run_is_never_sent():
    own, other = jwt({"tid": CONTOSO, "oid": "x"}), jwt({"tid": FABRIKAM, "oid": "x"})
    with HostileServer(organization_only) as server:
        result = check(Tokens(own, other), server)
    # GET /organization went with contoso's token; the batch would have carried fabrikam's: not sent.
    assert [(r.method, r.path, r.authorization) for r in server.requests] == [
        ("GET", "/v1.0/organization", f"Bearer {own}")]
    message = (f"the credential returned a token for tenant {FABRIKAM}, not for the declared tenant {CONTOSO}; "
               "that request and everything after it were not sent")
    assert {f.status for f in result.findings} == {Status.ERROR}
    assert {f.message.split(": ", 1)[1] for f in result.findings} == {message}


def test_a_token_that_names_no_tenant_is_never_sent():
    with HostileServer(organization_only) as server:
        result = check(Tokens(jwt({"oid": "x"})), server)
    assert server.requests == []
    assert {f.message.split(": ", 1)[1] for f in result.findings} == {
        "the access token does not say which tenant it belongs to (no tid claim); nothing more was sent"}
