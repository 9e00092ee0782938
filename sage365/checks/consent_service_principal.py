"""consent.service_principal: each declared Sage app has an enabled service principal.

The service principal appears when the administrator consents to the app (step 2 and 4
of the manual association); without it no grant can exist.
"""

from __future__ import annotations

from sage365.catalog import Catalog
from sage365.checks.base import CheckMetadata, first_error
from sage365.checks.consent_common import service_principal
from sage365.declaration import Tenant
from sage365.findings import Finding, Severity, Status
from sage365.snapshot import Part, Snapshot

METADATA = CheckMetadata(
    id="consent.service_principal",
    title={
        "en": "Each declared Sage app has an enabled service principal",
        "fr": "Chaque application Sage déclarée a un principal de service activé",
    },
    severity=Severity.HIGH,
    blocking=False,
    remediation={
        "en": "Sign in to Sage Business Centre with the Global Administrator and accept the consent for this "
        "app (or run `pulumi up` for the tenant); if the app is disabled, open the Entra admin centre > "
        "Enterprise applications > the app > Properties and set 'Enabled for users to sign in' to Yes.",
        "fr": "Connectez-vous à Sage Business Centre avec l'administrateur général et acceptez le consentement "
        "pour cette application (ou lancez `pulumi up` pour le tenant) ; si l'application est désactivée, "
        "ouvrez le centre d'administration Entra > Applications d'entreprise > l'application > Propriétés et "
        "mettez « Activé pour que les utilisateurs se connectent » à Oui.",
    },
    messages={
        "pass": {"en": "{app} has an enabled service principal",
                 "fr": "{app} a un principal de service activé"},
        "missing": {"en": "{app} has no service principal: it was never consented to",
                    "fr": "{app} n'a pas de principal de service : le consentement n'a jamais été donné"},
        "disabled": {"en": "{app}'s service principal is disabled (accountEnabled false)",
                     "fr": "Le principal de service de {app} est désactivé (accountEnabled false)"},
    },
)


def check(tenant: Tenant, catalog: Catalog, snapshot: Snapshot, *, lang: str = "en") -> list[Finding]:
    findings = []
    for key in tenant.consents:
        app = catalog.apps.get(key)
        unreadable = first_error(snapshot, (Part.SERVICE_PRINCIPALS,), key)
        if unreadable:
            findings.append(METADATA.error(tenant, key, *unreadable, lang))
            continue
        if app is None:
            findings.append(METADATA.not_in_catalog(tenant, key, lang))
            continue
        expected = f"service principal for appId {app.app_id}, accountEnabled true"
        sp = service_principal(snapshot, app.app_id)
        if sp is None:
            findings.append(METADATA.finding(tenant, Status.FAIL, key, "missing", lang,
                                             expected=expected, actual="not found", app=app.display_name))
        elif not sp.account_enabled:
            findings.append(METADATA.finding(tenant, Status.FAIL, key, "disabled", lang, expected=expected,
                                             actual=f"{sp.id}, accountEnabled false", app=app.display_name))
        else:
            findings.append(METADATA.finding(tenant, Status.PASS, key, "pass", lang, expected=expected,
                                             actual=f"{sp.id}, accountEnabled true", app=app.display_name))
    return findings
