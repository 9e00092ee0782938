"""Microsoft's documented example responses (sandbox/docs-examples.yaml), served back and
parsed by msgraph-sdk: every documented field must reach the SDK model's attribute."""

from __future__ import annotations

import datetime as dt
import re
from enum import Enum
from typing import Any
from uuid import UUID

from tests.sandbox.support import client, run
from tests.sandbox_fixtures import DOCS_STATE, sandbox_state

TENANT = "84841066-274d-4ec0-a5c1-276be684bdd3"
USER = "48d31887-5fad-4d73-a9f5-3c356e68a038"
RESOURCE_SP = "8e881353-1735-45af-af21-ee1344582a4d"


UNDECLARED: set[str] = set()


def snake(name: str) -> str:
    out = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
    return {"o_auth2_permission_scopes": "oauth2_permission_scopes"}.get(out, out)


def assert_round_trip(documented: dict[str, Any], model: Any, where: str) -> int:
    """Compare every documented field with the model; returns how many were compared."""
    compared = 0
    for key, value in documented.items():
        if key.startswith("@odata."):
            if key != "@odata.type":  # annotations the models do not declare stay in additional_data
                assert model.additional_data.get(key) == value, f"{where}.{key}"
            continue
        attr = snake(key)
        if not hasattr(model, attr):
            # Documented, but not declared by msgraph-sdk's v1.0 model: kept verbatim in additional_data.
            assert model.additional_data.get(key) == value, f"{where}.{key}"
            UNDECLARED.add(f"{type(model).__name__}.{key}")
            continue
        assert key not in (model.additional_data or {}), f"{where}.{key} was not parsed into the model"
        compared += compare(value, getattr(model, attr), f"{where}.{key}")
    return compared


def compare(value: Any, parsed: Any, where: str) -> int:
    if isinstance(value, dict):
        return assert_round_trip(value, parsed, where)
    if isinstance(value, list):
        assert isinstance(parsed, list) and len(parsed) == len(value), where
        return sum(compare(v, p, f"{where}[{i}]") for i, (v, p) in enumerate(zip(value, parsed))) or 1
    if isinstance(parsed, Enum):
        parsed = parsed.value
    if isinstance(parsed, UUID):
        parsed = str(parsed)
    if isinstance(parsed, dt.datetime):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00")[:26] + "+00:00") if "." in value else dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        assert abs((parsed - value).total_seconds()) < 1e-3, where
        return 1
    assert parsed == value, f"{where}: {parsed!r} != {value!r}"
    return 1


def test_every_documented_field_reaches_the_sdk_models(sandbox_server):
    server = sandbox_server(DOCS_STATE)
    documented = sandbox_state(DOCS_STATE).tenants[TENANT]

    async def go():
        c = client(server, TENANT)
        skus = (await c.subscribed_skus.get()).value
        details = (await c.users.by_user_id(USER).license_details.get()).value
        sps = [await c.service_principals.by_service_principal_id(i).get() for i in documented.servicePrincipals]
        grants = (await c.oauth2_permission_grants.get()).value
        assigned = (await c.service_principals.by_service_principal_id(RESOURCE_SP).app_role_assigned_to.get()).value
        return skus, details, sps, grants, assigned

    skus, details, sps, grants, assigned = run(go)
    pairs = [
        ("subscribedSkus", list(documented.subscribedSkus.values()), skus),
        ("licenseDetails", documented.license_details[USER], details),
        ("servicePrincipals", list(documented.servicePrincipals.values()), sps),
        ("oauth2PermissionGrants", list(documented.oauth2PermissionGrants.values()), grants),
        ("appRoleAssignedTo", list(documented.appRoleAssignments.values()), assigned),
    ]
    counts = {}
    for name, docs, models in pairs:
        assert len(docs) == len(models), name
        counts[name] = sum(assert_round_trip(d, m, f"{name}[{i}]") for i, (d, m) in enumerate(zip(docs, models)))
    # publisherName appears in the v1.0 example but is a beta-only property of msgraph-sdk's model.
    assert UNDECLARED == {"ServicePrincipal.publisherName"}
    assert counts == {"subscribedSkus": 34, "licenseDetails": 34, "servicePrincipals": 53,
                      "oauth2PermissionGrants": 12, "appRoleAssignedTo": 9}
