"""addin.deployment: the add-in is really in Outlook, through Centralized Deployment.

Exchange Online holds the deployment as an organization app (Get-App -OrganizationApp),
found by the catalogue manifest's `<Id>`. It must be deployed, enabled, at the manifest's
`<Version>`, and provided to exactly the declared users (ProvidedTo SpecificUsers): one
finding per user, so a waiver can name one UPN, as addin.members does. A UserList entry is
a declared user when it equals the UPN, the mail or any SMTP proxy address that Graph
returned for that user (case-insensitive): Get-App may list a mailbox by its address.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Mapping

from sage365.catalog import Catalog
from sage365.checks.base import CheckMetadata, find_user
from sage365.declaration import AddinAssignment, Tenant
from sage365.findings import Finding, Severity, Status
from sage365.manifest import reported_version_key, version_key
from sage365.snapshot import OrganizationApp, Part, Snapshot, User

METADATA = CheckMetadata(
    id="addin.deployment",
    title={
        "en": "The add-in is deployed in Outlook to exactly the declared users",
        "fr": "Le complément est déployé dans Outlook pour exactement les utilisateurs déclarés",
    },
    severity=Severity.MEDIUM,
    blocking=False,
    remediation={
        "en": "Run `pulumi up` for the tenant to deploy the catalogue's manifest to the declared users, or in the "
        "Microsoft 365 admin centre open Settings > Integrated apps, select the add-in and set its version, "
        "status and assigned users; Exchange PowerShell: New-App/Set-App -OrganizationApp -ProvidedTo "
        "SpecificUsers -UserList ....",
        "fr": "Lancez `pulumi up` pour le tenant afin de déployer le manifeste du catalogue aux utilisateurs "
        "déclarés, ou dans le centre d'administration Microsoft 365 ouvrez Paramètres > Applications intégrées, "
        "sélectionnez le complément et corrigez sa version, son état et ses utilisateurs ; en PowerShell Exchange : "
        "New-App/Set-App -OrganizationApp -ProvidedTo SpecificUsers -UserList ....",
    },
    messages={
        "deployed": {"en": "{app} {version} is deployed and enabled",
                     "fr": "{app} {version} est déployé et activé"},
        "missing": {"en": "{app} (add-in {id}) is not deployed in Exchange Online",
                    "fr": "{app} (complément {id}) n'est pas déployé dans Exchange Online"},
        "disabled": {"en": "{app} is deployed but disabled for the whole organization",
                     "fr": "{app} est déployé mais désactivé pour toute l'organisation"},
        "version": {"en": "{app} is deployed at version {deployed}, the catalogue's manifest is {manifest}",
                    "fr": "{app} est déployé en version {deployed}, le manifeste du catalogue est en {manifest}"},
        "everyone": {"en": "{app} is provided to everyone, not only to the declared users",
                     "fr": "{app} est fourni à tous, pas seulement aux utilisateurs déclarés"},
        "user_pass": {"en": "{upn} is provided {app}", "fr": "{upn} dispose de {app}"},
        "user_missing": {"en": "{upn} is declared but is not provided {app}",
                         "fr": "{upn} est déclaré mais ne dispose pas de {app}"},
        "user_extra": {"en": "{upn} is provided {app} but is not declared",
                       "fr": "{upn} dispose de {app} mais n'est pas déclaré"},
        "odd": {"en": "Exchange's Get-App answer for {app} ({id}) cannot be read: {problem}",
                "fr": "La réponse Get-App d'Exchange pour {app} ({id}) est illisible : {problem}"},
        "no_manifest": {"en": "The catalogue's manifest for {app} could not be read: the deployment cannot be checked",
                        "fr": "Le manifeste du catalogue pour {app} est illisible : le déploiement ne peut pas être vérifié"},
        "unreadable": {"en": "Could not read the organization's add-ins: {reason}",
                       "fr": "Lecture impossible des compléments de l'organisation : {reason}"},
    },
)

# A read failure here usually means the Exchange permissions, not Graph's: say which.
UNREADABLE_REMEDIATION = {
    "en": "Give sage365's identity in this tenant the application permission Exchange.ManageAsApp (Office 365 "
    "Exchange Online, admin-consented) and the Exchange Administrator role (Entra admin centre > Roles and "
    "administrators > Exchange Administrator > Add assignments > the app's service principal), then run again.",
    "fr": "Donnez à l'identité de sage365 dans ce tenant la permission d'application Exchange.ManageAsApp (Office "
    "365 Exchange Online, avec consentement administrateur) et le rôle Administrateur Exchange (centre "
    "d'administration Entra > Rôles et administrateurs > Administrateur Exchange > Ajouter des attributions > le "
    "principal de service de l'application), puis relancez.",
}


NOT_READ = {"en": "not read: this snapshot comes from a Graph-only read (engine.read_tenant without extras)",
            "fr": "non lu : cet instantané vient d'une lecture Graph seule (engine.read_tenant sans extras)"}


# `actual` of an error caused by missing Exchange rights: the preview gate blocks on it when
# the stack deploys add-ins (the deployment would fail half-way through `pulumi up`).
PERMISSION_MISSING = "permission missing"


def check(tenant: Tenant, catalog: Catalog, snapshot: Snapshot, *, lang: str = "en") -> list[Finding]:
    findings: list[Finding] = []
    reason = snapshot.error(Part.ORGANIZATION_APPS)
    for addin in tenant.addins:
        app = catalog.apps.get(addin.app)
        if app is None or app.addin is None:
            findings.append(METADATA.not_in_catalog(tenant, addin.app, lang))
        elif app.addin.info is None:
            findings.append(METADATA.finding(tenant, Status.ERROR, addin.app, "no_manifest", lang,
                                             expected="a valid manifest", actual="unreadable", app=addin.app))
        elif reason is not None or snapshot.organization_apps is None:
            denied = Part.ORGANIZATION_APPS in snapshot.denied
            findings.append(_unreadable(tenant, addin.app, reason or NOT_READ[lang], lang, denied))
        else:
            manifest = app.addin.info
            deployed = snapshot.organization_apps.get(manifest.id)
            findings.extend(_deployment(tenant, addin, app.display_name, manifest.id, manifest.version, deployed, lang,
                                        snapshot.users))
    return findings


def _unreadable(tenant: Tenant, resource: str, reason: str, lang: str, denied: bool) -> Finding:
    actual = PERMISSION_MISSING if denied else "unreadable"
    finding = METADATA.finding(tenant, Status.ERROR, resource, "unreadable", lang, actual=actual, reason=reason)
    return replace(finding, remediation=UNREADABLE_REMEDIATION[lang])


def _deployment(tenant: Tenant, addin: AddinAssignment, name: str, app_id: str, version: str,
                deployed: OrganizationApp | None, lang: str, users: Mapping[str, User]) -> list[Finding]:
    key = addin.app
    expected = f"deployed, enabled, version {version}"
    if deployed is None:
        return [METADATA.finding(tenant, Status.FAIL, key, "missing", lang, expected=expected, actual="not deployed",
                                 app=name, id=app_id)]
    if deployed.problem:  # a missing Enabled or ProvidedTo is no evidence of either value
        return [METADATA.finding(tenant, Status.ERROR, key, "odd", lang, expected=expected, actual="unreadable answer",
                                 app=name, id=app_id, problem=deployed.problem)]
    findings: list[Finding] = []
    actual_version = deployed.version or "unknown"
    if not deployed.enabled:
        findings.append(METADATA.finding(tenant, Status.FAIL, key, "disabled", lang, expected="enabled",
                                         actual="disabled", app=name))
    if not deployed.version or reported_version_key(deployed.version) != version_key(version):
        findings.append(METADATA.finding(tenant, Status.FAIL, key, "version", lang, expected=version,
                                         actual=actual_version, app=name, deployed=actual_version, manifest=version))
    if not findings:
        findings.append(METADATA.finding(tenant, Status.PASS, key, "deployed", lang, expected=expected,
                                         actual=expected, app=name, version=version))
    if deployed.provided_to.casefold() == "everyone":
        findings.append(METADATA.finding(tenant, Status.FAIL, key, "everyone", lang, expected="SpecificUsers",
                                         actual="Everyone", app=name))
        return findings
    # Each declared user's identities: the UPN, and the addresses Graph returned for it.
    declared = {upn.casefold(): upn for upn in addin.users}
    owner: dict[str, str] = {}  # identity -> declared UPN (folded); the UPN itself wins a clash
    for folded in declared:
        found = find_user(users, folded)
        for address in found.addresses if found is not None else ():
            owner.setdefault(address.casefold(), folded)
    owner.update({folded: folded for folded in declared})
    provided = {u.casefold(): u for u in deployed.user_list}
    reached = {owner[entry] for entry in provided if entry in owner}
    has, lacks = f"provided {key}", f"not provided {key}"
    for folded, upn in declared.items():
        ok = folded in reached
        findings.append(METADATA.finding(tenant, Status.PASS if ok else Status.FAIL, upn,
                                         "user_pass" if ok else "user_missing", lang, expected=has,
                                         actual=has if ok else lacks, upn=upn, app=name))
    findings += [METADATA.finding(tenant, Status.FAIL, entry, "user_extra", lang, expected=lacks, actual=has,
                                  upn=entry, app=name)
                 for folded, entry in provided.items() if folded not in owner]
    return findings
