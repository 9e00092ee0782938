"""The sage365 CrossGuard policy pack (run with `pulumi preview --policy-pack policies`).

Constructing the PolicyPack starts the analyzer's gRPC server: tests import
sage365_policies, never this module.
"""

import os
import sys
from pathlib import Path

from pulumi_policy import EnforcementLevel, PolicyPack

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
    policies=rules.policies(catalog, tenants),
)
