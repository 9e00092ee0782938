"""What the three consent checks share: finding a declared app's service principal and
the grants it holds on Microsoft Graph, or the finding that says why that is impossible."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

from sage365.catalog import MICROSOFT_GRAPH_APP_ID, App, Catalog
from sage365.checks.base import CheckMetadata, Text, first_error, localize
from sage365.declaration import Tenant
from sage365.findings import Finding, Status
from sage365.snapshot import Part, ServicePrincipal, Snapshot

NO_SERVICE_PRINCIPAL: Text = {
    "en": "{app} has no service principal in the tenant, so nothing is granted to it",
    "fr": "{app} n'a pas de principal de service dans le tenant, rien ne peut donc lui être accordé",
}
NO_GRAPH: Text = {
    "en": f"Microsoft Graph's service principal (appId {MICROSOFT_GRAPH_APP_ID}) was not found",
    "fr": f"Le principal de service de Microsoft Graph (appId {MICROSOFT_GRAPH_APP_ID}) est introuvable",
}


def service_principal(snapshot: Snapshot, app_id: str) -> ServicePrincipal | None:
    """The service principal for `app_id`; appIds are GUIDs, compared case-insensitively."""
    found = snapshot.service_principals.get(app_id)
    if found is not None:
        return found
    return next((sp for key, sp in snapshot.service_principals.items() if key.lower() == app_id.lower()), None)


def graph_service_principal(snapshot: Snapshot) -> ServicePrincipal | None:
    """Microsoft Graph's service principal: the snapshot's own field, else by appId."""
    return snapshot.graph_service_principal or service_principal(snapshot, MICROSOFT_GRAPH_APP_ID)


def permission_key(value: str) -> str:
    """The form in which permission values (scopes, app role values) compare: case-insensitively,
    as Entra treats them."""
    return value.casefold()


def differences(expected: Iterable[str], actual: Iterable[str]) -> tuple[list[str], list[str]]:
    """(missing, extra), by permission_key; sorted."""
    want = {permission_key(v): v for v in expected}
    have = {permission_key(v): v for v in actual}
    missing = sorted((want[k] for k in want.keys() - have.keys()), key=str.casefold)
    extra = sorted((have[k] for k in have.keys() - want.keys()), key=str.casefold)
    return missing, extra


@dataclass(frozen=True)
class Consent:
    """A declared consent that can be checked against Microsoft Graph."""

    key: str
    app: App
    client: ServicePrincipal  # the Sage app's service principal
    graph: ServicePrincipal  # Microsoft Graph's service principal


def consents(
    meta: CheckMetadata, tenant: Tenant, catalog: Catalog, snapshot: Snapshot, parts: tuple[Part, ...],
    lang: str, expected: Callable[[App], str],
) -> Iterator[Consent | Finding]:
    """For each declared consent: a Consent to check, or the finding that ends its check."""
    for key in tenant.consents:
        app = catalog.apps.get(key)
        unreadable = first_error(snapshot, parts, key)
        if unreadable:
            yield meta.error(tenant, key, *unreadable, lang)
        elif app is None:
            yield meta.not_in_catalog(tenant, key, lang)
        elif (client := service_principal(snapshot, app.app_id)) is None:
            # The dependency is missing, so the grant cannot exist: a failure, never a pass.
            yield _finding(meta, tenant, Status.FAIL, key, expected(app), "no service principal",
                           localize(NO_SERVICE_PRINCIPAL, lang, app=app.display_name), lang)
        elif (graph := graph_service_principal(snapshot)) is None:
            # Every tenant has it; its absence means the snapshot is incomplete.
            yield meta.error(tenant, key, Part.SERVICE_PRINCIPALS, localize(NO_GRAPH, lang), lang)
        else:
            yield Consent(key, app, client, graph)


def _finding(meta: CheckMetadata, tenant: Tenant, status: Status, resource: str, expected: str, actual: str,
             message: str, lang: str) -> Finding:
    return Finding(tenant=tenant.name, check=meta.id, status=status, severity=meta.severity, resource=resource,
                   expected=expected, actual=actual, message=message, remediation=localize(meta.remediation, lang))
