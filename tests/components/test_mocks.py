"""The harness's invoke answers are shaped like pulumi-azuread 6.11's: camelCase output
names of the installed SDK's result types, so a program reading a wrong key fails here."""

from __future__ import annotations

import re

import pulumi_azuread as azuread
import pytest
from pulumi.output import Unknown
from pulumi_azuread.get_service_principal import GetServicePrincipalResult
from pulumi_azuread.get_user import GetUserResult

from components.program import main
from sage365.catalog import MICROSOFT_GRAPH_APP_ID
from tests.components import harness
from tests.components.harness import TENANT_IDS, run_program

CONFIG = {"azuread:tenantId": TENANT_IDS["fabrikam"], "sage365:skipGate": "true"}


def output_names(result_type: type) -> set[str]:
    """The wire (camelCase) names the provider answers with, from the SDK's @pulumi.getter."""
    return {
        prop.fget._pulumi_name for prop in vars(result_type).values()
        if isinstance(prop, property) and hasattr(prop.fget, "_pulumi_name")
    }


class _Args:
    def __init__(self, token: str, args: dict) -> None:
        self.token, self.args, self.provider = token, args, ""


@pytest.mark.parametrize(
    "token, args, result_type",
    [
        ("azuread:index/getServicePrincipal:getServicePrincipal", {"clientId": MICROSOFT_GRAPH_APP_ID},
         GetServicePrincipalResult),
        ("azuread:index/getServicePrincipal:getServicePrincipal", {"clientId": "00000000-5a6e-4000-8000-000000000002"},
         GetServicePrincipalResult),
        ("azuread:index/getUser:getUser", {"userPrincipalName": "alice@contoso.fr"}, GetUserResult),
    ],
)
def test_invoke_answers_use_the_providers_output_names(token, args, result_type):
    answer, _ = harness.TenantMocks().call(_Args(token, args))
    assert set(answer) <= output_names(result_type)
    assert "objectId" in answer
    assert {"appRoleIds", "objectId"} <= output_names(GetServicePrincipalResult)  # what consent.py reads


def test_a_snake_case_answer_would_be_caught(monkeypatch):
    # The program reads typed results; answers keyed object_id/app_role_ids leave them None.
    call = harness.TenantMocks.call

    def snake_case(self, args):
        answer, deps = call(self, args)
        return {re.sub(r"[A-Z]", lambda m: "_" + m.group(0).lower(), k): v for k, v in answer.items()}, deps

    monkeypatch.setattr(harness.TenantMocks, "call", snake_case)
    run = run_program(main, stack="fabrikam", config=CONFIG)
    assert str(run.error).endswith("Microsoft Graph has no application permission named 'User.Read.All'")


GRANT = "azuread:index/servicePrincipalDelegatedPermissionGrant:ServicePrincipalDelegatedPermissionGrant"


@pytest.mark.parametrize("resource_type, prefix", [(azuread.ServicePrincipal, "/servicePrincipals/"), (azuread.Group, "/groups/")])
def test_using_id_where_an_object_id_belongs_fails(monkeypatch, resource_type, prefix):
    # As if the components read `.id` (the provider's "/servicePrincipals/<uuid>", "/groups/<uuid>")
    # where the object id belongs: the provider refuses a non-UUID object id, and so do the mocks.
    monkeypatch.setattr(resource_type, "object_id", property(lambda self: self.id))
    run = run_program(main, stack="contoso", config=CONFIG | {"azuread:tenantId": TENANT_IDS["contoso"]})
    # Whichever consumer registers first is refused; each one would be.
    assert re.fullmatch(rf"azuread:index/\w+:\w+ contoso-[\w.@-]+: expected '\w+ObjectId' to be a valid UUID, "
                        rf"got '{prefix}[0-9a-f-]{{36}}'", str(run.error)), str(run.error)


def test_object_ids_are_uuids_and_ids_are_the_providers():
    run = run_program(main, stack="contoso", config=CONFIG | {"azuread:tenantId": TENANT_IDS["contoso"]})
    assert run.error is None
    sp = run.by_name["contoso-consent-sage-contact-sp"]
    object_id = harness.sp_object_id("00000000-5a6e-4000-8000-000000000002")
    assert harness.UUID_RE.match(object_id)
    assert run.state[sp.urn]["objectId"] == object_id
    summary = run.stack_outputs["summary"]
    assert summary["consents"]["sage-contact"]["servicePrincipalObjectId"] == object_id
    assert summary["addins"]["sage-contact"]["groupObjectId"] == harness.group_object_id("Sage Contact users")


def test_a_preview_leaves_what_is_created_unknown():
    run = run_program(main, stack="contoso", preview=True, config=CONFIG | {"azuread:tenantId": TENANT_IDS["contoso"]})
    assert run.error is None
    grant = run.state[run.by_name["contoso-consent-sage-contact-grant"].urn]
    # The SP is created in this plan: its object id is not known yet, the scopes are.
    assert isinstance(grant["servicePrincipalObjectId"], Unknown)
    assert grant["claimValues"] == ["openid", "profile", "offline_access", "User.Read", "Contacts.ReadWrite", "Mail.Read"]
    assert grant["resourceServicePrincipalObjectId"] == harness.GRAPH_SP_OBJECT_ID  # read by an invoke: known
    assert run.stack_outputs["summary"] is None or run.stack_outputs["summary"]["tenant"] == "contoso"
