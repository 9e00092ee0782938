"""The Pulumi program under the mock runtime: the exact resources and outputs per example tenant.

The gate is skipped here (stack config sage365:skipGate), as its own tests cover it; the
warning it logs when skipped is asserted.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from components.program import main
from tests.components.harness import (
    GRAPH_APP_ROLE_IDS,
    GRAPH_SP_OBJECT_ID,
    TENANT_IDS,
    ProgramRun,
    group_object_id,
    run_program,
    sp_object_id,
    user_object_id,
)

ROOT = Path(__file__).resolve().parents[2]
SBC, CONTACT = "00000000-5a6e-4000-8000-000000000001", "00000000-5a6e-4000-8000-000000000002"
P1_SKU = "078d2b04-f1bd-4111-bbd4-b4b1b354cef4"
SP = "azuread:index/servicePrincipal:ServicePrincipal"
GRANT = "azuread:index/servicePrincipalDelegatedPermissionGrant:ServicePrincipalDelegatedPermissionGrant"
ROLE = "azuread:index/appRoleAssignment:AppRoleAssignment"
GROUP, MEMBER, LICENCE = "azuread:index/group:Group", "azuread:index/groupMember:GroupMember", "azuread:index/userLicense:UserLicense"
PROVIDER = "pulumi:providers:azuread"
SECRET_SIG = "4dabf18193072939515e22adb298388d"  # Pulumi's wire marker for a secret value


def config(stack: str, **extra: str) -> dict[str, str]:
    return {"azuread:tenantId": TENANT_IDS[stack], "azuread:useOidc": "true", "sage365:skipGate": "true", **extra}


def table(run: ProgramRun) -> set[tuple[str, str, str, bool, bool]]:
    """(type, name, parent name, provider name or "", protect) for every registered resource."""
    rows = set()
    for r in run.resources:
        provider = r.provider.split("::")[-2] if r.provider else ""
        rows.add((r.type, r.name, r.parent.split("::")[-1], provider, r.protect))
    return rows


def inputs(run: ProgramRun, name: str) -> dict:
    """What the program passed to one custom resource (the mock adds only objectId)."""
    state = dict(run.state[run.by_name[name].urn])
    state.pop("objectId", None)
    return state


def consent_rows(stack: str, key: str, roles: list[str]) -> set:
    c = f"{stack}-consent-{key}"
    rows = {
        ("sage365:consent:Consent", c, stack, "", False),
        (SP, f"{c}-sp", c, f"{stack}-azuread", True),
        (GRANT, f"{c}-grant", c, f"{stack}-azuread", False),
    }
    return rows | {(ROLE, f"{c}-role-{role}", c, f"{stack}-azuread", False) for role in roles}


def addin_rows(stack: str, users: list[str]) -> set:
    a = f"{stack}-addin-sage-contact"
    return {
        ("sage365:addin:AddinAssignment", a, stack, "", False),
        (GROUP, f"{a}-group", a, f"{stack}-azuread", False),
        (ROLE, f"{a}-assignment", a, f"{stack}-azuread", False),
    } | {(MEMBER, f"{a}-member-{u}", a, f"{stack}-azuread", False) for u in users}


def base_rows(stack: str) -> set:
    return {
        (PROVIDER, f"{stack}-azuread", f"sage365-{stack}", "", False),
        ("sage365:tenant:SageTenant", stack, f"sage365-{stack}", "", False),
    }


SKIP_WARNING = (
    "tenant {0}: the preview gate is DISABLED by stack config sage365:skipGate; "
    "prerequisites (Global Administrator, Entra ID P1/P2, subscription) were not checked"
)


def test_contoso_registers_consents_licence_and_addin():
    run = run_program(main, stack="contoso", config=config("contoso", **{"sage365:premiumSkuId": P1_SKU}))
    assert run.error is None
    assert table(run) == (
        base_rows("contoso")
        | consent_rows("contoso", "sage-business-center", ["User.Read.All"])
        | consent_rows("contoso", "sage-contact", [])
        | {
            ("sage365:licence:AdministratorLicence", "contoso-admin-licence", "contoso", "", False),
            (LICENCE, "contoso-admin-licence-user-licence", "contoso-admin-licence", "contoso-azuread", False),
        }
        | addin_rows("contoso", ["alice@contoso.fr", "bob@contoso.fr"])
    )
    assert len(run.resources) == 16
    assert inputs(run, "contoso-azuread") == {
        "tenantId": TENANT_IDS["contoso"], "useOidc": "true", "useMsi": "false", "environment": "public",
    }
    # Every property the provider would otherwise reset is declared: Sage Contact requires assignment.
    assert inputs(run, "contoso-consent-sage-contact-sp") == {
        "clientId": CONTACT, "useExisting": True, "accountEnabled": True, "appRoleAssignmentRequired": True,
    }
    assert inputs(run, "contoso-consent-sage-business-center-sp") == {
        "clientId": SBC, "useExisting": True, "accountEnabled": True, "appRoleAssignmentRequired": False,
    }
    assert run.by_name["contoso-consent-sage-contact-sp"].ignore_changes == ("useExisting",)
    assert run.by_name["contoso-addin-sage-contact-group"].ignore_changes == ("description", "preventDuplicateNames")
    # Nothing is imported without the gate's snapshot.
    assert {r.import_id for r in run.resources} == {""}
    assert inputs(run, "contoso-consent-sage-contact-grant") == {
        "servicePrincipalObjectId": sp_object_id(CONTACT),
        "resourceServicePrincipalObjectId": GRAPH_SP_OBJECT_ID,
        "claimValues": ["openid", "profile", "offline_access", "User.Read", "Contacts.ReadWrite", "Mail.Read"],
    }
    assert inputs(run, "contoso-consent-sage-business-center-role-User.Read.All") == {
        "appRoleId": GRAPH_APP_ROLE_IDS["User.Read.All"],
        "principalObjectId": sp_object_id(SBC),
        "resourceObjectId": GRAPH_SP_OBJECT_ID,
    }
    assert inputs(run, "contoso-admin-licence-user-licence") == {
        "userObjectId": user_object_id("admin@contoso.onmicrosoft.com"), "skuId": P1_SKU,
    }
    assert run.by_name["contoso-admin-licence-user-licence"].retain_on_delete is True
    assert inputs(run, "contoso-addin-sage-contact-group") == {
        "displayName": "Sage Contact users",
        "description": "Users of Sage Contact (managed by sage365)",
        "securityEnabled": True,
        "mailEnabled": False,
        "preventDuplicateNames": True,
    }
    assert inputs(run, "contoso-addin-sage-contact-member-bob@contoso.fr") == {
        "groupObjectId": group_object_id("Sage Contact users"), "memberObjectId": user_object_id("bob@contoso.fr"),
    }
    assert inputs(run, "contoso-addin-sage-contact-assignment") == {
        "appRoleId": "00000000-0000-0000-0000-000000000000",
        "principalObjectId": group_object_id("Sage Contact users"),
        "resourceObjectId": sp_object_id(CONTACT),
    }
    assert run.stack_outputs == {
        "tenantId": TENANT_IDS["contoso"],
        "summary": {
            "tenant": "contoso",
            "tenantId": TENANT_IDS["contoso"],
            "administrator": "admin@contoso.onmicrosoft.com",
            "consents": {
                "sage-business-center": {"appId": SBC, "servicePrincipalObjectId": sp_object_id(SBC)},
                "sage-contact": {"appId": CONTACT, "servicePrincipalObjectId": sp_object_id(CONTACT)},
            },
            "administratorLicenceSkuId": P1_SKU,
            "addins": {
                "sage-contact": {
                    "groupObjectId": group_object_id("Sage Contact users"),
                    "users": ["alice@contoso.fr", "bob@contoso.fr"],
                }
            },
        },
    }
    assert run.messages("WARNING") == [SKIP_WARNING.format("contoso")]
    assert run.messages("ERROR") == []


def test_every_invoke_goes_through_the_tenant_provider():
    run = run_program(main, stack="contoso", config=config("contoso", **{"sage365:premiumSkuId": P1_SKU}))
    provider_ref = f"{run.by_name['contoso-azuread'].urn}::{run.state and _provider_id(run)}"
    assert sorted((token.split(":")[-1], tuple(args.values())) for token, args, _ in run.calls) == [
        ("getServicePrincipal", ("00000003-0000-0000-c000-000000000000",)),
        ("getServicePrincipal", ("00000003-0000-0000-c000-000000000000",)),
        ("getUser", ("admin@contoso.onmicrosoft.com",)),
        ("getUser", ("alice@contoso.fr",)),
        ("getUser", ("bob@contoso.fr",)),
    ]
    assert {provider for _, _, provider in run.calls} == {provider_ref}
    assert {r.provider for r in run.resources if r.custom and r.type != PROVIDER} == {provider_ref}


def _provider_id(run: ProgramRun) -> str:
    """The provider's id, a UUID as the engine gives providers."""
    provider = run.by_name["contoso-azuread"]
    ids = {r.provider.rsplit("::", 1)[1] for r in run.resources if r.provider}
    assert len(ids) == 1 and provider.custom
    return ids.pop()


def test_contoso_without_a_known_sku_assigns_no_licence():
    run = run_program(main, stack="contoso", config=config("contoso"))
    assert run.error is None
    assert not any(r.type in (LICENCE, "sage365:licence:AdministratorLicence") for r in run.resources)
    assert len(run.resources) == 14
    assert run.stack_outputs["summary"]["administratorLicenceSkuId"] is None


def test_fabrikam_minimal_registers_one_consent():
    run = run_program(main, stack="fabrikam", config=config("fabrikam", **{"sage365:premiumSkuId": P1_SKU}))
    assert run.error is None
    # assignFreeSeat is not declared: a pinned SKU must not assign anything.
    assert table(run) == base_rows("fabrikam") | consent_rows("fabrikam", "sage-business-center", ["User.Read.All"])
    assert len(run.resources) == 6
    assert inputs(run, "fabrikam-consent-sage-business-center-grant")["claimValues"] == [
        "openid", "profile", "offline_access", "User.Read",
    ]
    assert run.stack_outputs == {
        "tenantId": TENANT_IDS["fabrikam"],
        "summary": {
            "tenant": "fabrikam",
            "tenantId": TENANT_IDS["fabrikam"],
            "administrator": "admin@fabrikam.onmicrosoft.com",
            "consents": {"sage-business-center": {"appId": SBC, "servicePrincipalObjectId": sp_object_id(SBC)}},
            "administratorLicenceSkuId": None,
            "addins": {},
        },
    }


def test_northwind_registers_consents_and_addin_without_licence():
    run = run_program(main, stack="northwind", config=config("northwind"))
    assert run.error is None
    users = ["claire@northwind-traders.fr", "david@northwind-traders.fr"]
    assert table(run) == (
        base_rows("northwind")
        | consent_rows("northwind", "sage-business-center", ["User.Read.All"])
        | consent_rows("northwind", "sage-contact", [])
        | addin_rows("northwind", users)
    )
    assert len(run.resources) == 14
    assert inputs(run, "northwind-addin-sage-contact-group")["displayName"] == "Sage Contact - Northwind"
    assert run.stack_outputs["summary"]["addins"] == {
        "sage-contact": {"groupObjectId": group_object_id("Sage Contact - Northwind"), "users": users}
    }


def test_component_outputs_are_registered():
    run = run_program(main, stack="fabrikam", config=config("fabrikam"))
    consent = run.by_name["fabrikam-consent-sage-business-center"]
    assert run.component_outputs[consent.urn] == {
        "appId": SBC,
        "servicePrincipalObjectId": sp_object_id(SBC),
        "delegatedScopes": ["openid", "profile", "offline_access", "User.Read"],
        "appRoles": ["User.Read.All"],
    }
    assert run.component_outputs[run.by_name["fabrikam"].urn]["summary"]["tenant"] == "fabrikam"


def test_tenant_mismatch_fails_before_registering_anything():
    cfg = config("contoso") | {"azuread:tenantId": TENANT_IDS["fabrikam"]}
    run = run_program(main, stack="contoso", config=cfg)
    assert str(run.error) == (
        f"stack contoso: azuread:tenantId {TENANT_IDS['fabrikam']} differs from spec.tenantId "
        f"{TENANT_IDS['contoso']} in {ROOT / 'tenants/contoso.yaml'}; nothing was registered"
    )
    assert run.resources == []


def test_missing_tenant_pin_fails():
    run = run_program(main, stack="contoso", config={"sage365:skipGate": "true"})
    assert str(run.error) == (
        f"stack contoso: azuread:tenantId is not set; expected {TENANT_IDS['contoso']} from "
        f"{ROOT / 'tenants/contoso.yaml'}"
    )
    assert run.resources == []


def test_tenant_file_override(tmp_path):
    text = (ROOT / "tenants/fabrikam.yaml").read_text().replace("consents: [sage-business-center]", "consents: []")
    (tmp_path / "other.yaml").write_text(text)
    run = run_program(main, stack="fabrikam", config=config("fabrikam", **{"sage365:tenantFile": str(tmp_path / "other.yaml")}))
    assert run.error is None
    assert table(run) == base_rows("fabrikam")


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("consents: [sage-business-center]", "consents: [sage-pegg]",
         "names apps missing from the catalogue {catalog}: sage-pegg"),
        ("tenantId: 22222222", "tenantId: zz222222", "the declaration cannot be used"),
    ],
)
def test_declaration_errors_register_nothing(tmp_path, old, new, message):
    text = (ROOT / "tenants/fabrikam.yaml").read_text()
    assert old in text
    (tmp_path / "fabrikam.yaml").write_text(text.replace(old, new))
    run = run_program(main, stack="fabrikam", config=config("fabrikam", **{"sage365:tenantFile": str(tmp_path / "fabrikam.yaml")}))
    assert type(run.error).__name__ == "RunError"
    assert message.format(catalog=ROOT / "catalog/catalog.yaml") in str(run.error)
    assert run.resources == []


def test_addin_of_an_unconsented_app_looks_its_service_principal_up(tmp_path):
    text = (ROOT / "tenants/northwind.yaml").read_text().replace(
        "consents: [sage-business-center, sage-contact]", "consents: [sage-business-center]")
    (tmp_path / "northwind.yaml").write_text(text)
    run = run_program(main, stack="northwind", config=config("northwind", **{"sage365:tenantFile": str(tmp_path / "northwind.yaml")}))
    assert run.error is None
    assert "northwind-consent-sage-contact-sp" not in run.by_name  # read, never managed here
    assert inputs(run, "northwind-addin-sage-contact-assignment")["resourceObjectId"] == sp_object_id(CONTACT)
    assert ("azuread:index/getServicePrincipal:getServicePrincipal", {"clientId": CONTACT}) in [
        (token, args) for token, args, _ in run.calls
    ]
    assert len(run.resources) == 11  # northwind's 14 minus the sage-contact Consent, its SP and grant


def test_provider_auth_from_stack_config():
    run = run_program(main, stack="fabrikam", config={
        "azuread:tenantId": TENANT_IDS["fabrikam"], "azuread:useCli": "true",
        "azuread:clientId": "99999999-0000-4000-8000-000000000009", "sage365:skipGate": "true",
    })
    state = inputs(run, "fabrikam-azuread")
    # The provider schema marks clientId secret: it reaches the engine wrapped as one.
    secret = state.pop("clientId")
    assert secret == {SECRET_SIG: "1b47061264138c4ac30d75fd1eb44270", "value": "99999999-0000-4000-8000-000000000009"}
    assert state == {"tenantId": TENANT_IDS["fabrikam"], "useCli": "true", "useMsi": "false", "environment": "public"}


def test_an_application_role_graph_does_not_have_fails_the_run(tmp_path):
    import shutil

    shutil.copytree(ROOT / "catalog", tmp_path / "catalog")
    path = tmp_path / "catalog/catalog.yaml"
    text = path.read_text()
    assert "appRoles: [User.Read.All]\n" in text
    path.write_text(text.replace("appRoles: [User.Read.All]\n", "appRoles: [User.Read.Everything]\n", 1))
    run = run_program(main, stack="fabrikam", config=config("fabrikam", **{"sage365:catalogFile": str(path)}))
    # Pulumi wraps the ValueError with the resource and input it was raised for.
    assert str(run.error).startswith(
        "While processing resource: 'fabrikam-consent-sage-business-center-role-User.Read.Everything', "
        "type: 'azuread:index/appRoleAssignment:AppRoleAssignment'"
    )
    assert str(run.error).endswith("Microsoft Graph has no application permission named 'User.Read.Everything'")
    assert ROLE not in {r.type for r in run.resources}  # never sent to the engine
