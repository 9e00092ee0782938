"""The sandbox's state: tenants of Graph objects, loaded from and saved to YAML or JSON.

A state file is a map of tenants by tenantId, each holding collections in Microsoft
Graph's own JSON shapes (schemas/sandbox-state.schema.json). In memory each collection
is a dict by object id (insertion-ordered, O(1) lookups); group members and per-user
licenseDetails are kept beside the objects because Graph serves them as navigations.
"""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from sage365.files import write_atomic

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schemas" / "sandbox-state.schema.json"

# Collections held as lists of objects with an "id", in the order the file gives them.
COLLECTIONS = (
    "organization",
    "users",
    "subscribedSkus",
    "servicePrincipals",
    "oauth2PermissionGrants",
    "appRoleAssignments",
    "groups",
    "roleAssignments",
    "roleDefinitions",
    "connectors",  # Graph beta, served under /beta
    "connectorGroups",  # with `members`: connector ids (as stored)
    "servicePrincipalSignInActivities",  # Graph beta reports
)

Obj = dict[str, Any]


class StateError(ValueError):
    """A state file that cannot be loaded: unreadable, invalid against the schema, or inconsistent."""


@dataclass
class Tenant:
    """One tenant's directory. Objects are Graph JSON dicts, keyed by id."""

    id: str
    organization: dict[str, Obj] = field(default_factory=dict)
    users: dict[str, Obj] = field(default_factory=dict)
    subscribedSkus: dict[str, Obj] = field(default_factory=dict)
    servicePrincipals: dict[str, Obj] = field(default_factory=dict)
    oauth2PermissionGrants: dict[str, Obj] = field(default_factory=dict)
    appRoleAssignments: dict[str, Obj] = field(default_factory=dict)
    groups: dict[str, Obj] = field(default_factory=dict)
    roleAssignments: dict[str, Obj] = field(default_factory=dict)
    roleDefinitions: dict[str, Obj] = field(default_factory=dict)
    connectors: dict[str, Obj] = field(default_factory=dict)
    connectorGroups: dict[str, Obj] = field(default_factory=dict)
    servicePrincipalSignInActivities: dict[str, Obj] = field(default_factory=dict)
    # Exchange Online's organization apps, in Get-App's shape, by AppId (lower-case).
    organizationApps: dict[str, Obj] = field(default_factory=dict)
    exchangeDenied: bool = False  # sandbox extension: Exchange answers 403 (no ManageAsApp/role)
    connectorsDenied: bool = False  # sandbox extension: /beta connectors answer 403
    license_details: dict[str, list[Obj]] = field(default_factory=dict)  # by user id
    members: dict[str, list[str]] = field(default_factory=dict)  # group id -> member ids

    def user(self, key: str) -> Obj | None:
        """A user by id or userPrincipalName (case-insensitive, as in Graph)."""
        found = self.users.get(key)
        if found is not None:
            return found
        lowered = key.lower()
        for user in self.users.values():
            if str(user.get("userPrincipalName", "")).lower() == lowered:
                return user
        return None

    def service_principal_by_app_id(self, app_id: str) -> Obj | None:
        lowered = app_id.lower()
        for sp in self.servicePrincipals.values():
            if str(sp.get("appId", "")).lower() == lowered:
                return sp
        return None

    def directory_object(self, object_id: str) -> tuple[str, Obj] | None:
        """A user, group or service principal by id, with its Graph type name."""
        for kind, coll in (("user", self.users), ("group", self.groups), ("servicePrincipal", self.servicePrincipals)):
            if object_id in coll:
                return kind, coll[object_id]
        return None

    def to_json(self) -> Obj:
        out: Obj = {}
        for name in COLLECTIONS:
            objects = [copy.deepcopy(o) for o in getattr(self, name).values()]
            if name == "groups":
                for group in objects:
                    group["members"] = list(self.members.get(group["id"], []))
            if objects:
                out[name] = objects
        if self.license_details:
            out["licenseDetails"] = copy.deepcopy(self.license_details)
        if self.organizationApps:
            out["organizationApps"] = copy.deepcopy(list(self.organizationApps.values()))
        for flag in ("exchangeDenied", "connectorsDenied"):
            if getattr(self, flag):
                out[flag] = True
        return out


@dataclass
class State:
    """All tenants, plus the multi-tenant applications any tenant may consent to.

    `applications` stands for app registrations published in other tenants (Sage's apps,
    Microsoft Graph): POST /servicePrincipals instantiates one of them in a tenant.
    """

    tenants: dict[str, Tenant] = field(default_factory=dict)
    applications: dict[str, Obj] = field(default_factory=dict)  # by appId, lower-case

    def to_json(self) -> Obj:
        out: Obj = {}
        if self.applications:
            out["applications"] = copy.deepcopy(list(self.applications.values()))
        out["tenants"] = {tid: t.to_json() for tid, t in self.tenants.items()}
        return out

    def copy(self) -> "State":
        return copy.deepcopy(self)


def new_id() -> str:
    return str(uuid.uuid4())


def _index(objects: Iterable[Obj], where: str) -> dict[str, Obj]:
    out: dict[str, Obj] = {}
    for obj in objects:
        oid = str(obj["id"])
        if oid in out:
            raise StateError(f"{where}: duplicate id {oid}")
        # Copied one by one: YAML aliases must not make two objects share mutable parts.
        out[oid] = copy.deepcopy(obj)
    return out


def tenant_from_json(tenant_id: str, raw: Mapping[str, Any]) -> Tenant:
    raw = copy.deepcopy(dict(raw))
    tenant = Tenant(id=tenant_id)
    for name in COLLECTIONS:
        setattr(tenant, name, _index(raw.get(name, []), f"tenants.{tenant_id}.{name}"))
    for group in tenant.groups.values():
        members = group.pop("members", [])
        for member in members:
            if tenant.directory_object(member) is None and tenant.user(member) is None:
                raise StateError(f"tenants.{tenant_id}.groups[{group['id']}]: unknown member {member}")
        # Members may be written as UPNs by hand; stored as ids.
        tenant.members[group["id"]] = [m if tenant.directory_object(m) else tenant.user(m)["id"] for m in members]
    for app in raw.get("organizationApps", []):
        app_id = str(app["AppId"]).lower()
        if app_id in tenant.organizationApps:
            raise StateError(f"tenants.{tenant_id}.organizationApps: duplicate AppId {app_id}")
        tenant.organizationApps[app_id] = {**copy.deepcopy(app), "AppId": app_id}
    tenant.exchangeDenied = bool(raw.get("exchangeDenied", False))
    tenant.connectorsDenied = bool(raw.get("connectorsDenied", False))
    for key, details in raw.get("licenseDetails", {}).items():
        user = tenant.user(key)
        if user is None:
            raise StateError(f"tenants.{tenant_id}.licenseDetails: unknown user {key}")
        tenant.license_details[user["id"]] = list(details)
    return tenant


def state_from_json(raw: Mapping[str, Any], *, validate: bool = True) -> State:
    if validate:
        validate_state(raw)
    apps = {str(a["appId"]).lower(): copy.deepcopy(a) for a in raw.get("applications", [])}
    tenants = {tid.lower(): tenant_from_json(tid.lower(), t or {}) for tid, t in raw.get("tenants", {}).items()}
    return State(tenants=tenants, applications=apps)


def validate_state(raw: Any) -> None:
    import jsonschema  # imported here: only loading validates

    schema = json.loads(SCHEMA_PATH.read_text())
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(raw), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"{'.'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}" for e in errors[:10]]
        raise StateError("invalid sandbox state:\n  " + "\n  ".join(lines))


def read_raw(path: str | Path) -> Any:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise StateError(f"{path}: {exc.strerror}") from exc
    try:
        return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise StateError(f"{path}: {exc}") from exc


def load_state(path: str | Path) -> State:
    """Read, validate and index a state file (YAML, or JSON by its .json suffix)."""
    try:
        return state_from_json(read_raw(path))
    except StateError as exc:
        if str(exc).startswith(str(path)):
            raise
        raise StateError(f"{path}: {exc}") from exc


def save_state(state: State, path: str | Path) -> None:
    """Write the state back in the same format it is loaded from (JSON by suffix, else YAML).

    Raises sage365.files.OutputError (an OSError's one-line reason) when it cannot."""
    path = Path(path)
    data = state.to_json()
    if path.suffix == ".json":
        text = json.dumps(data, indent=2) + "\n"
    else:
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    write_atomic(path, text)  # the previous state stays whole if saving is interrupted
