"""One identity in CI: the program run as the workflows run it (the shipped stack file, no
azuread:clientId in it; ARM_CLIENT_ID, ARM_USE_OIDC and GitHub's ACTIONS_ID_TOKEN_REQUEST_*
from the job), under Pulumi's mock runtime. The provider, the preview gate and the add-in
deployment's Exchange sign-in all take the job's client id and GitHub's token request.
The tenant is read from the sandbox; the token request goes to a local GitHub stand-in."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

import components.gate
from components.addin_deployment import DeploymentError, exchange_credential
from components.program import main
from sage365 import engine
from tests.ci.fake_github import OIDC_REQUEST_TOKEN, OIDC_VALUE, FakeGitHub
from tests.components.harness import DYNAMIC, run_program
from tests.sandbox_fixtures import CONTOSO

ROOT = Path(__file__).resolve().parents[2]
DEPLOY_APP = "5e1f0c2a-7d3b-4c6e-9a8f-0b1c2d3e4f5a"  # vars.SAGE365_DEPLOY_CLIENT_ID in main.yml
PROVIDER = "pulumi:providers:azuread"


def shipped_stack_config(stack: str) -> dict[str, str]:
    """The stack file as shipped, as the Pulumi CLI hands it to the program (strings)."""
    config = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]
    return {key: value if isinstance(value, str) else yaml.safe_dump(value).strip() for key, value in config.items()
            if not key.startswith("pulumi:")}


def job_env(github: FakeGitHub) -> dict[str, str]:
    """The `up` job's variables (main.yml), with GitHub's token request as the runner sets it."""
    return {"ARM_CLIENT_ID": DEPLOY_APP, "ARM_USE_OIDC": "true",
            "ACTIONS_ID_TOKEN_REQUEST_URL": f"{github.url}/oidc?api-version=2.0",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN": OIDC_REQUEST_TOKEN}


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch):
    monkeypatch.setattr(components.gate, "today", lambda: dt.date(2026, 5, 1))


def test_the_shipped_stack_file_has_no_client_id():
    for path in sorted((ROOT / "stacks").glob("Pulumi.*.yaml")):
        assert "azuread:clientId" not in yaml.safe_load(path.read_text())["config"], path.name


def test_the_gate_provider_and_deployment_take_the_jobs_identity(monkeypatch, demo_sandbox):
    seen = {}
    real_read = engine.read_tenant_sync

    def read(tenant, catalog, *, graph_url, credential, **options):
        # The credential the gate built for real Graph; the tenant itself is read from the sandbox.
        seen["credential"], seen["graph_url"] = credential, graph_url
        return real_read(tenant, catalog, graph_url=demo_sandbox.base_url, **options)

    monkeypatch.setattr(components.gate.engine, "read_tenant_sync", read)
    config = {**shipped_stack_config("contoso"), "sage365:deployAddins": "true"}
    assert config == {"azuread:tenantId": CONTOSO, "azuread:useOidc": "true", "sage365:deployAddins": "true"}
    with FakeGitHub() as github:
        env = job_env(github)
        run = run_program(main, stack="contoso", config=config, env=env)
        assert run.error is None
        # The gate: GitHub's token request for the job's client id, bound to the stack's tenant.
        gate = seen["credential"]
        assert seen["graph_url"] is None
        assert type(gate.credential).__name__ == "ClientAssertionCredential"
        assert (gate.tenant_id, gate.credential._client._client_id) == (CONTOSO, DEPLOY_APP)
        assert gate.credential._func() == OIDC_VALUE  # fetched from ACTIONS_ID_TOKEN_REQUEST_URL, audience checked
        assert github.state.requests == [("GET", "/oidc?api-version=2.0&audience=api%3A%2F%2FAzureADTokenExchange")]

        # The provider: no client id in its inputs, so the plugin reads the same ARM_CLIENT_ID,
        # ARM_USE_OIDC and ACTIONS_ID_TOKEN_REQUEST_* from the same environment.
        provider = run.by_name["contoso-azuread"]
        inputs = run.state[provider.urn]
        assert provider.type == PROVIDER
        assert (inputs.get("clientId"), inputs["useOidc"], inputs["tenantId"]) == (None, "true", CONTOSO)  # provider inputs travel as strings
        assert not {"oidcToken", "oidcRequestToken", "oidcRequestUrl", "oidcTokenFilePath"} & set(inputs)

        # The add-in deployment: only public settings in its state, the same identity at run time.
        deployment = run.by_name["contoso-addin-sage-contact-deployment"]
        state = run.state[deployment.urn]
        assert (deployment.type, state["auth"], state["exchange_url"]) == (DYNAMIC, {"useOidc": "true"}, "")
        exchange = exchange_credential(state, env)
        assert type(exchange.credential).__name__ == "ClientAssertionCredential"
        assert (exchange.tenant_id, exchange.credential._client._client_id) == (CONTOSO, DEPLOY_APP)
        assert exchange.credential._func() == OIDC_VALUE
        assert len(github.state.requests) == 2  # a fresh GitHub token for each Entra ID token


def test_a_workstation_stack_client_id_wins_for_both_and_a_disagreeing_azure_client_id_refuses(monkeypatch):
    """azuread:clientId in the stack file (a workstation run): the provider and the gate both take it;
    azure-identity's AZURE_CLIENT_ID naming another app stops the run before anything is read."""

    def boom(*args, **kwargs):
        raise AssertionError("the gate read the tenant although the identities disagree")

    monkeypatch.setattr(components.gate.engine, "read_tenant_sync", boom)
    workstation = "7a7a7a7a-0000-4000-8000-00000000000a"
    config = {**shipped_stack_config("contoso"), "azuread:clientId": workstation,
              "azuread:oidcTokenFilePath": "/home/me/token"}
    run = run_program(main, stack="contoso", config=config, env={"AZURE_CLIENT_ID": DEPLOY_APP})
    assert str(run.error) == ("tenant contoso: sign-in settings disagree (1 problem(s), see the errors above); "
                              "nothing was read or registered")
    assert run.messages("ERROR") == [
        "tenant contoso: the preview gate and the azuread provider would not sign in as one identity: AZURE_CLIENT_ID "
        f"is {DEPLOY_APP} but the provider signs in as {workstation} (azuread:clientId or ARM_CLIENT_ID); "
        "set one client id"]
    assert run.resources == []


def test_the_deployment_signs_in_with_the_refreshing_jobs_app_and_refuses_what_the_gate_refuses(tmp_path):
    """A nightly refresh reads the deployment with the read app of that job: the client id is
    never taken from the state of the last `up`."""
    token = tmp_path / "token"
    token.write_text("federated")
    props = {"tenant_id": CONTOSO, "app_id": "00000000-5a6e-4000-8000-0000000000a1", "auth": {"useOidc": "true"}}
    read_app = "8b8b8b8b-0000-4000-8000-00000000000b"
    credential = exchange_credential(props, {"ARM_CLIENT_ID": read_app, "ARM_OIDC_TOKEN_FILE_PATH": str(token)})
    assert type(credential.credential).__name__ == "WorkloadIdentityCredential"
    assert credential.tenant_id == CONTOSO
    with pytest.raises(DeploymentError) as refused:
        exchange_credential(props, {"ARM_USE_OIDC": "true", "ARM_TENANT_ID": "99999999-9999-4999-8999-999999999999"})
    assert str(refused.value) == (
        f"tenant {CONTOSO}, add-in 00000000-5a6e-4000-8000-0000000000a1: cannot sign in to Exchange Online as the "
        f"azuread provider does: ARM_TENANT_ID names tenant 99999999-9999-4999-8999-999999999999, but this stack is "
        f"pinned to {CONTOSO}; unset it; azuread:clientId (or ARM_CLIENT_ID) is not set: with OIDC the provider cannot "
        "sign in; no OIDC token: set azuread:oidcTokenFilePath (or ARM_OIDC_TOKEN_FILE_PATH), or run in GitHub "
        "Actions with `permissions: id-token: write` (ACTIONS_ID_TOKEN_REQUEST_TOKEN/URL)")
