"""consent.app_roles: the application roles (app-only permissions) a Sage app holds on
Microsoft Graph are exactly the catalogue's: missing and extra both drift.

Assignments name roles by id; Microsoft Graph's service principal says which value
(User.Read.All, ...) each id stands for.
"""

from __future__ import annotations

from sage365.catalog import Catalog
from sage365.checks.base import CheckMetadata, listing
from sage365.checks.consent_common import Consent, consents, differences
from sage365.declaration import Tenant
from sage365.findings import Finding, Severity, Status
from sage365.snapshot import Part, Snapshot

METADATA = CheckMetadata(
    id="consent.app_roles",
    title={
        "en": "Application permissions on Microsoft Graph match the catalogue",
        "fr": "Les autorisations d'application sur Microsoft Graph correspondent au catalogue",
    },
    severity=Severity.HIGH,
    blocking=False,
    remediation={
        "en": "Run `pulumi up` for the tenant to grant exactly the catalogue's application permissions, or "
        "re-consent from Sage Business Centre with the Global Administrator; remove extra ones in the Entra "
        "admin centre > Enterprise applications > the app > Permissions > Revoke permission.",
        "fr": "Lancez `pulumi up` pour le tenant afin d'accorder exactement les autorisations d'application du "
        "catalogue, ou redonnez le consentement depuis Sage Business Centre avec l'administrateur général ; "
        "retirez celles en trop dans le centre d'administration Entra > Applications d'entreprise > "
        "l'application > Autorisations > Révoquer l'autorisation.",
    },
    messages={
        "pass": {"en": "{app}'s application permissions on Microsoft Graph match the catalogue",
                 "fr": "Les autorisations d'application de {app} sur Microsoft Graph correspondent au catalogue"},
        "drift": {"en": "{app}'s application permissions on Microsoft Graph differ: missing {missing}; "
                        "extra {extra}",
                  "fr": "Les autorisations d'application de {app} sur Microsoft Graph diffèrent : manquantes "
                        "{missing} ; en trop {extra}"},
    },
)


def check(tenant: Tenant, catalog: Catalog, snapshot: Snapshot, *, lang: str = "en") -> list[Finding]:
    findings = []
    parts = (Part.SERVICE_PRINCIPALS, Part.APP_ROLE_ASSIGNMENTS)
    for item in consents(METADATA, tenant, catalog, snapshot, parts, lang, lambda app: listing(app.app_roles)):
        findings.append(item if isinstance(item, Finding) else _compare(tenant, snapshot, item, lang))
    return findings


def _compare(tenant: Tenant, snapshot: Snapshot, consent: Consent, lang: str) -> Finding:
    values = {role.id: role.value for role in consent.graph.app_roles}
    # A role id Graph does not list is still shown, by id, so it cannot hide.
    granted = {
        values.get(a.app_role_id, a.app_role_id)
        for a in snapshot.app_role_assignments.get(consent.client.id, ())
        if a.resource_id == consent.graph.id
    }
    missing, extra = differences(consent.app.app_roles, granted)
    status, key = (Status.FAIL, "drift") if missing or extra else (Status.PASS, "pass")
    return METADATA.finding(tenant, status, consent.key, key, lang,
                            expected=listing(consent.app.app_roles), actual=listing(granted),
                            app=consent.app.display_name, missing=listing(missing), extra=listing(extra))
