"""Who is a user and who holds Global Administrator tenant-wide: export decides as drift does
(sage365.graph.mapping), on Graph's JSON.

The demo sandbox answers; between it and discovery, Graph's own answers that the sandbox does
not give are written into its $batch responses: members the app may see only in part (Graph's
"limited information": @odata.type and id, every other property null), objects whose
annotations a proxy stripped, a role-assignable group holding the role, an assignment scoped
to an administrative unit.
"""

from __future__ import annotations

import asyncio
import json

import httpx
from msgraph_core import GraphClientFactory

from sage365.graph.client import graph_client
from sage365.onboarding.declare import declare
from sage365.onboarding.discovery import discover
from sage365.onboarding.state import tenant_state
from tests.sandbox_fixtures import CONTOSO

GA_ROLE = "62e90394-69f5-4237-9190-012177145e10"
ADMIN = "10000000-0001-4000-8000-000000000001"  # the demo's direct Global Administrator
CAROLE = "10000000-0001-4000-8000-000000000004"
ANCIEN = "10000000-0001-4000-8000-000000000005"
ADDIN_GROUP = "10000000-0002-4000-8000-000000000001"  # "Sage Contact users": alice, bob
ROLE_GROUP = "10000000-0002-4000-8000-0000000000aa"  # role-assignable, not in the demo state
SP = "10000000-0003-4000-8000-0000000000aa"
DEVICE = "10000000-0005-4000-8000-0000000000aa"
NO_TYPE_UPN = "10000000-0001-4000-8000-0000000000a1"
NO_TYPE_EMPTY_UPN = "10000000-0001-4000-8000-0000000000a2"
NO_TYPE_NULL_UPN = "10000000-0001-4000-8000-0000000000a3"

# Graph's limited-information members: typed, UPN null.
SP_PART = {"@odata.type": "#microsoft.graph.servicePrincipal", "id": SP, "userPrincipalName": None, "displayName": None}
DEVICE_PART = {"@odata.type": "#microsoft.graph.device", "id": DEVICE, "userPrincipalName": None}
# Annotations stripped (a proxy): the UPN alone says "user" when it is not null.
NO_TYPE = [{"id": NO_TYPE_UPN, "userPrincipalName": "dave@contoso.fr", "displayName": "Dave"},
           {"id": NO_TYPE_EMPTY_UPN, "userPrincipalName": ""},
           {"id": NO_TYPE_NULL_UPN, "userPrincipalName": None}]


def assignment(aid: str, principal: dict, scope: str = "/") -> dict:
    return {"id": aid, "principalId": principal["id"], "roleDefinitionId": GA_ROLE, "directoryScopeId": scope,
            "principal": principal}


EXTRA_ASSIGNMENTS = [
    assignment("ra-group", {"@odata.type": "#microsoft.graph.group", "id": ROLE_GROUP, "displayName": "Admins",
                            "isAssignableToRole": True}),
    assignment("ra-unit", {"@odata.type": "#microsoft.graph.user", "id": CAROLE,
                           "userPrincipalName": "carole@contoso.fr"}, scope="/administrativeUnits/au-1"),
    assignment("ra-untyped", {"id": ANCIEN, "userPrincipalName": "ancien@contoso.fr"}),
]


class Rewriting:
    """Forwards every request to the sandbox, then writes Graph's answers into its $batch items."""

    def __init__(self, sandbox_url: str) -> None:
        self.sandbox = httpx.Client(base_url=sandbox_url)
        self.item_urls: list[list[str]] = []  # per $batch sent: its items' URLs

    def __call__(self, request: httpx.Request) -> httpx.Response:
        items = json.loads(request.content)["requests"]
        self.item_urls.append([i["url"] for i in items])
        ours = {i["id"]: i for i in items if i["url"].startswith(f"/groups/{ROLE_GROUP}/members")}
        forwarded = [i for i in items if i["id"] not in ours]
        answers = []
        if forwarded:
            sent = self.sandbox.post("/v1.0/$batch", json={"requests": forwarded},
                                     headers={"Authorization": request.headers["authorization"]})
            answers = sent.json()["responses"]
        for answer in answers:
            url = next(i["url"] for i in forwarded if i["id"] == answer["id"])
            body = answer.get("body")
            if url.startswith("/roleManagement/directory/roleAssignments"):
                body["value"] += EXTRA_ASSIGNMENTS
            elif url.startswith("/groups?"):
                for group in body["value"]:
                    if group["id"] == ADDIN_GROUP:
                        group["members"] += [SP_PART, DEVICE_PART, *NO_TYPE]
        answers += [{"id": rid, "status": 200, "headers": {"Content-Type": "application/json"},
                     "body": {"value": [SP_PART, DEVICE_PART, *NO_TYPE,
                                        {"@odata.type": "#microsoft.graph.user", "id": ADMIN,
                                         "userPrincipalName": "admin@contoso.onmicrosoft.com"}]}}
                    for rid in ours]
        return httpx.Response(200, json={"responses": answers})


def run(demo_sandbox, catalog):
    rewriting = Rewriting(demo_sandbox.url)
    base = demo_sandbox.base_url

    async def go():
        http = GraphClientFactory.create_with_default_middleware(
            client=httpx.AsyncClient(transport=httpx.MockTransport(rewriting), base_url=base))
        client = graph_client(CONTOSO, graph_url=base, http_client=http)
        try:
            return await discover(client.request_adapter, CONTOSO, catalog)
        finally:
            await http.aclose()

    return asyncio.run(go()), rewriting


def test_only_users_are_read_as_administrators_and_only_tenant_wide(demo_sandbox, catalog):
    found, rewriting = run(demo_sandbox, catalog)
    user_reads = [[u for u in batch if u.startswith("/users/")] for batch in rewriting.item_urls]
    # Round trip 3 reads the direct holders: the typed one and the untyped one with a UPN, not
    # the one scoped to an administrative unit. Round trip 4 reads the role group's user members
    # who hold it through the group alone: the untyped one with a UPN (its "" UPN, too), never
    # the service principal or the device that Graph showed only in part, nor the null UPN.
    assert [sorted({u.split("?")[0].split("/")[2] for u in batch}) for batch in user_reads] == [
        [], [], [ADMIN, ANCIEN], [NO_TYPE_UPN, NO_TYPE_EMPTY_UPN]]
    assert found.round_trips == 4
    # The sandbox knows neither untyped member (404: deleted between reads, no candidate).
    assert [(c.user["id"], (c.via_group or {}).get("id")) for c in found.candidates] == [(ADMIN, None), (ANCIEN, None)]
    assert [m["id"] for g in found.role_groups for m in g.members] == [SP, DEVICE, *(m["id"] for m in NO_TYPE), ADMIN]


def test_add_in_members_are_declared_by_the_same_rule(demo_sandbox, catalog):
    found, _ = run(demo_sandbox, catalog)
    text = declare(found, catalog, name="contoso").tenant_yaml
    entry = text[text.index("  addins:"):text.index("  # No application proxy connector")]
    # Untyped with a UPN, even "", is a user, as drift reads it (sage365.graph.mapping.is_user):
    # so drift reports addin.members for the "" member, as its comment says. Typed members are
    # what their type says, whatever else Graph sent; an untyped one without a UPN is no user.
    assert entry.splitlines() == [
        "  addins:",
        "    - app: sage-contact",
        "      group:",
        "        displayName: Sage Contact users",
        "      # Member \"\" cannot be declared (not a UPN on the tenant's verified domains, such as a guest): "
        "drift will report addin.members",
        f"      # Member \"{NO_TYPE_NULL_UPN}\" (\"unknown type\") is not a user: not declared",
        f"      # Member \"{SP}\" (\"#microsoft.graph.serviceprincipal\") is not a user: not declared",
        f"      # Member \"{DEVICE}\" (\"#microsoft.graph.device\") is not a user: not declared",
        "      # sage-contact's add-in is not deployed through Centralized Deployment (Exchange organization apps): "
        "drift will report addin.deployment",
        "      users:",
        "        - alice@contoso.fr",
        "        - bob@contoso.fr",
        "        - dave@contoso.fr",
    ]

def test_the_replayable_state_holds_users_by_the_same_rule(demo_sandbox, catalog):
    found, _ = run(demo_sandbox, catalog)
    tenant, members = tenant_state(found)
    users = {u["id"]: u.get("userPrincipalName") for u in tenant["users"]}
    # Untyped with a UPN: kept as users; with an empty or null one the state cannot hold them.
    assert NO_TYPE_UPN in users and NO_TYPE_EMPTY_UPN not in users and NO_TYPE_NULL_UPN not in users
    assert SP not in users and DEVICE not in users
    assert members[ADDIN_GROUP] == sorted([NO_TYPE_UPN, "10000000-0001-4000-8000-000000000002",
                                           "10000000-0001-4000-8000-000000000003"])
    assert members[ROLE_GROUP] == sorted([ADMIN, NO_TYPE_UPN])


def test_an_assignment_whose_principal_is_not_an_object_reads_no_one(demo_sandbox, catalog, monkeypatch):
    """Graph's answer holding a string, a list or null where the expanded principal goes: that
    assignment names no user and no group to read, and discovery goes on."""
    import tests.onboarding.test_member_rules as here

    odd = [{"id": f"ra-odd-{n}", "principalId": pid, "roleDefinitionId": GA_ROLE, "directoryScopeId": "/",
            "principal": principal}
           for n, (pid, principal) in enumerate([(CAROLE, "carole@contoso.fr"), (ANCIEN, [ANCIEN]), (ROLE_GROUP, None)])]
    monkeypatch.setattr(here, "EXTRA_ASSIGNMENTS", odd)
    found, rewriting = run(demo_sandbox, catalog)
    user_reads = [[u for u in batch if u.startswith("/users/")] for batch in rewriting.item_urls]
    assert [sorted({u.split("?")[0].split("/")[2] for u in batch}) for batch in user_reads] == [[], [], [ADMIN]]
    assert [c.user["id"] for c in found.candidates] == [ADMIN]
