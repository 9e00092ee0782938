"""CrossGuard rules for sage365 stacks, as functions tests can call without the Pulumi CLI.

Each rule is a pure function of plain data (resource type, props, options, provider) and
the partner's catalogue, returning violation messages; the thin `validate_*` adapters
turn pulumi_policy's arguments into that plain data. __main__.py builds the PolicyPack.

Rules:
- sage365-grant-scopes-in-catalogue: a delegated grant of a Sage app carries only the
  catalogue's scopes for that app (a hand-edited program must not widen a consent). A
  resource policy, so it runs before the grant is created or updated, in `up` as in
  preview; a stack policy runs after the resource steps, too late to stop a widened grant.
  The app is the one its sage365:consent:Consent parent is named for (known in preview,
  unlike object ids); sage365-grant-client, a stack policy, checks in addition that the
  grant's client service principal is that app's (through property dependencies, which
  stay known when the object ids are not);
- sage365-tenant-provider: every azuread resource goes through its own stack's explicit
  provider (`<stack>-azuread`), pinned to the tenantId tenants/<stack>.yaml names;
- sage365-single-tenant-provider: all azuread resources of a stack share one provider;
- sage365-protect-sage-service-principal: a Sage app's service principal is protected.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from pulumi_policy import (
    EnforcementLevel,
    ResourceValidationPolicy,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

from sage365.catalog import Catalog
from sage365.declaration import DeclarationError, load_tenant

SERVICE_PRINCIPAL = "azuread:index/servicePrincipal:ServicePrincipal"
DELEGATED_GRANT = "azuread:index/servicePrincipalDelegatedPermissionGrant:ServicePrincipalDelegatedPermissionGrant"
AZUREAD_PROVIDER = "pulumi:providers:azuread"
PROVIDER_SUFFIX = "-azuread"  # components.program names the provider f"{tenant}-azuread"

CONSENT = "sage365:consent:Consent"
TenantIdLookup = Callable[[str], "str | None"]  # tenant slug -> declared tenantId, or None


class _Unknown:
    """A value pulumi_policy's proxy reports as unknown (preview): never a Sage id, never a scope."""

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN = _Unknown()


def known(props: Mapping[str, Any] | None, key: str, default: Any = None) -> Any:
    """props[key] read through pulumi_policy's proxy: UNKNOWN instead of raising UnknownValueError.

    An UnknownValueError escaping a validate() makes pulumi_policy report the policy as not run
    ("can't run policy ... during preview") at advisory level: a mandatory policy would pass.
    """
    if props is None:
        return default
    try:
        return props[key] if key in props else default
    except UnknownValueError:
        return UNKNOWN


def plain(value: Any) -> Any:
    """A proxied list or dict as plain Python, or UNKNOWN if any part of it is unknown."""
    try:
        if isinstance(value, Mapping):
            return {k: plain(value[k]) for k in value}
        if isinstance(value, (list, tuple)) or (hasattr(value, "__len__") and hasattr(value, "__getitem__")
                                                and not isinstance(value, str)):
            items = [plain(value[i]) for i in range(len(value))]
            return UNKNOWN if any(i is UNKNOWN for i in items) else items
    except UnknownValueError:
        return UNKNOWN
    return value


def sage_app_keys(catalog: Catalog) -> dict[str, str]:
    """appId (lower case) -> catalogue key, for Sage's apps only."""
    return {app.app_id.lower(): key for key, app in catalog.apps.items()}


# -- pure rules --------------------------------------------------------------------


def grant_scope_violations(client_app_id: str | None, claim_values: Iterable[str] | None, catalog: Catalog) -> list[str]:
    """A grant whose client is a Sage app must carry only that app's catalogue scopes."""
    key = sage_app_keys(catalog).get((client_app_id or "").lower()) if isinstance(client_app_id, str) else None
    if key is None or claim_values is None:  # not a Sage app
        return []
    return consent_scope_violations(key, claim_values, catalog, client_app_id)


def consent_scope_violations(key: str, claim_values: Any, catalog: Catalog, client_app_id: str | None = None) -> list[str]:
    """The scopes of a grant for catalogue app `key` must be among the catalogue's."""
    app_id = client_app_id or catalog.apps[key].app_id
    if claim_values is UNKNOWN or not isinstance(claim_values, (list, tuple)):
        # Fail closed: a scope list that cannot be read cannot be shown to be the catalogue's.
        return [f"delegated grant for Sage app '{key}' ({app_id}) has scopes that are unknown at preview; "
                "declare them as literal catalogue values"]
    extra = sorted(set(claim_values) - set(catalog.apps[key].delegated_scopes))
    if not extra:
        return []
    return [
        f"delegated grant for Sage app '{key}' ({app_id}) has scopes outside the catalogue: "
        f"{', '.join(extra)}; allowed: {', '.join(catalog.apps[key].delegated_scopes)}"
    ]


def consent_of(urn: str) -> str | None:
    """The catalogue key a resource's sage365:consent:Consent parent is named for, from its URN
    (`<stack>-consent-<key>-<suffix>` under `...$sage365:consent:Consent$<type>`), else None."""
    parts = urn.split("::")
    if len(parts) < 4:
        return None
    types = parts[2].split("$")
    if len(types) < 2 or types[-2] != CONSENT:
        return None
    prefix = f"{stack_of(urn)}-consent-"
    name = parts[3]
    if not (name.startswith(prefix) and name.endswith("-grant")):
        return None
    return name[len(prefix) : -len("-grant")] or None


def resource_grant_violations(urn: str, claim_values: Any, catalog: Catalog) -> list[str]:
    """The grant rule at resource level: judged by the Consent it belongs to.

    A Sage-named Consent's grant carries only the catalogue's scopes. A grant outside any
    Consent is left to sage365-grant-client, which finds its client by dependencies.
    """
    key = consent_of(urn)
    if key is None:
        return []
    if key not in catalog.apps:
        return [f"delegated grant {urn} belongs to consent '{key}', which the catalogue does not name"]
    return consent_scope_violations(key, claim_values, catalog)


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
    pinned = known(props, "tenantId")
    if pinned is UNKNOWN:
        return [f"{resource_type} uses provider '{name}' whose tenantId is unknown at preview: pin it in stack config"]
    actual = str(pinned or "").lower()
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
    if resource_type != SERVICE_PRINCIPAL or protect:
        return []
    client = known(props, "clientId")
    if client is UNKNOWN:  # cannot be shown not to be a Sage app: fail closed
        return ["an unprotected service principal's clientId is unknown at preview: it may be a Sage app's; "
                "protect it (ResourceOptions(protect=True)) or declare clientId literally"]
    client_id = str(client or "").lower()
    key = sage_app_keys(catalog).get(client_id)
    if key is None:
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
    return {"type": provider.resource_type, "name": provider.name, "props": provider.props or {}}


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
    """Resource-level: a Consent's grant carries only its app's catalogue scopes."""

    def validate(args, report_violation) -> None:
        if args.resource_type != DELEGATED_GRANT:
            return
        for message in resource_grant_violations(args.urn, plain(known(args.props, "claimValues")), catalog):
            report_violation(message, None)

    return validate


def validate_grant_client(catalog: Catalog):
    """Stack-level: a grant's client is the ServicePrincipal its servicePrincipalObjectId comes
    from (a property dependency, known even while object ids are not); that client's scopes
    must be the catalogue's, and a Consent's grant must belong to that Consent's app."""

    def validate(args, report_violation) -> None:
        by_object_id = {}
        for r in args.resources:
            object_id = known(r.props, "objectId") if r.resource_type == SERVICE_PRINCIPAL else None
            if isinstance(object_id, str) and object_id:
                by_object_id[object_id] = r
        for resource in args.resources:
            if resource.resource_type != DELEGATED_GRANT:
                continue
            client = next(
                (d for d in resource.property_dependencies.get("servicePrincipalObjectId", [])
                 if d.resource_type == SERVICE_PRINCIPAL),
                None,
            )
            if client is None:
                object_id = known(resource.props, "servicePrincipalObjectId")
                client = by_object_id.get(object_id) if isinstance(object_id, str) else None
            client_app_id = known(client.props, "clientId") if client is not None else None
            scopes = plain(known(resource.props, "claimValues"))
            messages = grant_scope_violations(client_app_id if isinstance(client_app_id, str) else None, scopes, catalog)
            key = consent_of(resource.urn)
            if key in catalog.apps and isinstance(client_app_id, str) and client_app_id.lower() != catalog.apps[key].app_id.lower():
                messages.append(f"delegated grant of consent '{key}' is given to client {client_app_id}, "
                                f"not to {key}'s appId {catalog.apps[key].app_id}")
            for message in messages:
                report_violation(message, resource.urn)

    return validate


def validate_single_provider(args, report_violation) -> None:
    rows = [(r.resource_type, r.urn, r.provider.urn if r.provider else None) for r in args.resources]
    for urn, message in single_provider_violations(rows):
        report_violation(message, urn)


def policies(catalog: Catalog, tenants: TenantIdLookup) -> list:
    """The pack's policies, every one mandatory (policies/__main__.py builds the PolicyPack)."""
    return [
        ResourceValidationPolicy(
            name="sage365-grant-scopes-in-catalogue",
            description="A Sage app's delegated grant carries only the catalogue's scopes.",
            validate=validate_grant_scopes(catalog),
            enforcement_level=EnforcementLevel.MANDATORY,
        ),
        StackValidationPolicy(
            name="sage365-grant-client",
            description="A delegated grant's client is the Sage app its Consent is named for, with the catalogue's scopes.",
            validate=validate_grant_client(catalog),
            enforcement_level=EnforcementLevel.MANDATORY,
        ),
        ResourceValidationPolicy(
            name="sage365-tenant-provider",
            description="Every azuread resource uses the stack's explicit provider, pinned to the declared tenant.",
            validate=validate_tenant_provider(tenants),
            enforcement_level=EnforcementLevel.MANDATORY,
        ),
        StackValidationPolicy(
            name="sage365-single-tenant-provider",
            description="All azuread resources of a stack share one provider: one stack, one tenant.",
            validate=validate_single_provider,
            enforcement_level=EnforcementLevel.MANDATORY,
        ),
        ResourceValidationPolicy(
            name="sage365-protect-sage-service-principal",
            description="A Sage app's service principal is protected against deletion.",
            validate=validate_protected_service_principal(catalog),
            enforcement_level=EnforcementLevel.MANDATORY,
        ),
    ]
