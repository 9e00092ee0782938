"""read_snapshot over real HTTP against the in-process Graph sandbox."""

from __future__ import annotations

import asyncio
import dataclasses
import time

from azure.core.credentials import AccessToken

from sage365.declaration import Administrator
from sage365.engine import read_tenant
from sage365.sandbox.faults import Faults
from sage365.snapshot import (
    AppRole,
    AppRoleAssignment,
    Group,
    LicenceDetail,
    Part,
    PermissionGrant,
    ServicePlan,
    ServicePrincipal,
    Snapshot,
    SubscribedSku,
    User,
)
from tests.graph.conftest import ALPHA, BETA

P1 = ServicePlan("41781fb2-bc02-4b7c-bd55-b576c07bb09d", "AAD_PREMIUM", "Success")
GRAPH_SP = ServicePrincipal(
    id="a0000000-0000-4000-8000-0000000000a0", app_id="00000003-0000-0000-c000-000000000000", display_name="Microsoft Graph",
    app_roles=(AppRole("df021288-bdef-4463-88db-98f22de89214", "User.Read.All", ("Application",)),),
)
SBC = ServicePrincipal("a0000000-0000-4000-8000-0000000000a1", "00000000-5a6e-4000-8000-000000000001", "Sage Business Center")
CONTACT = ServicePrincipal(
    "a0000000-0000-4000-8000-0000000000a2", "00000000-5a6e-4000-8000-000000000002", "Sage Contact",
    account_enabled=False, app_role_assignment_required=True,
)
ADMIN = User("a0000000-0000-4000-8000-000000000001", "admin@alpha.fr", "Alpha Admin")
ANNE = User("a0000000-0000-4000-8000-000000000002", "anne@alpha.fr", "Anne")
# Disabled, but expanded members carry Graph's default properties, without accountEnabled.
PAUL = User("a0000000-0000-4000-8000-000000000003", "paul@alpha.fr", "Paul")

ALPHA_SNAPSHOT = Snapshot(
    tenant_id=ALPHA,
    organization_name="Alpha SARL",
    verified_domains=("alpha.onmicrosoft.com", "alpha.fr"),
    administrator=ADMIN,
    administrator_licences=(LicenceDetail("078d2b04-f1bd-4111-bbd4-b4b1b354cef4", "AAD_PREMIUM", (P1,)),),
    # ra-2 is scoped to an administrative unit, ra-3 is another role: neither counts.
    global_administrator_ids=frozenset({ADMIN.id}),
    subscribed_skus=(
        SubscribedSku("cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46", "SPB", "Enabled", 5, 3, (P1,)),
        SubscribedSku("078d2b04-f1bd-4111-bbd4-b4b1b354cef4", "AAD_PREMIUM", "Enabled", 1, 1, ()),
    ),
    graph_service_principal=GRAPH_SP,
    # sage-connector is declared but has no service principal: absent, not an error.
    service_principals={SBC.app_id: SBC, CONTACT.app_id: CONTACT},
    grants={
        SBC.id: (PermissionGrant("grant-1", SBC.id, GRAPH_SP.id, "AllPrincipals", None,
                                 frozenset({"openid", "profile", "offline_access", "User.Read"})),),
        CONTACT.id: (PermissionGrant("grant-2", CONTACT.id, GRAPH_SP.id, "Principal", ANNE.id, frozenset({"Mail.Read"})),),
    },
    app_role_assignments={
        SBC.id: (AppRoleAssignment("ara-1", SBC.id, "ServicePrincipal", GRAPH_SP.id, "df021288-bdef-4463-88db-98f22de89214"),),
        CONTACT.id: (),
    },
    groups={
        "Sage Contact users": Group("a0000000-0000-4000-8000-0000000000b1", "Sage Contact users", True, (ANNE, PAUL)),
        "Someone's group": Group("a0000000-0000-4000-8000-0000000000b2", "Someone's group", True, (ADMIN,)),
    },
    # The declared add-in users, found by one `userPrincipalName in (...)` filter.
    users={"admin@alpha.fr": ADMIN, "anne@alpha.fr": ANNE},
    # sage-contact requires assignment: who is assigned to it (nobody here).
    app_role_assigned_to={CONTACT.id: ()},
)


def read(server, tenant, catalog, **kwargs) -> Snapshot:
    return asyncio.run(read_tenant(tenant, catalog, graph_url=server.base_url, **kwargs))


def test_a_tenant_is_read_exactly_in_two_round_trips(start_sandbox, alpha, catalog):
    server = start_sandbox()
    assert read(server, alpha, catalog) == ALPHA_SNAPSHOT
    assert server.stats.snapshot()["requests"]["byTenantEndpoint"] == {ALPHA: {"GET /organization": 1, "POST /$batch": 1}}
    # 18 Graph operations ride in the one batch: user, licences, roles, SKUs, 4 service
    # principals, 3 x grants and app role assignments, sage-contact's assignments, 2 groups,
    # the add-in users.
    assert server.stats.operations(ALPHA) == 1 + 18


class TokenFor:
    """An azure-identity-like credential whose token is the sandbox's token for `tenant_id`."""

    def __init__(self, tenant_id: str) -> None:
        self.tenant_id = tenant_id

    def get_token(self, *scopes, **kwargs) -> AccessToken:
        return AccessToken(f"sandbox.{self.tenant_id}", int(time.time()) + 3600)


def test_credentials_of_another_tenant_are_an_error_and_nothing_more_is_sent(start_sandbox, alpha, catalog):
    server = start_sandbox()
    snapshot = read(server, alpha, catalog, credential=TokenFor(BETA))
    message = (f"the credential returned a token for tenant {BETA}, not for the declared tenant {ALPHA}; "
               "that request and everything after it were not sent")
    assert snapshot == Snapshot(tenant_id=ALPHA, errors={part: message for part in Part})
    # The token's tenant is checked before each request: beta's token never leaves the process.
    assert server.stats.snapshot()["requests"]["byTenantEndpoint"] == {}


def test_an_unknown_token_is_an_authentication_error_and_nothing_more_is_sent(start_sandbox, alpha, catalog):
    server = start_sandbox()
    unknown = "cccccccc-cccc-4ccc-8ccc-cccccccccccc"  # a tenant the sandbox does not hold: its token is refused
    snapshot = read(server, dataclasses.replace(alpha, tenant_id=unknown), catalog, credential=TokenFor(unknown))
    message = (
        f"authentication failed for tenant {unknown}: 401 InvalidAuthenticationToken: Access token validation failure: "
        f"tenant '{unknown}' is not known to this sandbox.; nothing was read"
    )
    assert snapshot == Snapshot(tenant_id=unknown, errors={part: message for part in Part})
    assert server.stats.snapshot()["requests"]["byTenantEndpoint"] == {"-": {"GET /organization": 1}}


def test_a_missing_administrator_is_read_as_absent(start_sandbox, alpha, catalog):
    server = start_sandbox()
    ghost = dataclasses.replace(alpha, administrator=Administrator("ghost@alpha.fr"))
    snapshot = read(server, ghost, catalog)
    assert (snapshot.administrator, snapshot.administrator_licences, snapshot.errors) == (None, (), {})
    assert snapshot == dataclasses.replace(ALPHA_SNAPSHOT, administrator=None, administrator_licences=())


def test_throttled_batch_items_are_retried_honouring_retry_after(start_sandbox, alpha, catalog):
    server = start_sandbox(faults=Faults(batch_item_throttle_every=5, retry_after=1))
    started = time.monotonic()
    assert read(server, alpha, catalog) == ALPHA_SNAPSHOT
    elapsed = time.monotonic() - started
    # 18 items: the 5th, 10th and 15th answer 429 (Retry-After: 1); in the retry batch of 3,
    # the 20th item overall is throttled again and passes in a third batch.
    assert server.stats.faults("batch-item-429") == 4
    assert server.stats.snapshot()["requests"]["byTenantEndpoint"] == {ALPHA: {"GET /organization": 1, "POST /$batch": 3}}
    assert elapsed >= 2.0


def test_paged_collections_are_followed(start_sandbox, alpha, catalog):
    server = start_sandbox(page_size=1)
    assert read(server, alpha, catalog) == ALPHA_SNAPSHOT
    # Rounds: the batch, then the second pages of the SKUs and the role assignments.
    assert server.stats.requests(ALPHA, "POST /$batch") == 2


def test_a_large_group_is_read_in_full_beyond_expands_20_members(start_sandbox, catalog, alpha):
    users = [{"id": f"a0000000-0000-4000-8000-1000000000{i:02d}", "userPrincipalName": f"u{i}@alpha.fr", "displayName": f"U{i}"}
             for i in range(25)]
    state = {"tenants": {ALPHA: {
        "organization": [{"id": ALPHA, "displayName": "Alpha"}],
        "users": [{"id": ADMIN.id, "userPrincipalName": ADMIN.user_principal_name}, *users],
        "groups": [{"id": "g1", "displayName": "Sage Contact users", "members": [u["id"] for u in users]}],
    }}}
    server = start_sandbox(state)
    snapshot = read(server, alpha, catalog)
    assert [m.user_principal_name for m in snapshot.groups["Sage Contact users"].members] == [f"u{i}@alpha.fr" for i in range(25)]
    assert server.stats.requests(ALPHA, "POST /$batch") == 2
    assert server.stats.operations(ALPHA, "GET /groups/{id}/members") == 1


def test_reads_alongside_run_during_the_batch_after_the_tenant_is_confirmed(start_sandbox, alpha, catalog, monkeypatch):
    """The batch cannot finish before the alongside read has started: run one after the
    other, this would time out instead of returning."""
    from sage365.graph import client as graph
    from sage365.graph import reader

    server = start_sandbox()
    started = asyncio.Event()
    original = reader.send_batch
    seen: list[str] = []

    async def batch_waiting_for_alongside(*args, **kwargs):
        await asyncio.wait_for(started.wait(), 10)
        return await original(*args, **kwargs)

    async def alongside():
        seen.append(str(server.stats.requests(ALPHA, "GET /organization")))  # confirmed first
        started.set()
        return lambda snapshot: dataclasses.replace(snapshot, organization_name="read alongside")

    monkeypatch.setattr(reader, "send_batch", batch_waiting_for_alongside)

    async def go():
        http = graph.make_http_client(server.base_url)
        try:
            return await reader.read_snapshot(graph.graph_client(ALPHA, graph_url=server.base_url, http_client=http),
                                              alpha, catalog, alongside=alongside)
        finally:
            await http.aclose()

    assert asyncio.run(go()) == dataclasses.replace(ALPHA_SNAPSHOT, organization_name="read alongside")
    assert seen == ["1"]
