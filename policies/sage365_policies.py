"""CrossGuard rules for sage365 stacks, as functions tests can call without the Pulumi CLI.

Each rule is a pure function of plain data (resource type, props, options, provider) and
the partner's catalogue, returning violation messages; the thin `validate_*` adapters
turn pulumi_policy's arguments into that plain data. __main__.py builds the PolicyPack.

Rules:
- sage365-grant-scopes-in-catalogue: a delegated grant of a Sage app carries only the
  catalogue's scopes for that app (a hand-edited program must not widen a consent);
- sage365-tenant-provider: every azuread resource goes through its own stack's explicit
  provider (`<stack>-azuread`), pinned to the tenantId tenants/<stack>.yaml names;
- sage365-single-tenant-provider: all azuread resources of a stack share one provider;
- sage365-protect-sage-service-principal: a Sage app's service principal is protected.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from sage365.catalog import Catalog
from sage365.declaration import DeclarationError, load_tenant

SERVICE_PRINCIPAL = "azuread:index/servicePrincipal:ServicePrincipal"
DELEGATED_GRANT = "azuread:index/servicePrincipalDelegatedPermissionGrant:ServicePrincipalDelegatedPermissionGrant"
AZUREAD_PROVIDER = "pulumi:providers:azuread"
PROVIDER_SUFFIX = "-azuread"  # components.program names the provider f"{tenant}-azuread"

TenantIdLookup = Callable[[str], "str | None"]  # tenant slug -> declared tenantId, or None


def sage_app_keys(catalog: Catalog) -> dict[str, str]:
    """appId (lower case) -> catalogue key, for Sage's apps only."""
    return {app.app_id.lower(): key for key, app in catalog.apps.items()}


# -- pure rules --------------------------------------------------------------------


def grant_scope_violations(client_app_id: str | None, claim_values: Iterable[str] | None, catalog: Catalog) -> list[str]:
    """A grant whose client is a Sage app must carry only that app's catalogue scopes."""
    key = sage_app_keys(catalog).get((client_app_id or "").lower())
    if key is None or claim_values is None:  # not a Sage app, or scopes unknown in preview
        return []
    extra = sorted(set(claim_values) - set(catalog.apps[key].delegated_scopes))
    if not extra:
        return []
    return [
        f"delegated grant for Sage app '{key}' ({client_app_id}) has scopes outside the catalogue: "
        f"{', '.join(extra)}; allowed: {', '.join(catalog.apps[key].delegated_scopes)}"
    ]


def provider_violations(
    resource_type: str,
    provider: Mapping[str, Any] | None,
    declared_tenant_id: TenantIdLookup,
    stack: str | None = None,
) -> list[str]:
    """An azuread resource must use its stack's explicit azuread provider, pinned to the
    tenant that stack's declaration names.

    provider: {"type", "name", "props"} of the resource's provider, or None.
    stack: the resource's stack (tenant slug), from its URN; a contoso stack must not reach
    fabrikam even through fabrikam's correctly pinned provider.
    """
    if not resource_type.startswith("azuread:"):
        return []
    if provider is None:
        return [f"{resource_type} has no provider: it must use the stack's tenant provider"]
    name, ptype, props = provider.get("name", ""), provider.get("type", ""), provider.get("props") or {}
    if ptype != AZUREAD_PROVIDER:
        return [f"{resource_type} uses provider {name} of type {ptype}, not an azuread provider"]
    if name.startswith("default") or not name.endswith(PROVIDER_SUFFIX):
        return [
            f"{resource_type} uses provider '{name}', not the stack's explicit tenant provider "
            f"('<tenant>{PROVIDER_SUFFIX}'); default providers could reach whatever tenant the environment names"
        ]
    slug = name[: -len(PROVIDER_SUFFIX)]
    if stack is not None and slug != stack:
        return [
            f"{resource_type} in stack '{stack}' uses provider '{name}': only '{stack}{PROVIDER_SUFFIX}' "
            "may reach this stack's tenant"
        ]
    expected = declared_tenant_id(slug)
    actual = str(props.get("tenantId") or "").lower()
    if expected is None:
        return [f"{resource_type} uses provider '{name}' but no tenant declaration names '{slug}'"]
    if actual != expected.lower():
        return [
            f"{resource_type} uses provider '{name}' pinned to tenant {actual or '(none)'}, "
            f"but tenants/{slug}.yaml declares {expected}"
        ]
    return []


def protect_violations(resource_type: str, props: Mapping[str, Any], protect: bool, catalog: Catalog) -> list[str]:
    """Deleting a Sage app's service principal revokes the app for the whole tenant."""
    if resource_type != SERVICE_PRINCIPAL:
        return []
    client_id = str(props.get("clientId") or "").lower()
    key = sage_app_keys(catalog).get(client_id)
    if key is None or protect:
        return []
    return [f"service principal of Sage app '{key}' ({client_id}) must be protected (ResourceOptions(protect=True))"]


def single_provider_violations(resources: Iterable[tuple[str, str, str | None]]) -> list[tuple[str, str]]:
    """All azuread resources of a stack share one provider: (urn, message) per stray one.

    resources: (type, urn, provider urn or None).
    """
    azuread = [(t, urn, p) for t, urn, p in resources if t.startswith("azuread:")]
    providers = sorted({p for _, _, p in azuread if p})
    if len(providers) <= 1:
        return []
    return [
        (urn, f"the stack's azuread resources use {len(providers)} providers ({', '.join(providers)}); one tenant, one provider")
        for _, urn, _ in azuread
    ]


def stack_of(urn: str) -> str:
    """The stack name in a URN: urn:pulumi:<stack>::<project>::<type>::<name>."""
    return urn.split("::", 1)[0].split(":")[-1]


def declared_tenant_ids(tenants_dir: Path) -> TenantIdLookup:
    """A lookup of tenants/<slug>.yaml's tenantId; unreadable declarations count as absent."""

    def lookup(slug: str) -> str | None:
        path = tenants_dir / f"{slug}.yaml"
        if not path.is_file():
            return None
        try:
            return load_tenant(path).tenant_id
        except DeclarationError:
            return None

    return lookup


# -- pulumi_policy adapters ---------------------------------------------------------


def _provider_dict(provider: Any) -> dict[str, Any] | None:
    if provider is None:
        return None
    return {"type": provider.resource_type, "name": provider.name, "props": dict(provider.props or {})}


def validate_tenant_provider(lookup: TenantIdLookup):
    def validate(args, report_violation) -> None:
        provider = _provider_dict(args.provider)
        for message in provider_violations(args.resource_type, provider, lookup, stack_of(args.urn)):
            report_violation(message, None)

    return validate


def validate_protected_service_principal(catalog: Catalog):
    def validate(args, report_violation) -> None:
        for message in protect_violations(args.resource_type, args.props, bool(args.opts.protect), catalog):
            report_violation(message, None)

    return validate


def validate_grant_scopes(catalog: Catalog):
    """Stack-level: a grant's client is the ServicePrincipal its servicePrincipalObjectId
    comes from (known from property dependencies even while object ids are unknown)."""

    def validate(args, report_violation) -> None:
        by_object_id = {
            str(r.props.get("objectId")): r for r in args.resources
            if r.resource_type == SERVICE_PRINCIPAL and r.props.get("objectId")
        }
        for resource in args.resources:
            if resource.resource_type != DELEGATED_GRANT:
                continue
            client = next(
                (d for d in resource.property_dependencies.get("servicePrincipalObjectId", [])
                 if d.resource_type == SERVICE_PRINCIPAL),
                None,
            ) or by_object_id.get(str(resource.props.get("servicePrincipalObjectId")))
            client_app_id = client.props.get("clientId") if client is not None else None
            for message in grant_scope_violations(client_app_id, resource.props.get("claimValues"), catalog):
                report_violation(message, resource.urn)

    return validate


def validate_single_provider(args, report_violation) -> None:
    rows = [(r.resource_type, r.urn, r.provider.urn if r.provider else None) for r in args.resources]
    for urn, message in single_provider_violations(rows):
        report_violation(message, urn)
