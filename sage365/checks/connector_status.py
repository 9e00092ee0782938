"""connector.status: the Microsoft 365 connector on the Sage 100 server is alive (step 7).

Only for tenants declaring `spec.connector`. At least one application proxy connector
matching the declared machine name (any connector when none is declared) must be
`active`, at the minimum version when one is declared. Connectors that cannot be read
are never a pass: an `error`, or a `fail` when the fallback signal (the connector app's
sign-in activity) shows the app has never signed in.
"""

from __future__ import annotations

from dataclasses import replace

from sage365.catalog import Catalog
from sage365.checks.addin_deployment import NOT_READ
from sage365.checks.base import CheckMetadata
from sage365.declaration import ConnectorDeclaration, Tenant
from sage365.findings import Finding, Severity, Status
from sage365.manifest import reported_version_key, version_key
from sage365.snapshot import Connector, Part, Snapshot

METADATA = CheckMetadata(
    id="connector.status",
    title={
        "en": "The Microsoft 365 connector on the Sage 100 server is active",
        "fr": "Le connecteur Microsoft 365 du serveur Sage 100 est actif",
    },
    severity=Severity.HIGH,
    blocking=False,
    remediation={
        "en": "On the Sage 100 server, check that the Windows services \"Microsoft Entra private network connector\" "
        "(formerly \"Microsoft AAD Application Proxy Connector\") and its updater are running, that the server "
        "reaches Microsoft 365 over HTTPS (443), and that the connector is up to date; then see Entra admin centre > "
        "Global Secure Access > Connect > Connectors (or Enterprise applications > Application proxy).",
        "fr": "Sur le serveur Sage 100, vérifiez que les services Windows « Microsoft Entra private network "
        "connector » (anciennement « Microsoft AAD Application Proxy Connector ») et son service de mise à jour sont "
        "démarrés, que le serveur joint Microsoft 365 en HTTPS (443) et que le connecteur est à jour ; voir ensuite "
        "le centre d'administration Entra > Accès sécurisé global > Connecter > Connecteurs (ou Applications "
        "d'entreprise > Proxy d'application).",
    },
    messages={
        "active": {"en": "Connector on {machine} is active (version {version})",
                   "fr": "Le connecteur de {machine} est actif (version {version})"},
        "missing": {"en": "No application proxy connector {which} is registered in the tenant",
                    "fr": "Aucun connecteur de proxy d'application {which} n'est inscrit dans le tenant"},
        "inactive": {"en": "The connector {which} is inactive: {machines}",
                     "fr": "Le connecteur {which} est inactif : {machines}"},
        "outdated": {"en": "The active connector {which} runs version {version}, below the minimum {minimum}",
                     "fr": "Le connecteur actif {which} est en version {version}, inférieure au minimum {minimum}"},
        "unreadable": {"en": "Could not read the connectors: {reason}",
                       "fr": "Lecture impossible des connecteurs : {reason}"},
        "fallback_seen": {"en": "Could not read the connectors ({reason}); fallback signal: the connector app "
                          "last signed in at {when}, which does not prove the connector is active",
                          "fr": "Lecture impossible des connecteurs ({reason}) ; signal de repli : l'application "
                          "du connecteur s'est connectée pour la dernière fois le {when}, ce qui ne prouve pas que "
                          "le connecteur est actif"},
        "fallback_never": {"en": "Could not read the connectors ({reason}); fallback signal: the connector app "
                           "has no sign-in recorded",
                           "fr": "Lecture impossible des connecteurs ({reason}) ; signal de repli : aucune connexion "
                           "de l'application du connecteur n'est enregistrée"},
    },
)

# When the connectors could not be read. Microsoft's Graph beta pages for the connector
# reads ("List connectors", "Get connector", "List connectorGroups", "List members") list
# Application: Not supported, only delegated Directory.ReadWrite.All. sage365 reads
# app-only, so a refusal is expected; no application permission is known to lift it, and
# Directory.ReadWrite.All (directory-wide write) must never be advised for it. The fallback
# (/reports/servicePrincipalSignInActivities) is documented for application AuditLog.Read.All.
CHECK_YOURSELF = {
    "en": "Check the connector yourself: Entra admin centre > Global Secure Access > Connect > Connectors (or "
    "Enterprise applications > Application proxy) shows its status; on the Sage 100 server, the Windows service "
    "\"Microsoft Entra private network connector\" must be running.",
    "fr": "Vérifiez le connecteur vous-même : le centre d'administration Entra > Accès sécurisé global > Connecter > "
    "Connecteurs (ou Applications d'entreprise > Proxy d'application) affiche son état ; sur le serveur Sage 100, le "
    "service Windows « Microsoft Entra private network connector » doit être démarré.",
}
REFUSED_REMEDIATION = {
    "en": "Microsoft Graph refused the connector list to sage365's identity. Microsoft documents that it cannot be "
    "read with an application (app-only) identity, which is how sage365 runs, so no permission to grant to sage365 "
    "fixes this: do not grant it Directory.ReadWrite.All for it. sage365 used the connector app's sign-in activity "
    "instead, which never proves the connector is active. " + CHECK_YOURSELF["en"],
    "fr": "Microsoft Graph a refusé la liste des connecteurs à l'identité de sage365. Microsoft documente qu'elle ne "
    "peut pas être lue par une identité d'application (sans utilisateur), le mode de sage365 : aucune permission à "
    "accorder à sage365 n'y remédie, ne lui accordez pas Directory.ReadWrite.All pour cela. sage365 s'est rabattu sur "
    "l'activité de connexion de l'application du connecteur, qui ne prouve jamais que le connecteur est actif. "
    + CHECK_YOURSELF["fr"],
}
NO_FALLBACK_REMEDIATION = {
    "en": " The fallback signal could not be read either: it needs the application permission AuditLog.Read.All "
    "for sage365's identity, and the connector app declared in spec.connector.app to be in the catalogue.",
    "fr": " Le signal de repli n'a pas pu être lu non plus : il faut la permission d'application AuditLog.Read.All "
    "pour l'identité de sage365, et l'application du connecteur déclarée dans spec.connector.app au catalogue.",
}
UNREADABLE_REMEDIATION = {
    "en": "The connector list could not be read (see the message); run the drift again later. " + CHECK_YOURSELF["en"],
    "fr": "La liste des connecteurs n'a pas pu être lue (voir le message) ; relancez la dérive plus tard. "
    + CHECK_YOURSELF["fr"],
}


def check(tenant: Tenant, catalog: Catalog, snapshot: Snapshot, *, lang: str = "en") -> list[Finding]:
    declared = tenant.connector
    if declared is None:
        return []
    resource = declared.machine_name or declared.connector_group or "connector"
    reason = snapshot.error(Part.CONNECTORS)
    if reason is not None or snapshot.connectors is None:
        return [_unreadable(tenant, resource, reason or NOT_READ[lang], snapshot, lang)]
    which = " ".join(p for p in (f"'{declared.machine_name}'" if declared.machine_name else "",
                                 f"in group '{declared.connector_group}'" if declared.connector_group else "") if p)
    matching = [c for c in snapshot.connectors if _matches(c, declared)]
    if not matching:
        return [METADATA.finding(tenant, Status.FAIL, resource, "missing", lang, expected="active",
                                 actual="not registered", which=which)]
    active = [c for c in matching if c.status.casefold() == "active"]
    if not active:
        machines = ", ".join(f"{c.machine_name} ({c.status or 'unknown'})" for c in matching)
        return [METADATA.finding(tenant, Status.FAIL, resource, "inactive", lang, expected="active",
                                 actual="inactive", which=which, machines=machines)]
    minimum = declared.minimum_version
    recent = [c for c in active if minimum is None or _at_least(c.version, minimum)]
    if not recent:
        newest = max(active, key=lambda c: reported_version_key(c.version))
        return [METADATA.finding(tenant, Status.FAIL, resource, "outdated", lang, expected=f">= {minimum}",
                                 actual=newest.version or "unknown", which=which, version=newest.version or "unknown",
                                 minimum=minimum)]
    best = max(recent, key=lambda c: reported_version_key(c.version))
    expected = "active" + (f", >= {minimum}" if minimum else "")
    return [METADATA.finding(tenant, Status.PASS, resource, "active", lang, expected=expected, actual=expected,
                             machine=best.machine_name, version=best.version or "unknown")]


def _unreadable(tenant: Tenant, resource: str, reason: str, snapshot: Snapshot, lang: str) -> Finding:
    sign_in = snapshot.connector_sign_in
    if sign_in is None:
        finding = METADATA.finding(tenant, Status.ERROR, resource, "unreadable", lang, actual="unreadable",
                                   reason=reason)
    elif sign_in.last_sign_in is None:
        finding = METADATA.finding(tenant, Status.FAIL, resource, "fallback_never", lang, expected="active",
                                   actual="no sign-in recorded", reason=reason)
    else:
        finding = METADATA.finding(tenant, Status.ERROR, resource, "fallback_seen", lang, expected="active",
                                   actual=f"last sign-in {sign_in.last_sign_in}", reason=reason,
                                   when=sign_in.last_sign_in)
    return replace(finding, remediation=_remediation(snapshot, lang))


def _remediation(snapshot: Snapshot, lang: str) -> str:
    """Refused (Graph's 403, recorded in snapshot.denied): why, and what to do instead;
    anything else (unreachable, 5xx, malformed): read again."""
    if Part.CONNECTORS not in snapshot.denied:
        return UNREADABLE_REMEDIATION[lang]
    fallback = "" if snapshot.connector_sign_in is not None else NO_FALLBACK_REMEDIATION[lang]
    return REFUSED_REMEDIATION[lang] + fallback


def _matches(connector: Connector, declared: ConnectorDeclaration) -> bool:
    """In the declared group, if any; the declared name, or the first label of the
    connector's FQDN (SAGE-SRV or SAGE-SRV.contoso.local)."""
    if declared.connector_group is not None and connector.group is None:
        return False
    if declared.machine_name is None:
        return True
    want, have = declared.machine_name.casefold(), connector.machine_name.casefold()
    return have == want or have.split(".", 1)[0] == want


def _at_least(version: str, minimum: str) -> bool:
    key = reported_version_key(version)
    return bool(key) and key >= version_key(minimum)
