"""fastparse: the swapped Entity method parses every documented Graph object identically."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from kiota_serialization_json.json_parse_node import JsonParseNode
from kiota_serialization_json.json_serialization_writer import JsonSerializationWriter
from msgraph.generated.models.app_role_assignment import AppRoleAssignment
from msgraph.generated.models.entity import Entity
from msgraph.generated.models.group import Group
from msgraph.generated.models.license_details import LicenseDetails
from msgraph.generated.models.o_auth2_permission_grant import OAuth2PermissionGrant
from msgraph.generated.models.service_principal import ServicePrincipal
from msgraph.generated.models.subscribed_sku import SubscribedSku
from msgraph.generated.models.user import User

from sage365.graph import fastparse

DOCS = yaml.safe_load(Path("sandbox/docs-examples.yaml").read_text(encoding="utf-8"))
TENANT = next(iter(DOCS["tenants"].values()))


def documented_objects():
    """(model, Graph JSON) for every documented example object in the state file."""
    yield from ((User, u) for u in TENANT["users"])
    yield from ((SubscribedSku, s) for s in TENANT["subscribedSkus"])
    yield from ((LicenseDetails, d) for details in TENANT["licenseDetails"].values() for d in details)
    yield from ((ServicePrincipal, s) for s in TENANT["servicePrincipals"])
    yield from ((OAuth2PermissionGrant, g) for g in TENANT["oauth2PermissionGrants"])
    yield from ((AppRoleAssignment, a) for a in TENANT["appRoleAssignments"])
    yield Group, {"id": "45b7d2e7-b882-4a80-ba97-10b7a63b8fa4", "displayName": "Sage Contact users",
                  "securityEnabled": True, "members": [{"@odata.type": "#microsoft.graph.user", "id": "u1",
                                                        "userPrincipalName": "alice@contoso.fr"}]}


def parse_and_serialize(model, data, method) -> str:
    original = Entity.get_field_deserializers
    Entity.get_field_deserializers = method
    try:
        parsed = JsonParseNode(json.loads(json.dumps(data))).get_object_value(model)
        writer = JsonSerializationWriter()
        writer.write_object_value(None, parsed)
        return writer.get_serialized_content().decode()
    finally:
        Entity.get_field_deserializers = original


@pytest.mark.parametrize("model, data", list(documented_objects()), ids=lambda v: getattr(v, "__name__", ""))
def test_parsing_is_identical_to_the_sdks_own(model, data):
    sdk = parse_and_serialize(model, data, fastparse.SDK_METHOD)
    fast = parse_and_serialize(model, data, fastparse._fast_field_deserializers)
    assert fast == sdk
    assert json.loads(fast)["id"] == data["id"]


def test_install_swaps_the_method_once_and_only_when_equivalent(monkeypatch):
    monkeypatch.setattr(fastparse, "_installed", False)
    monkeypatch.setattr(Entity, "get_field_deserializers", fastparse.SDK_METHOD)
    assert fastparse.install() is True
    assert Entity.get_field_deserializers is fastparse._fast_field_deserializers
    assert fastparse.install() is True  # idempotent


def test_install_leaves_a_different_sdk_alone(monkeypatch):
    def grown(self):
        return {**fastparse.SDK_METHOD(self), "createdDateTime": lambda n: None}

    monkeypatch.setattr(fastparse, "_installed", False)
    monkeypatch.setattr(Entity, "get_field_deserializers", grown)
    assert fastparse.install() is False
    assert Entity.get_field_deserializers is grown
