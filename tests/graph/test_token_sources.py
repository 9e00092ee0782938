"""Where every token comes from: the sandbox's static one and a credential's, through one function each."""

from __future__ import annotations

import asyncio

import pytest
from azure.core.credentials import AccessToken

from sage365.exchange.client import EXCHANGE_SCOPE, token_source
from sage365.exchange.tokens import sandbox_token, token_facts
from sage365.graph.connectors import GRAPH_SCOPE, BetaReader
from sage365.graph.guard import TenantCheckedCredential, TenantGuard, TenantStopped
from sage365.graph.rest import access_token, issued_token

TENANT = "11111111-1111-4111-8111-111111111111"
OTHER = "22222222-2222-4222-8222-222222222222"


class SyncCredential:
    """An azure-identity-like sync credential: records each call, answers a fixed AccessToken."""

    def __init__(self, token: str) -> None:
        self.answer = AccessToken(token, 4102444800)
        self.calls: list[tuple[tuple[str, ...], dict]] = []

    def get_token(self, *scopes, **kwargs):
        self.calls.append((scopes, kwargs))
        return self.answer


class AsyncCredential(SyncCredential):
    async def get_token(self, *scopes, **kwargs):  # azure.identity.aio's shape
        return SyncCredential.get_token(self, *scopes, **kwargs)


def test_the_sandbox_token_names_its_tenant_and_reads_back():
    assert sandbox_token(TENANT) == f"sandbox.{TENANT}"
    assert token_facts(sandbox_token(TENANT)).tenant_id == TENANT


def test_every_client_sends_the_same_sandbox_token():
    reader = BetaReader(TENANT, graph_url="http://127.0.0.1:1/v1.0", credential=None, http=None)
    assert asyncio.run(reader._token()) == f"sandbox.{TENANT}"
    assert asyncio.run(token_source(TENANT, sandbox=True)()) == f"sandbox.{TENANT}"
    with pytest.raises(ValueError, match="^a credential is required for the real Exchange Online$"):
        token_source(TENANT)


@pytest.mark.parametrize("kind", [SyncCredential, AsyncCredential])
def test_a_credential_s_token_is_asked_for_its_scope_alone(kind):
    credential = kind("the-token")
    assert asyncio.run(access_token(credential, GRAPH_SCOPE)) == "the-token"
    assert asyncio.run(token_source(TENANT, credential=credential)()) == "the-token"
    reader = BetaReader(TENANT, graph_url=None, credential=credential, http=None)
    assert asyncio.run(reader._token()) == "the-token"
    assert credential.calls == [((GRAPH_SCOPE,), {}), ((EXCHANGE_SCOPE,), {}), ((GRAPH_SCOPE,), {})]


@pytest.mark.parametrize("kind", [SyncCredential, AsyncCredential])
def test_issued_token_passes_scopes_and_options_and_keeps_the_access_token(kind):
    credential = kind("t")
    assert asyncio.run(issued_token(credential, "a", "b", claims="c", enable_cae=True)) is credential.answer
    assert credential.calls == [(("a", "b"), {"claims": "c", "enable_cae": True})]


@pytest.mark.parametrize("kind", [SyncCredential, AsyncCredential])
def test_the_tenant_checked_credential_hands_on_the_whole_access_token(kind):
    inner = kind(sandbox_token(TENANT))
    checked = TenantCheckedCredential(inner, TenantGuard(TENANT))
    assert asyncio.run(checked.get_token(GRAPH_SCOPE, tenant_id=OTHER)) is inner.answer
    assert inner.calls == [((GRAPH_SCOPE,), {"tenant_id": OTHER})]


@pytest.mark.parametrize("kind", [SyncCredential, AsyncCredential])
def test_the_tenant_checked_credential_stops_another_tenant_s_token(kind):
    guard = TenantGuard(TENANT)
    checked = TenantCheckedCredential(kind(sandbox_token(OTHER)), guard)
    message = (f"the credential returned a token for tenant {OTHER}, not for the declared tenant {TENANT}; "
               "that request and everything after it were not sent")
    with pytest.raises(TenantStopped) as stopped:
        asyncio.run(checked.get_token(EXCHANGE_SCOPE))
    assert str(stopped.value) == message and guard.violation == message
