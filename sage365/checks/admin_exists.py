"""admin.exists: the declared administrator exists in the tenant and may sign in."""

from __future__ import annotations

from sage365.catalog import Catalog
from sage365.checks.base import CheckMetadata, first_error
from sage365.declaration import Tenant
from sage365.findings import Finding, Severity, Status
from sage365.snapshot import Part, Snapshot

METADATA = CheckMetadata(
    id="admin.exists",
    title={
        "en": "The administrator exists and is enabled",
        "fr": "L'administrateur existe et est activé",
    },
    severity=Severity.CRITICAL,
    blocking=True,
    remediation={
        "en": "Create the administrator in the Microsoft 365 admin centre (Users > Active users > Add a user) "
        "or correct administrator.userPrincipalName in the tenant file; if the account is blocked, select it "
        "and choose Unblock sign-in.",
        "fr": "Créez l'administrateur dans le centre d'administration Microsoft 365 (Utilisateurs > Utilisateurs "
        "actifs > Ajouter un utilisateur) ou corrigez administrator.userPrincipalName dans le fichier du tenant ; "
        "si le compte est bloqué, sélectionnez-le et choisissez Débloquer la connexion.",
    },
    messages={
        "pass": {"en": "Administrator {upn} exists and is enabled",
                 "fr": "L'administrateur {upn} existe et est activé"},
        "missing": {"en": "Administrator {upn} does not exist in the tenant",
                    "fr": "L'administrateur {upn} n'existe pas dans le tenant"},
        "disabled": {"en": "Administrator {upn} exists but sign-in is blocked (accountEnabled false)",
                     "fr": "L'administrateur {upn} existe mais sa connexion est bloquée (accountEnabled false)"},
    },
)

EXPECTED = "exists, accountEnabled true"


def check(tenant: Tenant, catalog: Catalog, snapshot: Snapshot, *, lang: str = "en") -> list[Finding]:
    upn = tenant.administrator.user_principal_name
    unreadable = first_error(snapshot, (Part.ADMINISTRATOR,))
    if unreadable:
        return [METADATA.error(tenant, upn, *unreadable, lang)]
    admin = snapshot.administrator
    if admin is None:
        return [METADATA.finding(tenant, Status.FAIL, upn, "missing", lang,
                                 expected=EXPECTED, actual="not found", upn=upn)]
    if not admin.account_enabled:
        return [METADATA.finding(tenant, Status.FAIL, upn, "disabled", lang,
                                 expected=EXPECTED, actual="exists, accountEnabled false", upn=upn)]
    return [METADATA.finding(tenant, Status.PASS, upn, "pass", lang,
                             expected=EXPECTED, actual="exists, accountEnabled true", upn=upn)]
