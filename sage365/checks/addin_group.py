"""addin.group: the security group through which an add-in is assigned to users exists."""

from __future__ import annotations

from sage365.catalog import Catalog
from sage365.checks.base import CheckMetadata, ambiguous_group, find_group, first_error
from sage365.declaration import Tenant
from sage365.findings import Finding, Severity, Status
from sage365.snapshot import Part, Snapshot

METADATA = CheckMetadata(
    id="addin.group",
    title={
        "en": "The add-in's assignment group exists",
        "fr": "Le groupe d'attribution du complément existe",
    },
    severity=Severity.MEDIUM,
    blocking=False,
    remediation={
        "en": "Run `pulumi up` for the tenant to create the group, or create a security group with exactly "
        "this display name in the Entra admin centre (Groups > All groups > New group) or correct "
        "group.displayName in the tenant file.",
        "fr": "Lancez `pulumi up` pour le tenant afin de créer le groupe, ou créez un groupe de sécurité portant "
        "exactement ce nom dans le centre d'administration Entra (Groupes > Tous les groupes > Nouveau groupe), "
        "ou corrigez group.displayName dans le fichier du tenant.",
    },
    messages={
        "pass": {"en": "Group '{group}' for {app} exists",
                 "fr": "Le groupe « {group} » pour {app} existe"},
        "missing": {"en": "Group '{group}' for {app} does not exist",
                    "fr": "Le groupe « {group} » pour {app} n'existe pas"},
    },
)


def check(tenant: Tenant, catalog: Catalog, snapshot: Snapshot, *, lang: str = "en") -> list[Finding]:
    findings = []
    for addin in tenant.addins:
        unreadable = first_error(snapshot, (Part.GROUPS,), addin.group)
        if unreadable:
            findings.append(METADATA.error(tenant, addin.group, *unreadable, lang))
            continue
        several = ambiguous_group(snapshot, addin.group)
        if several is not None:
            findings.append(METADATA.ambiguous_group(tenant, addin.group, several, lang))
            continue
        group = find_group(snapshot, addin.group)
        app = catalog.apps[addin.app].display_name if addin.app in catalog.apps else addin.app
        status, key = (Status.PASS, "pass") if group else (Status.FAIL, "missing")
        findings.append(METADATA.finding(tenant, status, addin.group, key, lang,
                                         expected="exists", actual=f"exists ({group.id})" if group else "not found",
                                         group=addin.group, app=app))
    return findings
