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

from sage365 import yamlsafe
from sage365.files import write_atomic
from sage365.text import visible
from sage365.yamlsafe import Document, Problem

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
    """A state file that cannot be loaded: unreadable, invalid against the schema, or inconsistent.
    `where` (keys and indexes from the root, as in the file) places an inconsistency."""

    def __init__(self, message: str, where: tuple[str | int, ...] = ()) -> None:
        super().__init__(f"{_dotted(where)}: {message}" if where else message)
        self.message, self.where = message, where


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
    # Sandbox extension: the connector reads (connectors, connectorGroups, members) answer
    # Graph's 403, as Microsoft documents for app-only tokens (every sandbox token is app-only).
    connectorsDenied: bool = False
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


def _index(objects: Iterable[Obj], where: tuple[str | int, ...]) -> dict[str, Obj]:
    out: dict[str, Obj] = {}
    for index, obj in enumerate(objects):
        oid = str(obj["id"])
        if oid in out:
            raise StateError(f"duplicate id {oid}", where + (index, "id"))
        # Copied one by one: YAML aliases must not make two objects share mutable parts.
        out[oid] = copy.deepcopy(obj)
    return out


def tenant_from_json(tenant_id: str, raw: Mapping[str, Any], key: str | None = None) -> Tenant:
    """One tenant; `key` is its key as written in the file (for StateError.where)."""
    raw = copy.deepcopy(dict(raw))
    tenant = Tenant(id=tenant_id)
    base = ("tenants", key or tenant_id)
    for name in COLLECTIONS:
        setattr(tenant, name, _index(raw.get(name, []), base + (name,)))
    for number, group in enumerate(tenant.groups.values()):
        members = group.pop("members", [])
        for index, member in enumerate(members):
            if tenant.directory_object(member) is None and tenant.user(member) is None:
                raise StateError(f"unknown member {member}", base + ("groups", number, "members", index))
        # Members may be written as UPNs by hand; stored as ids.
        tenant.members[group["id"]] = [m if tenant.directory_object(m) else tenant.user(m)["id"] for m in members]
    for index, app in enumerate(raw.get("organizationApps", [])):
        app_id = str(app["AppId"]).lower()
        if app_id in tenant.organizationApps:
            raise StateError(f"duplicate AppId {app_id}", base + ("organizationApps", index, "AppId"))
        tenant.organizationApps[app_id] = {**copy.deepcopy(app), "AppId": app_id}
    tenant.exchangeDenied = bool(raw.get("exchangeDenied", False))
    tenant.connectorsDenied = bool(raw.get("connectorsDenied", False))
    for upn, details in raw.get("licenseDetails", {}).items():
        user = tenant.user(upn)
        if user is None:
            raise StateError(f"unknown user {upn}", base + ("licenseDetails", upn))
        tenant.license_details[user["id"]] = list(details)
    return tenant


def state_from_json(raw: Mapping[str, Any], *, validate: bool = True) -> State:
    if validate:
        validate_state(raw)
    apps = {str(a["appId"]).lower(): copy.deepcopy(a) for a in raw.get("applications", [])}
    tenants = {tid.lower(): tenant_from_json(tid.lower(), t or {}, tid) for tid, t in raw.get("tenants", {}).items()}
    return State(tenants=tenants, applications=apps)


def schema_errors(raw: Any) -> list[tuple[tuple[str | int, ...], str]]:
    """(where, message) for each way `raw` breaks schemas/sandbox-state.schema.json, in document order."""
    import jsonschema  # imported here: only loading validates

    schema = json.loads(SCHEMA_PATH.read_text())
    validator = jsonschema.Draft202012Validator(schema)
    out = []
    for error in validator.iter_errors(raw):
        if "propertyNames" in error.schema_path:  # the schema's only one: tenants by tenantId
            out.append(((*error.absolute_path, error.instance), f"{error.instance!r} is not a tenant id (a GUID)"))
        else:
            out.append((tuple(error.absolute_path), error.message))
    return sorted(out, key=lambda item: [str(p) for p in item[0]])


def _dotted(where: tuple[str | int, ...]) -> str:
    return ".".join(str(p) for p in where) or "(root)"


def validate_state(raw: Any) -> None:
    errors = schema_errors(raw)
    if errors:
        raise StateError("; ".join(f"{_dotted(where)}: {message}" for where, message in errors[:10]))


MAX_STATE_BYTES = 256 * 1024 * 1024  # a snapshot of a large fleet is far more than a tenant file's 1 MiB


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def read_document(path: str | Path) -> Document | None:
    """The file's data with the line and column of every key (YAML), or None for JSON;
    StateError with one `PATH:LINE:COL: message` line when it cannot be read."""
    path = Path(path)
    try:
        if path.suffix != ".json":
            return yamlsafe.load(path, aliases=True, max_bytes=MAX_STATE_BYTES)
        raw = yamlsafe.read_bytes(path, MAX_STATE_BYTES)
    except yamlsafe.YamlError as exc:
        raise StateError(str(exc)) from None
    try:
        data = json.loads(raw.decode("utf-8"), object_pairs_hook=_refuse_duplicates)
    except json.JSONDecodeError as exc:
        raise StateError(str(Problem(str(path), exc.lineno, exc.colno, exc.msg))) from None
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise StateError(str(Problem(str(path), 1, 1, f"not a JSON state: {exc}"))) from None
    return Document(str(path), data, {})


def read_raw(path: str | Path) -> Any:
    """The file's data (YAML or JSON by its .json suffix), read as strictly as load_state reads it."""
    return read_document(path).data


def load_state(path: str | Path) -> State:
    """Read, validate and index a state file (YAML, or JSON by its .json suffix).

    Every problem is one line, `PATH:LINE:COL: where: message` (JSON: `PATH: where: message`)."""
    document = read_document(path)

    def line(where: tuple[str | int, ...], message: str) -> str:
        text = f"{_dotted(where)}: {message}"
        if not document.positions:
            return f"{visible(str(path))}: {visible(text)}"
        return str(document.problem(where, text))

    errors = schema_errors(document.data)
    if errors:
        raise StateError("\n".join(line(where, message) for where, message in errors[:10]))
    try:
        return state_from_json(document.data, validate=False)
    except StateError as exc:
        raise StateError(line(exc.where, exc.message)) from None


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
