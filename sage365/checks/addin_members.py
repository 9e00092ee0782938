"""addin.members: exactly the declared users are members of the add-in's group.

One finding per user, so a waiver can name one UPN: a declared user who is not a member
fails (they lack the add-in), and so does a member nobody declared (someone who left, or
was added by hand). UPNs compare case-insensitively, as Entra compares them. A group
nested in the add-in's group gets an informational failure naming it (severity info: a
warning, never drift), because Centralized Deployment does not reach nested groups' users.
"""

from __future__ import annotations

from dataclasses import replace

from sage365.catalog import Catalog
from sage365.checks.base import CheckMetadata, Text, ambiguous_group, find_group, first_error, localize, upn_key
from sage365.declaration import AddinAssignment, Tenant
from sage365.findings import Finding, Severity, Status
from sage365.snapshot import Part, Snapshot

METADATA = CheckMetadata(
    id="addin.members",
    title={
        "en": "Exactly the declared users have the add-in",
        "fr": "Exactement les utilisateurs déclarés ont le complément",
    },
    severity=Severity.MEDIUM,
    blocking=False,
    remediation={
        "en": "Run `pulumi up` for the tenant to set the group's members to the declared users, or edit the "
        "group's members in the Entra admin centre (Groups > the group > Members); if the user should have "
        "the add-in, add them to `users` in the tenant file.",
        "fr": "Lancez `pulumi up` pour le tenant afin que les membres du groupe soient les utilisateurs déclarés, "
        "ou modifiez les membres dans le centre d'administration Entra (Groupes > le groupe > Membres) ; si "
        "l'utilisateur doit avoir le complément, ajoutez-le à `users` dans le fichier du tenant.",
    },
    messages={
        "pass": {"en": "{upn} is a member of '{group}'",
                 "fr": "{upn} est membre de « {group} »"},
        "missing": {"en": "{upn} is declared but is not a member of '{group}'",
                    "fr": "{upn} est déclaré mais n'est pas membre de « {group} »"},
        "no_group": {"en": "{upn} is declared but group '{group}' does not exist",
                     "fr": "{upn} est déclaré mais le groupe « {group} » n'existe pas"},
        "extra": {"en": "{upn} is a member of '{group}' but is not declared",
                  "fr": "{upn} est membre de « {group} » mais n'est pas déclaré"},
        "empty": {"en": "'{group}' has no members and none are declared",
                  "fr": "« {group} » n'a aucun membre et aucun n'est déclaré"},
        "empty_no_group": {"en": "Group '{group}' does not exist",
                           "fr": "Le groupe « {group} » n'existe pas"},
        "nested": {"en": "'{nested}' is a group inside '{group}': Centralized Deployment does not reach the users "
                         "of nested groups, so its members do not get the add-in through '{group}'",
                   "fr": "« {nested} » est un groupe dans « {group} » : le déploiement centralisé n'atteint pas les "
                         "utilisateurs des groupes imbriqués, ses membres ne reçoivent donc pas le complément par "
                         "« {group} »"},
    },
)

# A nested group is a warning, not drift: only direct members count, which the other
# findings already judge; this one says why a nested group's users are not among them.
NESTED_REMEDIATION: Text = {
    "en": "Declare the users who need the add-in in `users` (they become direct members of '{group}'), "
          "and remove the nested group '{nested}' from '{group}' in the Entra admin centre.",
    "fr": "Déclarez dans `users` les utilisateurs qui ont besoin du complément (ils deviennent membres directs "
          "de « {group} »), et retirez le groupe imbriqué « {nested} » de « {group} » dans le centre "
          "d'administration Entra.",
}


def check(tenant: Tenant, catalog: Catalog, snapshot: Snapshot, *, lang: str = "en") -> list[Finding]:
    findings: list[Finding] = []
    for addin in tenant.addins:
        unreadable = first_error(snapshot, (Part.GROUPS,), addin.group)
        several = ambiguous_group(snapshot, addin.group) if not unreadable else None
        if unreadable:
            findings.append(METADATA.error(tenant, addin.group, *unreadable, lang))
        elif several is not None:  # whose members to compare cannot be told
            findings.append(METADATA.ambiguous_group(tenant, addin.group, several, lang))
        else:
            findings.extend(_members(tenant, snapshot, addin, lang))
    return findings


def _members(tenant: Tenant, snapshot: Snapshot, addin: AddinAssignment, lang: str) -> list[Finding]:
    group = find_group(snapshot, addin.group)
    member, not_member = f"member of {addin.group}", f"not a member of {addin.group}"
    if group is None:
        if not addin.users:
            return [METADATA.finding(tenant, Status.FAIL, addin.group, "empty_no_group", lang,
                                     expected="exists", actual="not found", group=addin.group)]
        # The group is missing, so nobody is a member: each declared user fails.
        return [METADATA.finding(tenant, Status.FAIL, upn, "no_group", lang, expected=member,
                                 actual="group not found", upn=upn, group=addin.group) for upn in addin.users]
    members = {upn_key(m.user_principal_name): m.user_principal_name for m in group.members}
    declared = {upn_key(upn): upn for upn in addin.users}
    findings = [
        METADATA.finding(tenant, Status.PASS, upn, "pass", lang, expected=member, actual=member,
                         upn=upn, group=addin.group)
        if folded in members else
        METADATA.finding(tenant, Status.FAIL, upn, "missing", lang, expected=member, actual=not_member,
                         upn=upn, group=addin.group)
        for folded, upn in declared.items()
    ]
    findings += [
        METADATA.finding(tenant, Status.FAIL, upn, "extra", lang, expected=not_member, actual=member,
                         upn=upn, group=addin.group)
        for folded, upn in members.items() if folded not in declared
    ]
    if not findings:
        findings.append(METADATA.finding(tenant, Status.PASS, addin.group, "empty", lang,
                                         expected="no members", actual="no members", group=addin.group))
    for nested in group.nested_groups:
        finding = METADATA.finding(tenant, Status.FAIL, nested, "nested", lang, expected="direct user members only",
                                   actual=f"nested group in {addin.group}", nested=nested, group=addin.group)
        findings.append(replace(finding, severity=Severity.INFO,
                                remediation=localize(NESTED_REMEDIATION, lang, nested=nested, group=addin.group)))
    return findings
