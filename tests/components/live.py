"""What an import would plan, for the harness's runs: the declaration against the live object.

The azuread provider's Read of an imported object, emulated from the snapshot the gate read,
for the inputs the program declares; `planned_differences` is what an import would then update.
"""

from __future__ import annotations

from typing import Any

from sage365.snapshot import Snapshot
from tests.components.harness import (
    APP_ROLE_ASSIGNMENT,
    GRANT,
    GROUP,
    GROUP_MEMBER,
    SERVICE_PRINCIPAL,
    ProgramRun,
)


def live_inputs(live: Snapshot, typ: str, import_id: str) -> dict[str, Any]:
    """The provider's read of an existing object, for the inputs the program declares.

    Emulates the Read an import does (pulumi-azuread's state for that id), from the snapshot
    the gate read; an id the tenant does not hold is an error, as the real import's is.
    """
    last = import_id.rsplit("/", 1)[-1]
    if typ == SERVICE_PRINCIPAL:
        sp = next(sp for sp in live.service_principals.values() if sp.id == last)
        return {"clientId": sp.app_id, "accountEnabled": sp.account_enabled,
                "appRoleAssignmentRequired": sp.app_role_assignment_required}
    if typ == GRANT:
        grant = next(g for gs in live.grants.values() for g in gs if g.id == last)
        return {"servicePrincipalObjectId": grant.client_id, "resourceServicePrincipalObjectId": grant.resource_id,
                "claimValues": sorted(grant.scopes)}
    if typ == APP_ROLE_ASSIGNMENT:
        every = [*(a for xs in live.app_role_assignments.values() for a in xs),
                 *(a for xs in live.app_role_assigned_to.values() for a in xs)]
        found = next(a for a in every if a.id == last)
        return {"appRoleId": found.app_role_id, "principalObjectId": found.principal_id,
                "resourceObjectId": found.resource_id}
    if typ == GROUP:
        group = next(g for g in live.groups.values() if g.id == last)
        return {"displayName": group.display_name, "securityEnabled": group.security_enabled}
    if typ == GROUP_MEMBER:
        group, member = import_id.split("/member/")
        assert any(g.id == group and any(m.id == member for m in g.members) for g in live.groups.values())
        return {"groupObjectId": group, "memberObjectId": member}
    raise AssertionError(f"no import expected for {typ}")


def planned_differences(run: ProgramRun, live: Snapshot) -> dict[str, tuple[str, ...]]:
    """name -> the declared inputs an import would then update (ignore_changes honoured)."""
    differences = {}
    for name, (typ, import_id, declared) in run.imports.items():
        actual = live_inputs(live, typ, import_id)
        ignored = set(run.by_name[name].ignore_changes)
        changed = tuple(sorted(
            key for key, value in actual.items()
            if key in declared and key not in ignored and _normal(declared[key]) != _normal(value)
        ))
        if changed:
            differences[name] = changed
    return differences


def _normal(value: Any) -> Any:
    return sorted(value) if isinstance(value, (list, tuple, set, frozenset)) else value
