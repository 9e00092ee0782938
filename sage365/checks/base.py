"""What every check shares: its metadata as data, the Check protocol, finding builders.

A check module holds a `METADATA` constant (id, titles, severity, remediation and message
templates in English and French) and a pure `check(tenant, catalog, snapshot, *, lang)`
body. Waivers and ordering are applied once, by sage365.checks.run_checks, not by checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping, Protocol

from sage365.catalog import Catalog
from sage365.checks.ids import CHECK_IDS
from sage365.declaration import Tenant
from sage365.findings import Finding, Severity, Status
from sage365.snapshot import Group, Part, Snapshot, User

LANGUAGES = ("en", "fr")

# A text in every supported language: {"en": ..., "fr": ...}.
Text = Mapping[str, str]

# Shared by every check: what to do when a part of the tenant could not be read.
ERROR_MESSAGE: Text = {
    "en": "Could not read {part}: {reason}",
    "fr": "Lecture impossible de {part} : {reason}",
}
ERROR_REMEDIATION: Text = {
    "en": "Check that sage365's identity can read this tenant (Directory.Read.All, "
    "Application.Read.All, Organization.Read.All) and that the tenantId is right, then run again.",
    "fr": "Vérifiez que l'identité de sage365 peut lire ce tenant (Directory.Read.All, "
    "Application.Read.All, Organization.Read.All) et que le tenantId est correct, puis relancez.",
}
NOT_IN_CATALOG: Text = {
    "en": "The catalogue has no app '{key}': add it to catalog/catalog.yaml or fix the tenant file",
    "fr": "Le catalogue n'a pas d'application « {key} » : ajoutez-la à catalog/catalog.yaml ou corrigez le fichier du tenant",
}
# Several groups bear an add-in group's declared name ignoring case (Entra allows duplicate
# display names): addin.group and addin.members report an error, and the preview gate stops on
# addin.group's (sage365.gate.decide), since adopting or renaming either group could be wrong.
AMBIGUOUS_GROUP = "ambiguous"
AMBIGUOUS_GROUP_MESSAGE: Text = {
    "en": "{candidates}; sage365 does not pick one",
    "fr": "{candidates} ; sage365 n'en choisit aucun",
}
AMBIGUOUS_GROUP_REMEDIATION: Text = {
    "en": "In the Entra admin centre (Groups > All groups), rename or delete every group named '{group}' but the "
          "add-in's assignment group, or declare a name no other group has, then run again.",
    "fr": "Dans le centre d'administration Entra (Groupes > Tous les groupes), renommez ou supprimez tous les groupes "
          "nommés « {group} » sauf le groupe d'attribution du complément, ou déclarez un nom qu'aucun autre groupe "
          "ne porte, puis relancez.",
}
WAIVED_MESSAGE: Text = {
    "en": "{message} (waived until {expires}: {reason})",
    "fr": "{message} (dérogation jusqu'au {expires} : {reason})",
}


def localize(text: Text, lang: str, **params: object) -> str:
    if lang not in LANGUAGES:
        raise ValueError(f"unsupported language {lang!r}: expected one of {', '.join(LANGUAGES)}")
    return text[lang].format(**params)


@dataclass(frozen=True)
class CheckMetadata:
    id: str
    title: Text
    severity: Severity
    blocking: bool  # True: a failure must stop a Pulumi preview
    remediation: Text
    # Message templates by outcome key ("pass", "missing", ...), each in every language.
    messages: Mapping[str, Text] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Fail at import, in tests, rather than with a KeyError in a partner's report.
        if self.id not in CHECK_IDS:
            raise ValueError(f"unknown check id {self.id!r}: add it to sage365/checks/ids.py")
        for name, text in {"title": self.title, "remediation": self.remediation, **self.messages}.items():
            missing = [lang for lang in LANGUAGES if not text.get(lang)]
            if missing:
                raise ValueError(f"{self.id}: {name} lacks {', '.join(missing)}")

    def finding(
        self,
        tenant: Tenant,
        status: Status,
        resource: str,
        key: str,
        lang: str,
        *,
        expected: str = "",
        actual: str = "",
        **params: object,
    ) -> Finding:
        """A finding of this check, its message from template `key` in `lang`."""
        return Finding(
            tenant=tenant.name,
            check=self.id,
            status=status,
            severity=self.severity,
            resource=resource,
            expected=expected,
            actual=actual,
            message=localize(self.messages[key], lang, **params),
            # Nothing to do about a pass; a failure's fix is the check's own.
            remediation="" if status is Status.PASS else localize(self.remediation, lang),
        )

    def _error_finding(self, tenant: Tenant, resource: str, expected: str, actual: str, message: str,
                       remediation: str) -> Finding:
        return Finding(tenant=tenant.name, check=self.id, status=Status.ERROR, severity=self.severity,
                       resource=resource, expected=expected, actual=actual, message=message, remediation=remediation)

    def error(self, tenant: Tenant, resource: str, part: Part, reason: str, lang: str) -> Finding:
        """The finding for data this check needs but could not read."""
        return self._error_finding(tenant, resource, "", "unreadable",
                                   localize(ERROR_MESSAGE, lang, part=part.value, reason=reason),
                                   localize(ERROR_REMEDIATION, lang))

    def ambiguous_group(self, tenant: Tenant, group: str, candidates: str, lang: str) -> Finding:
        """The finding for an add-in group several live groups match: an error, never a guess."""
        return self._error_finding(tenant, group, "one group", AMBIGUOUS_GROUP,
                                   localize(AMBIGUOUS_GROUP_MESSAGE, lang, candidates=candidates),
                                   localize(AMBIGUOUS_GROUP_REMEDIATION, lang, group=group))

    def not_in_catalog(self, tenant: Tenant, key: str, lang: str) -> Finding:
        """A declared app the catalogue does not know: cannot be checked, so an error."""
        return Finding(
            tenant=tenant.name,
            check=self.id,
            status=Status.ERROR,
            severity=self.severity,
            resource=key,
            expected="catalogue entry",
            actual="none",
            message=localize(NOT_IN_CATALOG, lang, key=key),
            remediation=localize(NOT_IN_CATALOG, lang, key=key),
        )


class Check(Protocol):
    """A check module: its metadata and a pure body. Modules satisfy this structurally."""

    METADATA: CheckMetadata

    def check(self, tenant: Tenant, catalog: Catalog, snapshot: Snapshot, *, lang: str = "en") -> list[Finding]:
        ...


def first_error(snapshot: Snapshot, parts: Iterable[Part], item: str | None = None) -> tuple[Part, str] | None:
    """The first unreadable part among `parts` with its reason, or None. With `item` (a
    catalogue app key, an add-in group's name) a failure of that item's own read counts
    too, and another item's does not: each error is reported where it happened."""
    for part in parts:
        reason = snapshot.error(part) if item is None else snapshot.error_for(part, item)
        if reason is not None:
            return part, reason
    return None


def listing(values: Iterable[str]) -> str:
    """Values as one sorted, comma-separated string; 'none' when empty.

    Expected and actual values stay technical and untranslated (scope names, SKUs), so
    that a report reads the same to anyone comparing it with the admin centre.
    """
    items = sorted(set(values), key=str.casefold)
    return ", ".join(items) if items else "none"


def group_matches(snapshot: Snapshot, display_name: str) -> tuple[Group, ...]:
    """The groups the snapshot read whose display name is `display_name` ignoring case (as
    Entra compares them), one per object id, in a stable order (by id)."""
    wanted = display_name.casefold()
    found = {g.id: g for name, g in snapshot.groups.items()
             if name.casefold() == wanted or g.display_name.casefold() == wanted}
    for name, several in snapshot.ambiguous_groups.items():
        if name.casefold() == wanted:
            found.update((g.id, g) for g in several)
    return tuple(found[k] for k in sorted(found))


def find_group(snapshot: Snapshot, display_name: str) -> Group | None:
    """The one group named `display_name` ignoring case; None when there is none, and when
    there are several (Entra allows duplicate names): which one is meant cannot be told, so
    none is picked (ambiguous_group says so)."""
    matches = group_matches(snapshot, display_name)
    return matches[0] if len(matches) == 1 else None


def ambiguous_group(snapshot: Snapshot, display_name: str) -> str | None:
    """When several groups are named `display_name` ignoring case: one line naming each
    candidate and its object id; else None."""
    matches = group_matches(snapshot, display_name)
    if len(matches) < 2:
        return None
    candidates = ", ".join(f"{g.display_name!r} ({g.id})" for g in matches)
    return f"{len(matches)} groups are named {display_name!r} ignoring case: {candidates}"


def upn_key(upn: str) -> str:
    """The form in which UPNs compare: case-insensitively, as Entra compares them."""
    return upn.casefold()


def find_member(group: Group, upn: str) -> User | None:
    """A direct user member of `group` by UPN (upn_key)."""
    wanted = upn_key(upn)
    return next((m for m in group.members if upn_key(m.user_principal_name) == wanted), None)


def find_user(users: Mapping[str, User], upn: str) -> User | None:
    """A declared add-in user the snapshot read (Snapshot.users, keyed by lower-case UPN), by upn_key."""
    found = users.get(upn.lower())
    if found is not None:
        return found
    wanted = upn_key(upn)
    return next((u for key, u in users.items() if upn_key(key) == wanted), None)
