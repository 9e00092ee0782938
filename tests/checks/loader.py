"""Test-only: build Snapshot dataclasses and expected Findings from fixture YAML files.

A fixture file says which tenant file it uses, the snapshot as Graph-like camelCase
data, and the exact findings its check must return (remediation may be left out: it is
then the check's own for fail/waived, the shared read-error text for error, empty for pass).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from sage365.catalog import Catalog, load_catalog
from sage365.checks import METADATA
from sage365.checks.base import ERROR_REMEDIATION
from sage365.declaration import Tenant, load_tenant
from sage365.exchange.apps import app_from_json
from sage365.findings import Finding, Severity, Status
from sage365.graph.connectors import connector
from sage365.graph.mapping import smtp_addresses
from sage365.snapshot import (
    AppRole,
    AppRoleAssignment,
    Group,
    LicenceDetail,
    Part,
    PermissionGrant,
    ServicePlan,
    ServicePrincipal,
    SignInActivity,
    Snapshot,
    SubscribedSku,
    User,
)

FIXTURES = Path(__file__).parent / "fixtures"
DEFAULT_TODAY = dt.date(2026, 6, 1)


def catalog() -> Catalog:
    return load_catalog(FIXTURES / "catalog.yaml")


def tenant(name: str) -> Tenant:
    return load_tenant(FIXTURES / "tenants" / name)


def _user(d: dict) -> User:
    return User(d["id"], d["userPrincipalName"], d.get("displayName", ""), d.get("accountEnabled", True),
                addresses=smtp_addresses(d.get("mail"), d.get("proxyAddresses")))


def _plan(d: dict) -> ServicePlan:
    return ServicePlan(d.get("servicePlanId", ""), d["servicePlanName"], d.get("provisioningStatus", "Success"))


def _sp(d: dict) -> ServicePrincipal:
    return ServicePrincipal(
        id=d["id"], app_id=d["appId"], display_name=d.get("displayName", ""),
        account_enabled=d.get("accountEnabled", True),
        app_roles=tuple(AppRole(r["id"], r["value"], tuple(r.get("allowedMemberTypes", ["Application"])))
                        for r in d.get("appRoles", ())),
    )


def _grouped(items: list, key: str) -> dict[str, tuple]:
    out: dict[str, tuple] = {}
    for item in items:
        out[getattr(item, key)] = out.get(getattr(item, key), ()) + (item,)
    return out


def snapshot(data: dict[str, Any], tenant_id: str) -> Snapshot:
    grants = [
        PermissionGrant(g["id"], g["clientId"], g["resourceId"], g.get("consentType", "AllPrincipals"),
                        g.get("principalId"), frozenset(g.get("scope", "").split()))
        for g in data.get("grants", ())
    ]
    assignments = [
        AppRoleAssignment(a["id"], a["principalId"], a.get("principalType", "ServicePrincipal"),
                          a["resourceId"], a["appRoleId"])
        for a in data.get("appRoleAssignments", ())
    ]
    sps = [_sp(s) for s in data.get("servicePrincipals", ())]
    return Snapshot(
        tenant_id=tenant_id,
        administrator=_user(data["administrator"]) if data.get("administrator") else None,
        users={u["userPrincipalName"].lower(): _user(u) for u in data.get("users", ())},
        administrator_licences=tuple(
            LicenceDetail(d.get("skuId", ""), d["skuPartNumber"], tuple(_plan(p) for p in d.get("servicePlans", ())))
            for d in data.get("administratorLicences", ())
        ),
        global_administrator_ids=frozenset(data.get("globalAdministratorIds", ())),
        subscribed_skus=tuple(
            SubscribedSku(s.get("skuId", ""), s["skuPartNumber"], s.get("capabilityStatus", "Enabled"),
                          s["enabledUnits"], s.get("consumedUnits", 0),
                          tuple(_plan(p) for p in s.get("servicePlans", ())))
            for s in data.get("subscribedSkus", ())
        ),
        graph_service_principal=_sp(data["graphServicePrincipal"]) if data.get("graphServicePrincipal") else None,
        service_principals={sp.app_id: sp for sp in sps},
        grants=_grouped(grants, "client_id"),
        app_role_assignments=_grouped(assignments, "principal_id"),
        groups={
            g["displayName"]: Group(g["id"], g["displayName"], g.get("securityEnabled", True),
                                    tuple(_user(m) for m in g.get("members", ())), tuple(g.get("nestedGroups", ())))
            for g in data.get("groups", ())
        },
        organization_apps={a.app_id: a for a in (app_from_json(o) for o in data["organizationApps"])}
        if "organizationApps" in data else None,
        connectors=tuple(replace(connector(c), group=c.get("group")) for c in data["connectors"])
        if "connectors" in data else None,
        connector_sign_in=SignInActivity(data["connectorSignIn"]["appId"], data["connectorSignIn"].get("lastSignIn"))
        if data.get("connectorSignIn") else None,
        errors={Part(k): v for k, v in data.get("errors", {}).items()},
        item_errors={Part(k): dict(v) for k, v in data.get("itemErrors", {}).items()},
        denied=frozenset(Part(k) for k in data.get("denied", ())),
    )


def expected_finding(d: dict[str, Any], tenant_name: str, lang: str) -> Finding:
    status = Status(d["status"])
    if "remediation" in d:
        remediation = d["remediation"]
    elif status is Status.PASS:
        remediation = ""
    elif status is Status.ERROR and "unreadable" == d.get("actual"):
        remediation = ERROR_REMEDIATION[lang]
    else:
        remediation = METADATA[d["check"]].remediation[lang]
    return Finding(
        tenant=tenant_name, check=d["check"], status=status,
        severity=Severity(d.get("severity", METADATA[d["check"]].severity.value)),
        resource=d["resource"], expected=d.get("expected", ""), actual=d.get("actual", ""),
        message=d["message"], remediation=remediation,
    )


@dataclass(frozen=True)
class Case:
    """One fixture file: its inputs and the exact findings expected of its check."""

    path: Path
    check: str
    tenant: Tenant
    snapshot: Snapshot
    today: dt.date
    lang: str
    expected: tuple[Finding, ...]


def load_case(path: Path) -> Case:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    declared = tenant(data["tenant"])
    lang = data.get("lang", "en")
    return Case(
        path=path,
        check=path.parent.name,  # the folder is named after the check id
        tenant=declared,
        snapshot=snapshot(data.get("snapshot") or {}, declared.tenant_id),
        today=data.get("today", DEFAULT_TODAY),
        lang=lang,
        expected=tuple(expected_finding(f, declared.name, lang) for f in data["expected"]),
    )
