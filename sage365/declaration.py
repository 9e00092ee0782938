"""Tenant declarations: YAML file -> JSON Schema -> frozen dataclasses.

Nothing else in sage365 parses tenant YAML. Every problem is a yamlsafe.Problem naming
the file, line and column of the offending key.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from sage365.schemas import schema_problems
from sage365.yamlsafe import Document, Problem, YamlError, load

API_VERSION = "sage365/v1"
DEFAULT_PLANS = ("P1", "P2")


class DeclarationError(Exception):
    """A file that cannot be used: one or more problems, each with file:line:col."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Licence:
    plans: tuple[str, ...] = DEFAULT_PLANS  # any one of these Entra ID plans satisfies Sage
    assign_free_seat: bool = False


@dataclass(frozen=True)
class Administrator:
    user_principal_name: str
    licence: Licence = Licence()


@dataclass(frozen=True)
class AddinAssignment:
    app: str  # catalogue key
    group: str  # display name of the assignment security group
    users: tuple[str, ...] = ()


@dataclass(frozen=True)
class ConnectorDeclaration:
    """spec.connector: the application proxy connector on the Sage 100 server."""

    machine_name: str | None = None  # None: any connector of the tenant
    minimum_version: str | None = None
    connector_group: str | None = None  # None: any connector group
    app: str = "sage-connector"  # catalogue key: its sign-ins are the fallback signal


@dataclass(frozen=True)
class Waiver:
    check: str
    reason: str
    expires: dt.date
    resource: str | None = None  # None: every resource of the check

    def covers(self, check: str, resource: str, today: dt.date) -> bool:
        """True when this waiver accepts a failure of `check` on `resource` on `today`."""
        return (
            self.check == check
            and (self.resource is None or self.resource.casefold() == resource.casefold())
            and today <= self.expires
        )


@dataclass(frozen=True)
class Tenant:
    name: str
    tenant_id: str
    primary_domain: str
    administrator: Administrator
    domains: tuple[str, ...] = ()
    subscription_skus: tuple[str, ...] | None = None  # None: the catalogue's list
    consents: tuple[str, ...] = ()
    addins: tuple[AddinAssignment, ...] = ()
    waivers: tuple[Waiver, ...] = ()
    connector: ConnectorDeclaration | None = None
    environment: str = "production"
    labels: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)
    # Where each field stands in the file, for error messages downstream.
    document: Document | None = field(default=None, compare=False, hash=False, repr=False)

    @property
    def path(self) -> str:
        return self.document.path if self.document else f"tenants/{self.name}.yaml"

    @property
    def all_domains(self) -> tuple[str, ...]:
        return (self.primary_domain, *self.domains)

    def waiver_for(self, check: str, resource: str, today: dt.date) -> Waiver | None:
        return next((w for w in self.waivers if w.covers(check, resource, today)), None)


def parse_tenant(document: Document) -> Tenant:
    """Build a Tenant from a schema-valid document."""
    spec = document.data["spec"]
    admin = spec["administrator"]
    licence = admin.get("licence", {})
    subscription = spec.get("subscription", {})
    return Tenant(
        name=document.data["metadata"]["name"],
        tenant_id=spec["tenantId"].lower(),
        primary_domain=spec["primaryDomain"].lower(),
        domains=tuple(d.lower() for d in spec.get("domains", ())),
        administrator=Administrator(
            user_principal_name=admin["userPrincipalName"],
            licence=Licence(
                plans=tuple(licence.get("plans", DEFAULT_PLANS)),
                assign_free_seat=licence.get("assignFreeSeat", False),
            ),
        ),
        subscription_skus=tuple(subscription["skus"]) if "skus" in subscription else None,
        consents=tuple(spec.get("consents", ())),
        addins=tuple(
            AddinAssignment(app=a["app"], group=a["group"]["displayName"], users=tuple(a["users"]))
            for a in spec.get("addins", ())
        ),
        waivers=tuple(
            Waiver(
                check=w["check"],
                reason=w["reason"],
                expires=dt.date.fromisoformat(w["expires"]),
                resource=w.get("resource"),
            )
            for w in spec.get("waivers", ())
        ),
        connector=_connector(spec["connector"]) if "connector" in spec else None,
        environment=document.data["metadata"].get("environment", "production"),
        labels=dict(document.data["metadata"].get("labels", {})),
        document=document,
    )


def _connector(raw: Mapping) -> ConnectorDeclaration:
    return ConnectorDeclaration(machine_name=raw.get("machineName"), minimum_version=raw.get("minimumVersion"),
                                connector_group=raw.get("connectorGroup"), app=raw.get("app", "sage-connector"))


def load_document(path: Path, schema: str) -> tuple[Document, list[Problem]]:
    """Read one file strictly and list its violations of schemas/<schema>.schema.json.

    A file that cannot be read or parsed raises DeclarationError; schema problems are
    returned so the caller can add its own before raising.
    """
    try:
        document = load(path)
    except YamlError as exc:
        raise DeclarationError([exc.problem]) from None
    return document, schema_problems(document, schema)


def load_tenant(path: str | Path) -> Tenant:
    """Read, schema-check and parse one tenant file; raise DeclarationError on any problem."""
    document, problems = load_document(Path(path), "tenant")
    if problems:
        raise DeclarationError(problems)
    try:
        return parse_tenant(document)
    except ValueError as exc:  # a date that matches the format but not the calendar
        raise DeclarationError([document.problem(("spec",), str(exc))]) from None


def tenant_files(paths: list[str | Path]) -> list[Path]:
    """The tenant files named by `paths`: files as given, folders' *.yaml/*.yml, sorted.

    Every *.yaml entry of a folder but a subfolder is listed, even one that cannot be
    read (a looping or dangling symbolic link, a FIFO): reading it reports why, rather
    than the tenant silently going unchecked. OSError when a folder cannot be listed.
    """
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and not p.is_dir()))
        else:
            files.append(path)
    return files
