"""consent.delegated_scopes: the tenant-wide (AllPrincipals) grant from a Sage app to
Microsoft Graph holds exactly the catalogue's scopes: missing and extra both drift.

Extra scopes matter as much as missing ones: a consent that silently grew gives Sage's
app more access to the customer's data than the partner reviewed.
"""

from __future__ import annotations

from sage365.catalog import Catalog
from sage365.checks.base import CheckMetadata, listing
from sage365.checks.consent_common import Consent, consents, differences
from sage365.declaration import Tenant
from sage365.findings import Finding, Severity, Status
from sage365.snapshot import Part, Snapshot

METADATA = CheckMetadata(
    id="consent.delegated_scopes",
    title={
        "en": "Delegated consent to Microsoft Graph matches the catalogue",
        "fr": "Le consentement délégué à Microsoft Graph correspond au catalogue",
    },
    severity=Severity.HIGH,
    blocking=False,
    remediation={
        "en": "Run `pulumi up` for the tenant to set the grant to exactly the catalogue's scopes, or re-consent "
        "from Sage Business Centre with the Global Administrator; review extra scopes in the Entra admin "
        "centre > Enterprise applications > the app > Permissions.",
        "fr": "Lancez `pulumi up` pour le tenant afin que l'autorisation ait exactement les étendues du "
        "catalogue, ou redonnez le consentement depuis Sage Business Centre avec l'administrateur général ; "
        "examinez les étendues en trop dans le centre d'administration Entra > Applications d'entreprise > "
        "l'application > Autorisations.",
    },
    messages={
        "pass": {"en": "{app}'s delegated scopes on Microsoft Graph match the catalogue",
                 "fr": "Les étendues déléguées de {app} sur Microsoft Graph correspondent au catalogue"},
        "drift": {"en": "{app}'s delegated scopes on Microsoft Graph differ: missing {missing}; extra {extra}",
                  "fr": "Les étendues déléguées de {app} sur Microsoft Graph diffèrent : manquantes {missing} ; "
                        "en trop {extra}"},
    },
)

ALL_PRINCIPALS = "AllPrincipals"  # admin consent for every user, as Sage's association gives


def check(tenant: Tenant, catalog: Catalog, snapshot: Snapshot, *, lang: str = "en") -> list[Finding]:
    findings = []
    for item in consents(METADATA, tenant, catalog, snapshot, (Part.SERVICE_PRINCIPALS, Part.GRANTS), lang,
                         lambda app: listing(app.delegated_scopes)):
        findings.append(item if isinstance(item, Finding) else _compare(tenant, snapshot, item, lang))
    return findings


def _compare(tenant: Tenant, snapshot: Snapshot, consent: Consent, lang: str) -> Finding:
    granted = {
        scope
        for grant in snapshot.grants.get(consent.client.id, ())
        if grant.consent_type == ALL_PRINCIPALS and grant.resource_id == consent.graph.id
        for scope in grant.scopes
    }
    missing, extra = differences(consent.app.delegated_scopes, granted)
    status, key = (Status.FAIL, "drift") if missing or extra else (Status.PASS, "pass")
    return METADATA.finding(tenant, status, consent.key, key, lang,
                            expected=listing(consent.app.delegated_scopes), actual=listing(granted),
                            app=consent.app.display_name, missing=listing(missing), extra=listing(extra))
