"""One rule for "is a user" and "holds the role tenant-wide", on decoded Structs (drift) and on
Graph's raw JSON (export) alike: every case is asked of both and must agree."""

from __future__ import annotations

import msgspec
import pytest

from sage365.graph import mapping, shapes

UID = "10000000-0001-4000-8000-000000000001"
USER = "#microsoft.graph.user"


@pytest.mark.parametrize(("obj", "expected"), [
    ({"@odata.type": USER, "userPrincipalName": "a@x.fr"}, True),
    ({"@odata.type": "#Microsoft.Graph.User"}, True),  # annotations compare case-insensitively
    ({"@odata.type": USER, "userPrincipalName": None}, True),  # a user Graph shows only in part
    # Typed otherwise: no user, whatever else came (Graph's limited information: every property null).
    ({"@odata.type": "#microsoft.graph.servicePrincipal", "userPrincipalName": None}, False),
    ({"@odata.type": "#microsoft.graph.device", "userPrincipalName": "kiosk@x.fr"}, False),
    ({"@odata.type": "#microsoft.graph.group"}, False),
    # No annotation (a proxy stripped it): a UPN that is not null says "user", even "".
    ({"userPrincipalName": "a@x.fr"}, True),
    ({"@odata.type": "", "userPrincipalName": "a@x.fr"}, True),
    ({"userPrincipalName": ""}, True),
    ({"userPrincipalName": None}, False),
    ({}, False),
])
def test_who_is_a_user(obj, expected):
    obj = {"id": UID, **obj}
    assert mapping.is_user_json(obj) is expected
    assert mapping.is_user(msgspec.convert(obj, shapes.DirectoryObject)) is expected


@pytest.mark.parametrize(("assignment", "expected"), [
    ({"principalId": UID, "directoryScopeId": "/"}, True),
    ({"principalId": UID}, True),  # no scope given: the directory's
    ({"principalId": UID, "directoryScopeId": None}, True),
    ({"principalId": UID, "directoryScopeId": "/administrativeUnits/au-1"}, False),
    ({"principalId": "", "directoryScopeId": "/"}, False),
    ({"directoryScopeId": "/"}, False),
])
def test_who_holds_the_role_tenant_wide(assignment, expected):
    assignment = {"id": "ra-1", **assignment}
    assert mapping.tenant_wide_json(assignment) is expected
    decoded = msgspec.convert(assignment, shapes.UnifiedRoleAssignment)
    assert mapping.global_administrator_ids([decoded]) == (frozenset({UID}) if expected else frozenset())
