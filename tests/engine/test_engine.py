"""The drift engine over real HTTP against the in-process Graph sandbox."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import time
from pathlib import Path

import pytest
from azure.core.credentials import AccessToken

from sage365 import engine
from sage365.catalog import load_catalog
from sage365.checks.ids import CHECK_IDS
from sage365.declaration import load_tenant
from sage365.findings import (
    Finding,
    Severity,
    Status,
    TenantResult,
    TenantStatus,
    exit_code,
)
from sage365.graph import reader
from sage365.snapshot import Part, Snapshot
from tests.sandbox_fixtures import CONTOSO, FABRIKAM, NORTHWIND

ROOT = Path(__file__).resolve().parents[2]
TODAY = dt.date(2026, 11, 28)
STRANGER = "44444444-4444-4444-8444-444444444444"  # declared, unknown to the sandbox


GRAPH_TWO = {"GET /organization": 1, "POST /$batch": 1}
CONNECTORS = "GET /beta/onPremisesPublishingProfiles/applicationProxy/connectors"


@pytest.fixture
def catalog():
    return load_catalog(ROOT / "catalog" / "catalog.yaml")


@pytest.fixture
def demo():
    return [load_tenant(ROOT / "tenants" / f"{n}.yaml") for n in ("contoso", "fabrikam", "northwind")]


def statuses(results: list[TenantResult]) -> list[tuple[str, TenantStatus]]:
    return [(r.name, r.status) for r in results]


def test_the_demo_fleet_is_checked_concurrently_in_order(demo_sandbox, demo, catalog):
    seen: list[str] = []
    results = asyncio.run(engine.check_tenants(demo, catalog, graph_url=demo_sandbox.base_url, today=TODAY,
                                               progress=lambda r: seen.append(r.name)))
    assert statuses(results) == [("contoso", TenantStatus.COMPLIANT), ("fabrikam", TenantStatus.DRIFT),
                                 ("northwind", TenantStatus.DRIFT)]
    assert sorted(seen) == ["contoso", "fabrikam", "northwind"]
    assert exit_code(results) == 1
    failing = [(r.name, f.check, f.resource) for r in results for f in r.findings if f.status is not Status.PASS]
    assert failing == [
        ("fabrikam", "admin.premium_licence", "admin@fabrikam.onmicrosoft.com"),
        ("fabrikam", "tenant.free_premium_seat", "fabrikam.onmicrosoft.com"),
        ("fabrikam", "connector.status", "FAB-SAGE100"),
        ("northwind", "tenant.subscription", "northwind.onmicrosoft.com"),
        ("northwind", "tenant.free_premium_seat", "northwind.onmicrosoft.com"),
        ("northwind", "consent.delegated_scopes", "sage-business-center"),
        ("northwind", "addin.members", "david@northwind-traders.fr"),
        ("northwind", "addin.deployment", "david@northwind-traders.fr"),
        ("northwind", "connector.status", "NW-SAGE100"),
    ]
    assert [f.status for r in results for f in r.findings if (r.name, f.check) == ("northwind", "tenant.subscription")] == [Status.WAIVED]
    counts = demo_sandbox.stats.snapshot()["requests"]["byTenantEndpoint"]
    # Graph v1.0: two round trips each. Beside them, only for tenants that need them: one
    # Exchange call (add-ins declared) and one Graph beta read (connector declared).
    extras = {"POST /adminapi/beta/{tenantId}/InvokeCommand": 1, CONNECTORS: 1}
    # fabrikam: no add-in; its connector read is refused (403), then the fallback's one read.
    refused = {CONNECTORS: 1, "GET /beta/reports/servicePrincipalSignInActivities": 1}
    assert counts == {CONTOSO: {**GRAPH_TWO, **extras}, FABRIKAM: {**GRAPH_TWO, **refused},
                      NORTHWIND: {**GRAPH_TWO, **extras}}


def test_one_unreadable_tenant_does_not_affect_the_others(demo_sandbox, demo, catalog):
    stranger = dataclasses.replace(demo[0], name="stranger", tenant_id=STRANGER)
    results = asyncio.run(engine.check_tenants([stranger, *demo], catalog, graph_url=demo_sandbox.base_url, today=TODAY))
    assert statuses(results) == [("stranger", TenantStatus.ERROR), ("contoso", TenantStatus.COMPLIANT),
                                 ("fabrikam", TenantStatus.DRIFT), ("northwind", TenantStatus.DRIFT)]
    assert exit_code(results) == 2
    assert {f.status for f in results[0].findings} == {Status.ERROR}
    assert results[0].findings[0].message == (
        f"Could not read administrator: authentication failed for tenant {STRANGER}: 401 InvalidAuthenticationToken: "
        f"Access token validation failure: tenant '{STRANGER}' is not known to this sandbox.; nothing was read"
    )


class TokenFor:
    def __init__(self, tenant_id: str) -> None:
        self.tenant_id = tenant_id

    def get_token(self, *scopes, **kwargs) -> AccessToken:
        return AccessToken(f"sandbox.{self.tenant_id}", int(time.time()) + 3600)


def test_a_credential_of_the_wrong_tenant_reads_nothing_more_and_spares_the_others(demo_sandbox, demo, catalog):
    # fabrikam's declaration gets contoso's credentials: a partner's copy-paste mistake.
    factory = lambda tenant_id: TokenFor(CONTOSO if tenant_id == FABRIKAM else tenant_id)  # noqa: E731
    results = asyncio.run(engine.check_tenants(demo, catalog, graph_url=demo_sandbox.base_url, credential_factory=factory,
                                               today=TODAY))
    assert statuses(results) == [("contoso", TenantStatus.COMPLIANT), ("fabrikam", TenantStatus.ERROR),
                                 ("northwind", TenantStatus.DRIFT)]
    message = (f"the credential returned a token for tenant {CONTOSO}, not for the declared tenant {FABRIKAM}; "
               "that request and everything after it were not sent")
    assert results[1].findings[0].message == f"Could not read administrator: {message}"
    assert {f.status for f in results[1].findings} == {Status.ERROR}
    assert all(f.message.endswith(f": {message}") for f in results[1].findings)
    counts = demo_sandbox.stats.snapshot()["requests"]["byTenantEndpoint"]
    # contoso's own read only: fabrikam's token is checked before its first request and never sent.
    extras = {"POST /adminapi/beta/{tenantId}/InvokeCommand": 1, CONNECTORS: 1}
    assert counts == {CONTOSO: {"GET /organization": 1, "POST /$batch": 1, **extras},
                      NORTHWIND: {"GET /organization": 1, "POST /$batch": 1, **extras}}


def test_concurrency_is_bounded(demo_sandbox, demo, catalog, monkeypatch):
    active, peak = 0, 0
    original = reader.read_snapshot

    async def counting(*args, **kwargs):
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        try:
            await asyncio.sleep(0.05)
            return await original(*args, **kwargs)
        finally:
            active -= 1

    monkeypatch.setattr(reader, "read_snapshot", counting)
    fleet = [dataclasses.replace(t, name=f"{t.name}-{i}") for i in range(4) for t in demo]
    results = asyncio.run(engine.check_tenants(fleet, catalog, graph_url=demo_sandbox.base_url, concurrency=3, today=TODAY))
    assert peak == 3
    assert [r.name for r in results] == [t.name for t in fleet]
    with pytest.raises(ValueError, match="concurrency must be at least 1"):
        asyncio.run(engine.check_tenants(fleet, catalog, concurrency=0, today=TODAY))


def test_check_tenant_is_synchronous_even_inside_a_running_loop(demo_sandbox, demo, catalog):
    fabrikam = demo[1]
    direct = engine.check_tenant(fabrikam, catalog, graph_url=demo_sandbox.base_url, today=TODAY)

    async def inside_a_loop() -> TenantResult:
        return engine.check_tenant(fabrikam, catalog, graph_url=demo_sandbox.base_url, today=TODAY, lang="fr")

    in_loop = asyncio.run(inside_a_loop())
    assert (direct.status, in_loop.status) == (TenantStatus.DRIFT, TenantStatus.DRIFT)
    assert [f.check for f in direct.findings] == [f.check for f in in_loop.findings]
    assert direct.findings != in_loop.findings  # French messages


def test_a_failing_credential_is_a_redacted_error(demo, catalog):
    def factory(tenant_id: str):
        raise RuntimeError("AADSTS7000215: invalid client secret provided; client_secret=abc123~xyz")

    snapshot = asyncio.run(engine.read_tenant(demo[0], catalog, credential_factory=factory))
    message = f"no credential for tenant {CONTOSO}: AADSTS7000215: invalid client secret provided; client_secret=[redacted]"
    assert snapshot == Snapshot(tenant_id=CONTOSO, errors={part: message for part in Part})


def test_a_crash_in_the_checks_is_an_error_for_every_check(demo, catalog, monkeypatch):
    import sage365.checks

    def broken(*args, **kwargs):
        raise KeyError("boom")

    monkeypatch.setattr(sage365.checks, "result", broken)
    result = engine.evaluate(demo[0], catalog, Snapshot(tenant_id=CONTOSO), today=TODAY)
    message = "the checks could not run: KeyError: 'boom'"
    assert result == TenantResult("contoso", CONTOSO, demo[0].path, tuple(
        Finding("contoso", check, Status.ERROR, Severity.HIGH, CONTOSO, message=message) for check in CHECK_IDS
    ))
    assert result.status is TenantStatus.ERROR


def test_a_client_that_cannot_be_built_is_this_tenants_error_only(demo_sandbox, demo, catalog, monkeypatch):
    from sage365.graph import client

    original = client.make_http_client

    def broken(base_url: str, **kwargs):
        if "broken" in base_url:
            raise ValueError("invalid URL 'http://broken['")
        return original(base_url, **kwargs)

    monkeypatch.setattr(client, "make_http_client", broken)
    snapshot = asyncio.run(engine.read_tenant(demo[0], catalog, graph_url="http://broken[/v1.0"))
    message = f"cannot read tenant {CONTOSO}: ValueError: invalid URL 'http://broken['"
    assert snapshot == Snapshot(tenant_id=CONTOSO, errors={part: message for part in Part})


def test_a_credential_that_fails_to_close_does_not_undo_the_read(demo_sandbox, demo, catalog):
    class TokenThenBrokenClose:
        def get_token(self, *scopes, **kwargs) -> AccessToken:
            return AccessToken(f"sandbox.{FABRIKAM}", int(time.time()) + 3600)

        def close(self) -> None:
            raise OSError("socket already closed")

    # Made by the factory, so owned and closed by the engine: the failing close is swallowed.
    snapshot = asyncio.run(engine.read_tenant(demo[1], catalog, graph_url=demo_sandbox.base_url, extras=True,
                                              credential_factory=lambda tenant_id: TokenThenBrokenClose()))
    result = engine.evaluate(demo[1], catalog, snapshot, today=TODAY)
    assert result.status is TenantStatus.DRIFT
    assert [f.check for f in result.findings if f.status is Status.FAIL] == [
        "admin.premium_licence", "tenant.free_premium_seat", "connector.status"]


def test_a_callers_credential_is_used_but_left_open(demo_sandbox, demo, catalog):
    class Counting:
        closed = 0

        def get_token(self, *scopes, **kwargs) -> AccessToken:
            return AccessToken(f"sandbox.{FABRIKAM}", int(time.time()) + 3600)

        def close(self) -> None:
            Counting.closed += 1

    owned_by_caller = Counting()
    engine.check_tenant(demo[1], catalog, graph_url=demo_sandbox.base_url, credential=owned_by_caller, today=TODAY)
    assert Counting.closed == 0
    asyncio.run(engine.read_tenant(demo[1], catalog, graph_url=demo_sandbox.base_url,
                                   credential_factory=lambda tenant_id: Counting()))
    assert Counting.closed == 1


def test_a_socks_proxy_setting_is_each_tenants_one_line_error_and_sends_nothing(demo, catalog, monkeypatch):
    """sage365 goes through HTTP proxies only: a SOCKS setting is named, not tried, not retried."""
    from sage365.graph import http

    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY", "https_proxy", "http_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", "socks5://127.0.0.1:9")
    http._proxy.cache_clear()
    try:
        snapshot = asyncio.run(engine.read_tenant(demo[0], catalog, graph_url="http://graph.invalid/v1.0"))
    finally:
        http._proxy.cache_clear()
    message = (f"cannot read tenant {CONTOSO}: ProxySettingError: the proxy set for http:// addresses is a socks5:// "
               "proxy; sage365 goes through HTTP proxies only (HTTPS_PROXY=http://host:port)")
    assert snapshot.errors == {part: message for part in Part}
