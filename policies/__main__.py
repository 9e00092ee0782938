"""The sage365 CrossGuard policy pack (run with `pulumi preview --policy-pack policies`).

Constructing the PolicyPack starts the analyzer's gRPC server: tests import
sage365_policies, never this module.
"""

import os
import sys
from pathlib import Path

from pulumi_policy import (
    EnforcementLevel,
    PolicyPack,
    ResourceValidationPolicy,
    StackValidationPolicy,
)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the policy pack runs from policies/: make sage365 importable

import sage365_policies as rules  # noqa: E402

from sage365.catalog import load_catalog  # noqa: E402

# The same catalogue as the program; SAGE365_CATALOG overrides it like sage365:catalogFile.
catalog = load_catalog(os.environ.get("SAGE365_CATALOG") or ROOT / "catalog/catalog.yaml")
tenants = rules.declared_tenant_ids(Path(os.environ.get("SAGE365_TENANTS") or ROOT / "tenants"))

PolicyPack(
    name="sage365",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[
        StackValidationPolicy(
            name="sage365-grant-scopes-in-catalogue",
            description="A Sage app's delegated grant carries only the catalogue's scopes.",
            validate=rules.validate_grant_scopes(catalog),
        ),
        ResourceValidationPolicy(
            name="sage365-tenant-provider",
            description="Every azuread resource uses the stack's explicit provider, pinned to the declared tenant.",
            validate=rules.validate_tenant_provider(tenants),
        ),
        StackValidationPolicy(
            name="sage365-single-tenant-provider",
            description="All azuread resources of a stack share one provider: one stack, one tenant.",
            validate=rules.validate_single_provider,
        ),
        ResourceValidationPolicy(
            name="sage365-protect-sage-service-principal",
            description="A Sage app's service principal is protected against deletion.",
            validate=rules.validate_protected_service_principal(catalog),
        ),
    ],
)
