"""`sage365 validate`: schema and meaning of tenant files, alone and together.

Schema problems come from the loaders; this module adds what a schema cannot say:
names that must agree, domains, catalogue keys, expired waivers, example ids, duplicates
across files and the Pulumi stack file of each tenant.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from sage365.catalog import Catalog
from sage365.declaration import DeclarationError, Tenant, load_tenant
from sage365.yamlsafe import Problem, YamlError, load


@dataclass(frozen=True)
class Validation:
    tenants: tuple[Tenant, ...]
    problems: tuple[Problem, ...]  # errors and warnings, in file then line order

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if not p.warning)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.warning)


def _domain_of(upn: str) -> str:
    return upn.rsplit("@", 1)[-1].casefold()


def tenant_problems(tenant: Tenant, catalog: Catalog, today: dt.date) -> list[Problem]:
    """What is wrong in one schema-valid tenant file on its own."""
    doc = tenant.document
    assert doc is not None, "validated tenants come from files"
    problems: list[Problem] = []
    stem = Path(doc.path).stem
    if stem != tenant.name:
        problems.append(doc.problem(("metadata", "name"), f"metadata.name: '{tenant.name}' must equal the file name '{stem}'"))

    domains = {d.casefold() for d in tenant.all_domains}
    if len(domains) != len(tenant.all_domains):
        problems.append(doc.problem(("spec", "domains"), "spec.domains: repeats spec.primaryDomain"))

    def check_upn(upn: str, where: tuple, field: str) -> None:
        if _domain_of(upn) not in domains:
            problems.append(doc.problem(where, f"{field}: domain of '{upn}' is not one of the tenant's domains ({', '.join(tenant.all_domains)})"))

    check_upn(tenant.administrator.user_principal_name, ("spec", "administrator", "userPrincipalName"), "spec.administrator.userPrincipalName")

    for index, key in enumerate(tenant.consents):
        if key not in catalog.apps:
            problems.append(doc.problem(("spec", "consents", index), f"spec.consents[{index}]: unknown catalogue key '{key}' (known: {', '.join(sorted(catalog.apps))})"))
        elif catalog.apps[key].example and tenant.environment == "production":
            problems.append(doc.problem(("spec", "consents", index),
                                        f"spec.consents[{index}]: '{key}' has an EXAMPLE appId ({catalog.apps[key].app_id}) in the catalogue: fill in Sage's real id before using it on a production tenant",
                                        warning=True))

    groups: dict[str, int] = {}
    for index, addin in enumerate(tenant.addins):
        where = ("spec", "addins", index)
        app = catalog.apps.get(addin.app)
        if app is None:
            problems.append(doc.problem(where + ("app",), f"spec.addins[{index}].app: unknown catalogue key '{addin.app}'"))
        elif app.addin is None:
            problems.append(doc.problem(where + ("app",), f"spec.addins[{index}].app: '{addin.app}' has no add-in in the catalogue"))
        elif addin.app not in tenant.consents:
            problems.append(doc.problem(where + ("app",), f"spec.addins[{index}].app: the add-in needs consent: add '{addin.app}' to spec.consents"))
        folded = addin.group.casefold()
        if folded in groups:
            problems.append(doc.problem(where + ("group", "displayName"), f"spec.addins[{index}].group.displayName: '{addin.group}' is already used by spec.addins[{groups[folded]}]"))
        groups.setdefault(folded, index)
        seen: set[str] = set()
        for u, upn in enumerate(addin.users):
            check_upn(upn, where + ("users", u), f"spec.addins[{index}].users[{u}]")
            if upn.casefold() in seen:
                problems.append(doc.problem(where + ("users", u), f"spec.addins[{index}].users[{u}]: '{upn}' is listed twice"))
            seen.add(upn.casefold())

    if tenant.connector is not None and tenant.connector.app not in catalog.apps:
        problems.append(doc.problem(("spec", "connector", "app"), f"spec.connector.app: unknown catalogue key "
                                    f"'{tenant.connector.app}' (its sign-ins are the connector's fallback signal)"))

    if tenant.connector is not None and tenant.connector.machine_name is None and tenant.connector.connector_group is None:
        # connector.status then passes on any active connector, another application's included.
        problems.append(doc.problem(("spec", "connector"), "spec.connector: neither machineName nor connectorGroup is "
                                    "declared, so any active connector in the tenant (another application's too) would "
                                    "satisfy connector.status: name the Sage server's machine or its connector group",
                                    warning=True))

    for index, waiver in enumerate(tenant.waivers):
        if waiver.expires < today:
            problems.append(doc.problem(("spec", "waivers", index, "expires"),
                                        f"spec.waivers[{index}].expires: waiver for '{waiver.check}' expired on {waiver.expires.isoformat()}: renew it with a new reason or remove it"))
    return problems


def stack_problems(tenant: Tenant, stacks_dir: Path) -> list[Problem]:
    """The tenant's Pulumi stack file must exist and be pinned to the same tenant."""
    doc = tenant.document
    assert doc is not None
    stack = stacks_dir / f"Pulumi.{tenant.name}.yaml"
    if not stack.is_file():
        return [doc.problem(("metadata", "name"), f"metadata.name: no Pulumi stack file {stack} for this tenant", warning=True)]
    try:
        stack_doc = load(stack)
    except YamlError as exc:
        return [exc.problem]
    config = stack_doc.data.get("config") if isinstance(stack_doc.data, dict) else None
    pinned = config.get("azuread:tenantId") if isinstance(config, dict) else None
    if not isinstance(pinned, str) or pinned.lower() != tenant.tenant_id:
        return [stack_doc.problem(("config", "azuread:tenantId"),
                                  f"config.azuread:tenantId: {pinned!r} differs from spec.tenantId {tenant.tenant_id} in {doc.path}")]
    return []


def duplicate_problems(tenants: list[Tenant]) -> list[Problem]:
    """A name or a tenantId declared by two files: two reports (or two Pulumi stacks) for
    one tenant, one of them with the wrong declaration. Each later file is named."""
    problems: list[Problem] = []
    first_by_name: dict[str, Tenant] = {}
    first_by_id: dict[str, Tenant] = {}
    for tenant in tenants:
        doc = tenant.document
        assert doc is not None
        other = first_by_name.setdefault(tenant.name, tenant)
        if other is not tenant:
            problems.append(doc.problem(("metadata", "name"), f"metadata.name: '{tenant.name}' is also declared in {other.path}"))
        other = first_by_id.setdefault(tenant.tenant_id, tenant)
        if other is not tenant:
            problems.append(doc.problem(("spec", "tenantId"), f"spec.tenantId: {tenant.tenant_id} is also declared in {other.path} ('{other.name}')"))
    return problems


def validate(files: list[Path], catalog: Catalog, *, today: dt.date, stacks_dir: Path | None = None) -> Validation:
    """Validate every file; problems in one file never stop the others being read."""
    problems: list[Problem] = []
    tenants: list[Tenant] = []
    for path in files:
        try:
            tenant = load_tenant(path)
        except DeclarationError as exc:
            problems.extend(exc.problems)
            continue
        tenants.append(tenant)
        problems.extend(tenant_problems(tenant, catalog, today))
        stacks = stacks_dir if stacks_dir is not None else path.resolve().parent.parent / "stacks"
        if stacks_dir is not None or stacks.is_dir():
            problems.extend(stack_problems(tenant, stacks_dir if stacks_dir is not None else Path(path).parent.parent / "stacks"))

    problems.extend(duplicate_problems(tenants))
    order = {str(path): index for index, path in enumerate(files)}
    problems.sort(key=lambda p: (order.get(p.path, len(order)), p.path, p.line, p.column))
    return Validation(tuple(tenants), tuple(problems))
