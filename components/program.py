"""The Pulumi program for one tenant's stack, called by __main__.py.

Order matters: everything that can refuse the run (declaration, catalogue, tenantId pin,
preview gate) happens before the first resource is registered, so a refused run leaves
the tenant and the state untouched.
"""

from __future__ import annotations

from pathlib import Path

import pulumi
import pulumi_azuread as azuread

from components.adoption import Adoption, plan
from components.gate import GateSettings, run_gate
from components.tenant import SageTenant, SageTenantArgs
from sage365.catalog import DEFAULT_CATALOG, Catalog, load_catalog
from sage365.declaration import DeclarationError, Tenant, load_tenant
from sage365.graph import identity

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# azuread provider settings passed through from stack config to the explicit provider:
# an explicit provider does not read the `azuread:` namespace by itself.
_PROVIDER_STRINGS = ("clientId", "environment", "oidcTokenFilePath", "oidcToken", "oidcRequestToken", "oidcRequestUrl",
                     "clientCertificatePath", "clientCertificatePassword")
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


def service_principal_urn(stack: str, app_key: str) -> str:
    """The URN SageTenant gives an app's service principal (project sage365)."""
    return (f"urn:pulumi:{stack}::sage365::sage365:tenant:SageTenant$sage365:consent:Consent$"
            f"azuread:index/servicePrincipal:ServicePrincipal::{stack}-consent-{app_key}-sp")


def removed_consent_message(stack: str, tenant: Tenant, app_key: str, object_id: str) -> str:
    """What happens when a consent leaves the YAML, and what to run: the protected SP stays."""
    urn = service_principal_urn(stack, app_key)
    return (
        f"tenant {tenant.name}: '{app_key}' is not in consents, but its service principal {object_id} exists "
        f"in the tenant. If this stack managed that consent, this update stops on its service principal, "
        f"which is protected: nothing of that consent is deleted and the service principal stays in the tenant. "
        f"To stop managing it and leave the tenant as it is: pulumi state delete --force --target-dependents "
        f"'{urn}' --stack {stack}. To revoke it in the tenant (every user loses the app): pulumi state unprotect "
        f"'{urn}' --stack {stack}, then pulumi up. If this stack never managed it, nothing changes."
    )


def report_adoption(stack: str, tenant: Tenant, adoption: Adoption) -> None:
    """Say in the preview what is adopted and which undeclared consents exist."""
    if adoption.imports:
        pulumi.log.info(f"tenant {tenant.name}: {adoption.imports} object(s) that already exist in the tenant "
                        "are adopted (imported), not created")
    for key, object_id in sorted(adoption.undeclared.items()):
        pulumi.log.warn(removed_consent_message(stack, tenant, key, object_id))
    for unread in adoption.unread:
        pulumi.log.warn(f"tenant {tenant.name}: could not be read, so what exists there cannot be adopted and "
                        f"`up` may stop on a conflict: {unread}")


def main() -> None:
    stack = pulumi.get_stack()
    config = pulumi.Config("sage365")
    azuread_config = pulumi.Config("azuread")
    tenant, catalog = load_inputs(stack, config)
    check_tenant_pin(stack, tenant, azuread_config)
    settings = GateSettings.from_config(config, azuread_config)
    outcome = run_gate(tenant, catalog, settings)
    adoption = plan(tenant, catalog, outcome.snapshot)
    report_adoption(stack, tenant, adoption)

    provider = tenant_provider(tenant, azuread_config)
    sage_tenant = SageTenant(
        tenant.name,
        SageTenantArgs(tenant=tenant, catalog=catalog, premium_sku_id=outcome.premium_sku_id, adoption=adoption,
                       deploy_addins=settings.deploy_addins, exchange_url=settings.exchange_url,
                       auth_settings={k: v for k in identity.PUBLIC_SETTINGS if (v := azuread_config.get(k))}),
        pulumi.ResourceOptions(providers=[provider]),
    )
    pulumi.export("tenantId", tenant.tenant_id)
    pulumi.export("summary", sage_tenant.summary)
