"""The reader's edge cases: Global Administrator held through a group, 404s that are not
absences, and add-in groups whose display name is ambiguous."""

from __future__ import annotations

import asyncio
import datetime as dt

import yaml

from sage365.engine import evaluate, read_tenant
from sage365.graph import shapes
from sage365.graph.batch import BatchResponse
from sage365.graph.reader import build_snapshot
from sage365.snapshot import Part
from tests.graph.conftest import ALPHA, FIXTURES
from tests.graph.test_reader import ADMIN, ALPHA_SNAPSHOT, ANNE
from tests.graph.test_reader_errors import empty_responses

GA = "62e90394-69f5-4237-9190-012177145e10"
ADMINS_GROUP = "a0000000-0000-4000-8000-0000000000c1"


def alpha_state(role_assignments: list[dict], extra_groups: list[dict] = ()) -> dict:
    state = yaml.safe_load((FIXTURES / "state.yaml").read_text())
    tenant = state["tenants"][ALPHA]
    tenant["roleAssignments"] = role_assignments
    tenant["groups"] += list(extra_groups)
    return state


def read(server, tenant, catalog):
    return asyncio.run(read_tenant(tenant, catalog, graph_url=server.base_url))


def test_the_role_held_through_a_group_counts_at_the_cost_of_one_more_round_trip(start_sandbox, alpha, catalog):
    state = alpha_state(
        [{"id": "ra-g", "roleDefinitionId": GA, "principalId": ADMINS_GROUP, "directoryScopeId": "/"}],
        [{"id": ADMINS_GROUP, "displayName": "Global admins", "isAssignableToRole": True,
          "members": ["admin@alpha.fr", "anne@alpha.fr"]}],
    )
    server = start_sandbox(state)
    snapshot = read(server, alpha, catalog)
    assert snapshot.global_administrator_ids == frozenset({ADMINS_GROUP, ADMIN.id, ANNE.id})
    assert snapshot.errors == {}
    assert server.stats.requests(ALPHA, "POST /$batch") == 2
    assert server.stats.operations(ALPHA, "GET /groups/{id}/members") == 1


def test_a_group_holding_the_role_is_not_read_when_the_administrator_holds_it_directly(start_sandbox, alpha, catalog):
    state = alpha_state(
        [{"id": "ra-1", "roleDefinitionId": GA, "principalId": ADMIN.id, "directoryScopeId": "/"},
         {"id": "ra-g", "roleDefinitionId": GA, "principalId": ADMINS_GROUP, "directoryScopeId": "/"}],
        [{"id": ADMINS_GROUP, "displayName": "Global admins", "members": ["anne@alpha.fr"]}],
    )
    server = start_sandbox(state)
    snapshot = read(server, alpha, catalog)
    assert snapshot.global_administrator_ids == frozenset({ADMIN.id, ADMINS_GROUP})
    assert server.stats.requests(ALPHA, "POST /$batch") == 1


def test_a_group_holding_the_role_on_an_administrative_unit_only_does_not_count(start_sandbox, alpha, catalog):
    state = alpha_state(
        [{"id": "ra-g", "roleDefinitionId": GA, "principalId": ADMINS_GROUP, "directoryScopeId": "/administrativeUnits/au"}],
        [{"id": ADMINS_GROUP, "displayName": "Global admins", "members": ["admin@alpha.fr"]}],
    )
    server = start_sandbox(state)
    snapshot = read(server, alpha, catalog)
    assert (snapshot.global_administrator_ids, snapshot.errors) == (frozenset(), {})
    assert server.stats.requests(ALPHA, "POST /$batch") == 1


def test_two_groups_with_the_add_in_groups_name_are_an_error_not_a_guess(start_sandbox, alpha, catalog):
    # Graph's displayName filter ignores case: both groups answer the declared name.
    state = alpha_state(
        [{"id": "ra-1", "roleDefinitionId": GA, "principalId": ADMIN.id, "directoryScopeId": "/"}],
        [{"id": "a0000000-0000-4000-8000-0000000000b9", "displayName": "SAGE CONTACT USERS", "members": []}],
    )
    server = start_sandbox(state)
    snapshot = read(server, alpha, catalog)
    assert (snapshot.errors, snapshot.item_errors) == ({}, {})
    assert {name: [(g.id, g.display_name) for g in several] for name, several in snapshot.ambiguous_groups.items()} == {
        "Sage Contact users": [("a0000000-0000-4000-8000-0000000000b1", "Sage Contact users"),
                               ("a0000000-0000-4000-8000-0000000000b9", "SAGE CONTACT USERS")]}
    assert list(snapshot.groups) == ["Someone's group"]
    assert snapshot.global_administrator_ids == ALPHA_SNAPSHOT.global_administrator_ids
    findings = evaluate(alpha, catalog, snapshot, today=dt.date(2026, 5, 1)).findings
    found = [(f.check, f.status.value, f.actual, f.message) for f in findings if f.resource == "Sage Contact users"]
    candidates = ("2 groups are named 'Sage Contact users' ignoring case: 'Sage Contact users' "
                  "(a0000000-0000-4000-8000-0000000000b1), 'SAGE CONTACT USERS' (a0000000-0000-4000-8000-0000000000b9); "
                  "sage365 does not pick one")
    assert found == [("addin.group", "error", "ambiguous", candidates), ("addin.members", "error", "ambiguous", candidates)]


def not_found(rid: str) -> BatchResponse:
    return BatchResponse(rid, 404, None, "Request_ResourceNotFound", "gone")


def test_a_404_is_an_absence_only_for_a_single_object_or_what_hangs_off_an_absent_one(alpha, catalog):
    responses = empty_responses(alpha, catalog)  # administrator and service principals absent (404)
    for key in ("licences", "grants:sage-contact", "roles:sage-contact"):
        responses[key] = not_found(key)  # under an absent parent: absent too
    snapshot = build_snapshot(alpha, catalog, "Alpha", (), responses)
    assert snapshot.errors == {}


def test_a_404_on_a_tenant_wide_collection_or_under_a_found_object_is_an_error(alpha, catalog):
    responses = empty_responses(alpha, catalog)
    responses["admin"] = BatchResponse("admin", 200, _user())
    responses["sp:sage-contact"] = BatchResponse("sp:sage-contact", 200, _sp())
    for key in ("licences", "skus", "globalAdmins", "grants:sage-contact", "roles:sage-contact", "group:0"):
        responses[key] = not_found(key)
    snapshot = build_snapshot(alpha, catalog, "Alpha", (), responses)
    gone = "404 Request_ResourceNotFound: gone"
    assert snapshot.errors == {
        Part.ADMINISTRATOR_LICENCES: f"cannot read the licences of admin@alpha.fr: {gone}",
        Part.GLOBAL_ADMINS: f"cannot read the Global Administrator role assignments: {gone}",
        Part.SUBSCRIBED_SKUS: f"cannot read the subscribed SKUs: {gone}",
    }
    assert snapshot.item_errors == {
        Part.GRANTS: {"sage-contact": f"cannot read the delegated permission grants of sage-contact: {gone}"},
        Part.APP_ROLE_ASSIGNMENTS: {"sage-contact": f"cannot read the app role assignments of sage-contact: {gone}"},
        Part.GROUPS: {"Sage Contact users": f"cannot read the group 'Sage Contact users': {gone}"},
    }


def _user():
    return shapes.User(id=ADMIN.id, userPrincipalName=ADMIN.user_principal_name, accountEnabled=True)


def _sp():
    return shapes.ServicePrincipal(id="a0000000-0000-4000-8000-0000000000a2", appId="00000000-5a6e-4000-8000-000000000002")


def test_a_group_nested_in_an_add_in_group_is_named_not_counted_as_users(start_sandbox, alpha, catalog):
    nested = "a0000000-0000-4000-8000-0000000000b7"
    state = alpha_state(
        [{"id": "ra-1", "roleDefinitionId": GA, "principalId": ADMIN.id, "directoryScopeId": "/"}],
        [{"id": nested, "displayName": "Sales West", "members": ["admin@alpha.fr"]}],
    )
    contact = next(g for g in state["tenants"][ALPHA]["groups"] if g["displayName"] == "Sage Contact users")
    contact["members"].append(nested)
    snapshot = read(start_sandbox(state), alpha, catalog)
    group = snapshot.groups["Sage Contact users"]
    assert group.nested_groups == ("Sales West",)
    assert group.members == ALPHA_SNAPSHOT.groups["Sage Contact users"].members  # the admin is not a direct member
    assert snapshot.errors == {} and snapshot.item_errors == {}
