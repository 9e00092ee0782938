"""The harness's invoke answers are shaped like pulumi-azuread 6.11's: camelCase output
names of the installed SDK's result types, so a program reading a wrong key fails here."""

from __future__ import annotations

import re

import pytest
from pulumi_azuread.get_service_principal import GetServicePrincipalResult
from pulumi_azuread.get_user import GetUserResult

from components.program import main
from sage365.catalog import MICROSOFT_GRAPH_APP_ID
from tests.components import harness
from tests.components.harness import TENANT_IDS, run_program

CONFIG = {"azuread:tenantId": TENANT_IDS["contoso"], "sage365:skipGate": "true"}


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
    run = run_program(main, stack="contoso", config=CONFIG)
    assert str(run.error).endswith("Microsoft Graph has no application permission named 'User.Read.All'")
