"""The Pulumi program for one tenant's stack, called by __main__.py.

Order matters: everything that can refuse the run (declaration, catalogue, tenantId pin,
preview gate) happens before the first resource is registered, so a refused run leaves
the tenant and the state untouched.
"""

from __future__ import annotations

from pathlib import Path

import pulumi
import pulumi_azuread as azuread

from components.gate import GateSettings, run_gate
from components.tenant import SageTenant, SageTenantArgs
from sage365.catalog import DEFAULT_CATALOG, Catalog, load_catalog
from sage365.declaration import DeclarationError, Tenant, load_tenant

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# azuread provider settings passed through from stack config to the explicit provider:
# an explicit provider does not read the `azuread:` namespace by itself.
_PROVIDER_STRINGS = ("clientId", "environment", "oidcTokenFilePath", "clientCertificatePath")
_PROVIDER_BOOLS = ("useOidc", "useCli", "useMsi", "useAksWorkloadIdentity")


def _path(value: str | None, default: Path) -> Path:
    path = Path(value) if value else default
    return path if path.is_absolute() else PROJECT_ROOT / path


def load_inputs(stack: str, config: pulumi.Config) -> tuple[Tenant, Catalog]:
    """The stack's tenant declaration and the catalogue, or a RunError listing every problem."""
    tenant_file = _path(config.get("tenantFile"), Path("tenants") / f"{stack}.yaml")
    catalog_file = _path(config.get("catalogFile"), DEFAULT_CATALOG)
    try:
        tenant = load_tenant(tenant_file)
        catalog = load_catalog(catalog_file)
    except DeclarationError as exc:
        raise pulumi.RunError(f"stack {stack}: the declaration cannot be used:\n{exc}") from None
    unknown = sorted({*tenant.consents, *(a.app for a in tenant.addins)} - set(catalog.apps))
    if unknown:
        raise pulumi.RunError(
            f"stack {stack}: {tenant.path} names apps missing from the catalogue {catalog_file}: {', '.join(unknown)}"
        )
    not_addins = sorted(a.app for a in tenant.addins if catalog.apps[a.app].addin is None)
    if not_addins:
        raise pulumi.RunError(f"stack {stack}: {tenant.path} assigns apps that are not add-ins: {', '.join(not_addins)}")
    return tenant, catalog


def check_tenant_pin(stack: str, tenant: Tenant, azuread_config: pulumi.Config) -> None:
    """The stack's `azuread:tenantId` must be the declaration's: a copied stack file must
    never point one customer's declaration at another customer's tenant."""
    configured = (azuread_config.get("tenantId") or "").lower()
    if not configured:
        raise pulumi.RunError(f"stack {stack}: azuread:tenantId is not set; expected {tenant.tenant_id} from {tenant.path}")
    if configured != tenant.tenant_id:
        raise pulumi.RunError(
            f"stack {stack}: azuread:tenantId {configured} differs from spec.tenantId {tenant.tenant_id} in "
            f"{tenant.path}; nothing was registered"
        )


def tenant_provider(tenant: Tenant, azuread_config: pulumi.Config) -> azuread.Provider:
    """The stack's one azuread provider, pinned to the declared tenant; OIDC unless configured otherwise."""
    settings: dict[str, object] = {
        _snake(key): azuread_config.get(key) for key in _PROVIDER_STRINGS if azuread_config.get(key)
    }
    settings.update({_snake(key): azuread_config.get_bool(key) for key in _PROVIDER_BOOLS if azuread_config.get(key)})
    if not any(azuread_config.get(key) for key in _PROVIDER_BOOLS):  # no auth chosen: OIDC
        settings["use_oidc"] = True
    return azuread.Provider(f"{tenant.name}-azuread", tenant_id=tenant.tenant_id, **settings)


def _snake(key: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in key)


def main() -> None:
    stack = pulumi.get_stack()
    config = pulumi.Config("sage365")
    azuread_config = pulumi.Config("azuread")
    tenant, catalog = load_inputs(stack, config)
    check_tenant_pin(stack, tenant, azuread_config)
    outcome = run_gate(tenant, catalog, GateSettings.from_config(config))

    provider = tenant_provider(tenant, azuread_config)
    sage_tenant = SageTenant(
        tenant.name,
        SageTenantArgs(tenant=tenant, catalog=catalog, premium_sku_id=outcome.premium_sku_id),
        pulumi.ResourceOptions(providers=[provider]),
    )
    pulumi.export("tenantId", tenant.tenant_id)
    pulumi.export("summary", sage_tenant.summary)
