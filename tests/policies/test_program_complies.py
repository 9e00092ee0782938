"""What the program registers for each example tenant passes every rule of the policy pack."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from components.program import main
from sage365.catalog import load_catalog
from tests.components.harness import TENANT_IDS, run_program

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "policies"))
import sage365_policies as rules  # noqa: E402

CATALOG = load_catalog(ROOT / "catalog/catalog.yaml")


@pytest.mark.parametrize("stack", sorted(TENANT_IDS))
def test_program_output_passes_the_rules(stack):
    run = run_program(main, stack=stack, config={
        "azuread:tenantId": TENANT_IDS[stack], "sage365:skipGate": "true",
        "sage365:premiumSkuId": "078d2b04-f1bd-4111-bbd4-b4b1b354cef4",
    })
    assert run.error is None
    lookup = rules.declared_tenant_ids(ROOT / "tenants")
    by_urn = {r.urn: r for r in run.resources}
    violations, custom = [], [r for r in run.resources if r.custom and not r.type.startswith("pulumi:providers:")]
    for r in custom:
        provider_urn = r.provider.rsplit("::", 1)[0]
        prov = by_urn[provider_urn]
        provider = {"type": prov.type, "name": prov.name, "props": run.state[provider_urn]}
        state = run.state[r.urn]
        violations += rules.provider_violations(r.type, provider, lookup, rules.stack_of(r.urn))
        violations += rules.protect_violations(r.type, state, r.protect, CATALOG)
        if r.type == rules.DELEGATED_GRANT:
            client = next(run.state[x.urn] for x in custom if run.state[x.urn].get("objectId") == state["servicePrincipalObjectId"])
            violations += rules.grant_scope_violations(client["clientId"], state["claimValues"], CATALOG)
    violations += [m for _, m in rules.single_provider_violations((r.type, r.urn, r.provider) for r in custom)]
    assert violations == []
    grants = {"contoso": 2, "fabrikam": 1, "northwind": 2}[stack]
    assert sum(r.type == rules.DELEGATED_GRANT for r in custom) == grants  # the rules did see grants
