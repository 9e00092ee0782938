"""The CrossGuard rules, without the Pulumi CLI: the pure functions with plain data, the
adapters with pulumi_policy's own argument classes. policies/__main__.py (the PolicyPack,
which starts a gRPC server) is never imported."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)

from sage365.catalog import load_catalog

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "policies"))
import sage365_policies as rules  # noqa: E402

CATALOG = load_catalog(ROOT / "catalog/catalog.yaml")
TENANTS = rules.declared_tenant_ids(ROOT / "tenants")
CONTOSO = "11111111-1111-4111-8111-111111111111"
SBC, CONTACT = "00000000-5a6e-4000-8000-000000000001", "00000000-5a6e-4000-8000-000000000002"
GROUP_MEMBER = "azuread:index/groupMember:GroupMember"


def provider(name: str = "contoso-azuread", tenant_id: str = CONTOSO, ptype: str = rules.AZUREAD_PROVIDER) -> dict:
    return {"type": ptype, "name": name, "props": {"tenantId": tenant_id}}


# -- pure rules ---------------------------------------------------------------------


def test_grant_with_catalogue_scopes_passes():
    assert rules.grant_scope_violations(SBC, ["openid", "profile", "offline_access", "User.Read"], CATALOG) == []
    assert rules.grant_scope_violations(SBC, ["User.Read"], CATALOG) == []  # fewer is not wider


def test_grant_with_extra_scope_is_refused():
    assert rules.grant_scope_violations(SBC.upper(), ["User.Read", "Mail.ReadWrite", "Files.Read.All"], CATALOG) == [
        f"delegated grant for Sage app 'sage-business-center' ({SBC.upper()}) has scopes outside the catalogue: "
        "Files.Read.All, Mail.ReadWrite; allowed: openid, profile, offline_access, User.Read"
    ]


def test_grant_of_a_non_sage_app_or_unknown_scopes_is_not_judged():
    assert rules.grant_scope_violations("99999999-0000-0000-0000-000000000000", ["Mail.ReadWrite"], CATALOG) == []
    assert rules.grant_scope_violations(None, ["Mail.ReadWrite"], CATALOG) == []
    assert rules.grant_scope_violations(SBC, None, CATALOG) == []


def test_group_member_through_the_tenant_provider_passes():
    assert rules.provider_violations(GROUP_MEMBER, provider(), TENANTS) == []


@pytest.mark.parametrize(
    "prov, message",
    [
        (None, f"{GROUP_MEMBER} has no provider: it must use the stack's tenant provider"),
        (provider("default_6_11_1"),
         f"{GROUP_MEMBER} uses provider 'default_6_11_1', not the stack's explicit tenant provider "
         "('<tenant>-azuread'); default providers could reach whatever tenant the environment names"),
        (provider(tenant_id="22222222-2222-4222-8222-222222222222"),
         f"{GROUP_MEMBER} uses provider 'contoso-azuread' pinned to tenant 22222222-2222-4222-8222-222222222222, "
         f"but tenants/contoso.yaml declares {CONTOSO}"),
        (provider(tenant_id=""),
         f"{GROUP_MEMBER} uses provider 'contoso-azuread' pinned to tenant (none), but tenants/contoso.yaml declares {CONTOSO}"),
        (provider("acme-azuread"), f"{GROUP_MEMBER} uses provider 'acme-azuread' but no tenant declaration names 'acme'"),
        (provider(ptype="pulumi:providers:azure-native"),
         f"{GROUP_MEMBER} uses provider contoso-azuread of type pulumi:providers:azure-native, not an azuread provider"),
    ],
)
def test_group_member_outside_the_tenant_provider_is_refused(prov, message):
    assert rules.provider_violations(GROUP_MEMBER, prov, TENANTS) == [message]


def test_non_azuread_resources_are_not_judged_by_the_provider_rule():
    assert rules.provider_violations("random:index/randomId:RandomId", None, TENANTS) == []
    assert rules.provider_violations("sage365:tenant:SageTenant", None, TENANTS) == []


def test_sage_service_principal_must_be_protected():
    assert rules.protect_violations(rules.SERVICE_PRINCIPAL, {"clientId": CONTACT}, True, CATALOG) == []
    assert rules.protect_violations(rules.SERVICE_PRINCIPAL, {"clientId": CONTACT}, False, CATALOG) == [
        f"service principal of Sage app 'sage-contact' ({CONTACT}) must be protected (ResourceOptions(protect=True))"
    ]
    other = {"clientId": "00000003-0000-0000-c000-000000000000"}
    assert rules.protect_violations(rules.SERVICE_PRINCIPAL, other, False, CATALOG) == []


def test_one_provider_per_stack():
    same = [("azuread:index/group:Group", "urn:g", "p1"), (GROUP_MEMBER, "urn:m", "p1"), ("pulumi:providers:azuread", "p1", None)]
    assert rules.single_provider_violations(same) == []
    mixed = same + [(GROUP_MEMBER, "urn:m2", "p2")]
    message = "the stack's azuread resources use 2 providers (p1, p2); one tenant, one provider"
    assert rules.single_provider_violations(mixed) == [("urn:g", message), ("urn:m", message), ("urn:m2", message)]


# -- adapters, with pulumi_policy's classes -------------------------------------------


def options(protect: bool = False) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])


def policy_provider(name="contoso-azuread", tenant_id=CONTOSO) -> PolicyProviderResource:
    return PolicyProviderResource(rules.AZUREAD_PROVIDER, {"tenantId": tenant_id}, f"urn:{name}", name)


def collect(validate, args) -> list[tuple[str, str | None]]:
    violations: list[tuple[str, str | None]] = []
    validate(args, lambda message, urn=None: violations.append((message, urn)))
    return violations


def urn(stack: str, rtype: str, name: str) -> str:
    return f"urn:pulumi:{stack}::sage365::sage365:tenant:SageTenant${rtype}::{name}"


MEMBER_URN = urn("contoso", GROUP_MEMBER, "contoso-addin-sage-contact-member-alice@contoso.fr")
SP_URN = urn("contoso", rules.SERVICE_PRINCIPAL, "contoso-consent-sage-business-center-sp")


def test_stack_of_a_urn():
    assert rules.stack_of(MEMBER_URN) == "contoso"
    assert rules.stack_of("urn:pulumi:fabrikam::sage365::pulumi:providers:azuread::fabrikam-azuread") == "fabrikam"


def test_provider_of_another_stack_is_refused_even_when_correctly_pinned():
    fabrikam = provider("fabrikam-azuread", "22222222-2222-4222-8222-222222222222")
    assert rules.provider_violations(GROUP_MEMBER, fabrikam, TENANTS) == []  # on its own, a valid provider
    assert rules.provider_violations(GROUP_MEMBER, fabrikam, TENANTS, "contoso") == [
        f"{GROUP_MEMBER} in stack 'contoso' uses provider 'fabrikam-azuread': only 'contoso-azuread' "
        "may reach this stack's tenant"
    ]
    assert rules.provider_violations(GROUP_MEMBER, provider(), TENANTS, "contoso") == []


def test_resource_adapters():
    member = ResourceValidationArgs(GROUP_MEMBER, {}, MEMBER_URN, "m", options(), policy_provider(tenant_id="x"))
    assert collect(rules.validate_tenant_provider(TENANTS), member) == [
        (f"{GROUP_MEMBER} uses provider 'contoso-azuread' pinned to tenant x, but tenants/contoso.yaml declares {CONTOSO}", None)
    ]
    wrong_stack = ResourceValidationArgs(GROUP_MEMBER, {}, MEMBER_URN.replace(":contoso::", ":fabrikam::"), "m",
                                         options(), policy_provider())
    assert collect(rules.validate_tenant_provider(TENANTS), wrong_stack) == [
        (f"{GROUP_MEMBER} in stack 'fabrikam' uses provider 'contoso-azuread': only 'fabrikam-azuread' "
         "may reach this stack's tenant", None)
    ]
    right = ResourceValidationArgs(GROUP_MEMBER, {}, MEMBER_URN, "m", options(), policy_provider())
    assert collect(rules.validate_tenant_provider(TENANTS), right) == []
    sp = ResourceValidationArgs(rules.SERVICE_PRINCIPAL, {"clientId": SBC}, SP_URN, "sp", options(False), policy_provider())
    assert collect(rules.validate_protected_service_principal(CATALOG), sp) == [
        (f"service principal of Sage app 'sage-business-center' ({SBC}) must be protected (ResourceOptions(protect=True))", None)
    ]
    protected = ResourceValidationArgs(rules.SERVICE_PRINCIPAL, {"clientId": SBC}, SP_URN, "sp", options(True), policy_provider())
    assert collect(rules.validate_protected_service_principal(CATALOG), protected) == []


def resource(rtype, props, urn, *, deps=None, prov=None) -> PolicyResource:
    return PolicyResource(rtype, props, urn, urn, options(), prov, None, [], deps or {})


def test_grant_adapter_finds_the_client_through_property_dependencies():
    sp = resource(rules.SERVICE_PRINCIPAL, {"clientId": CONTACT}, "urn:sp")  # objectId unknown in preview
    grant = resource(rules.DELEGATED_GRANT, {"claimValues": ["User.Read", "Mail.Send"]}, "urn:grant",
                     deps={"servicePrincipalObjectId": [sp]})
    assert collect(rules.validate_grant_client(CATALOG), StackValidationArgs([sp, grant])) == [
        (f"delegated grant for Sage app 'sage-contact' ({CONTACT}) has scopes outside the catalogue: Mail.Send; "
         "allowed: openid, profile, offline_access, User.Read, Contacts.ReadWrite, Mail.Read", "urn:grant")
    ]


def test_grant_adapter_falls_back_to_object_ids():
    sp = resource(rules.SERVICE_PRINCIPAL, {"clientId": SBC, "objectId": "sp-1"}, "urn:sp")
    grant = resource(rules.DELEGATED_GRANT, {"claimValues": ["Mail.Send"], "servicePrincipalObjectId": "sp-1"}, "urn:grant")
    assert [urn for _, urn in collect(rules.validate_grant_client(CATALOG), StackValidationArgs([sp, grant]))] == ["urn:grant"]


def test_single_provider_adapter():
    a = resource(GROUP_MEMBER, {}, "urn:a", prov=policy_provider())
    b = resource(GROUP_MEMBER, {}, "urn:b", prov=policy_provider("fabrikam-azuread"))
    assert [urn for _, urn in collect(rules.validate_single_provider, StackValidationArgs([a, b]))] == ["urn:a", "urn:b"]


def test_policy_pack_module_compiles_without_being_imported():
    # Importing it would start the analyzer's gRPC server; compiling catches syntax errors.
    source = (ROOT / "policies/__main__.py").read_text()
    compile(source, "policies/__main__.py", "exec")
    assert "policies=rules.policies(catalog, tenants)" in source
    assert [(p.name, type(p).__name__, p.enforcement_level.value) for p in rules.policies(CATALOG, TENANTS)] == [
        ("sage365-grant-scopes-in-catalogue", "ResourceValidationPolicy", "mandatory"),
        ("sage365-grant-client", "StackValidationPolicy", "mandatory"),
        ("sage365-tenant-provider", "ResourceValidationPolicy", "mandatory"),
        ("sage365-single-tenant-provider", "StackValidationPolicy", "mandatory"),
        ("sage365-protect-sage-service-principal", "ResourceValidationPolicy", "mandatory"),
    ]
