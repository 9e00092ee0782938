"""admin.global_admin: the declared administrator holds the Global Administrator role.

Sage's consent (step 1 of the manual association) refuses any other account.
"""

from __future__ import annotations

from sage365.catalog import Catalog
from sage365.checks.base import CheckMetadata, first_error
from sage365.declaration import Tenant
from sage365.findings import Finding, Severity, Status
from sage365.snapshot import Part, Snapshot

METADATA = CheckMetadata(
    id="admin.global_admin",
    title={
        "en": "The administrator is a Global Administrator",
        "fr": "L'administrateur est administrateur général",
    },
    severity=Severity.CRITICAL,
    blocking=True,
    remediation={
        "en": "In the Microsoft 365 admin centre, Users > Active users > select the administrator > "
        "Manage roles > Admin center access > Global Administrator (or in the Entra admin centre, "
        "Roles & admins > Global Administrator > Add assignments).",
        "fr": "Dans le centre d'administration Microsoft 365, Utilisateurs > Utilisateurs actifs > sélectionnez "
        "l'administrateur > Gérer les rôles > Accès au centre d'administration > Administrateur général (ou dans "
        "le centre d'administration Entra, Rôles et administrateurs > Administrateur général > Ajouter des "
        "attributions).",
    },
    messages={
        "pass": {"en": "{upn} holds the Global Administrator role",
                 "fr": "{upn} a le rôle Administrateur général"},
        "missing": {"en": "{upn} does not exist, so cannot hold the Global Administrator role",
                    "fr": "{upn} n'existe pas et ne peut donc pas avoir le rôle Administrateur général"},
        "fail": {"en": "{upn} does not hold the Global Administrator role",
                 "fr": "{upn} n'a pas le rôle Administrateur général"},
    },
)

EXPECTED = "Global Administrator"


def check(tenant: Tenant, catalog: Catalog, snapshot: Snapshot, *, lang: str = "en") -> list[Finding]:
    upn = tenant.administrator.user_principal_name
    unreadable = first_error(snapshot, (Part.ADMINISTRATOR, Part.GLOBAL_ADMINS))
    if unreadable:
        return [METADATA.error(tenant, upn, *unreadable, lang)]
    admin = snapshot.administrator
    if admin is None:
        return [METADATA.finding(tenant, Status.FAIL, upn, "missing", lang,
                                 expected=EXPECTED, actual="administrator not found", upn=upn)]
    if admin.id in snapshot.global_administrator_ids:
        return [METADATA.finding(tenant, Status.PASS, upn, "pass", lang,
                                 expected=EXPECTED, actual="Global Administrator", upn=upn)]
    return [METADATA.finding(tenant, Status.FAIL, upn, "fail", lang,
                             expected=EXPECTED, actual="not a Global Administrator", upn=upn)]
