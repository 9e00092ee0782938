"""Pulumi stack files kept in line with tenant files: pure rules over what was read.

One stack per tenant: `stacks/Pulumi.<name>.yaml` for `tenants/<name>.yaml`, pinned to the
declared tenantId, with the default azuread provider disabled so that every resource goes
through the program's tenant-pinned provider. `sage365 stacks check` reports every
departure as PATH:LINE:COL; `sage365 stacks sync` writes the missing files (the CLI does the
reading and writing; this module only decides).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, Iterable, Mapping

from sage365.affected import removal_action
from sage365.declaration import Tenant
from sage365.yamlsafe import Document, Problem

TENANT_ID_KEY = "azuread:tenantId"
DISABLE_DEFAULTS_KEY = "pulumi:disable-default-providers"


def stack_file_name(tenant: str) -> str:
    return f"Pulumi.{tenant}.yaml"


def stack_name_of(file_name: str) -> str | None:
    """The stack a `Pulumi.<stack>.yaml` file configures, or None for any other name."""
    if file_name.startswith("Pulumi.") and file_name.endswith(".yaml") and len(file_name) > len("Pulumi..yaml"):
        return file_name[len("Pulumi."):-len(".yaml")]
    return None


def disables_default_azuread(value: Any) -> bool:
    """Pulumi's `pulumi:disable-default-providers` is a list of packages, `*` meaning all."""
    return isinstance(value, list) and any(item in ("azuread", "*") for item in value)


def stack_file_problems(stack: Document, tenant: Tenant) -> list[Problem]:
    """What is wrong in one tenant's stack file."""
    data = stack.data
    config = data.get("config") if isinstance(data, dict) else None
    if not isinstance(config, dict):
        return [stack.problem(("config",), f"config: missing or not a mapping; expected {TENANT_ID_KEY}: {tenant.tenant_id} "
                                           f"and {DISABLE_DEFAULTS_KEY}: [azuread]")]
    problems: list[Problem] = []
    pinned = config.get(TENANT_ID_KEY)
    if not isinstance(pinned, str) or pinned.lower() != tenant.tenant_id:
        shown = "missing" if pinned is None else repr(pinned)
        problems.append(stack.problem(("config", TENANT_ID_KEY),
                                      f"config.{TENANT_ID_KEY}: {shown} differs from spec.tenantId {tenant.tenant_id} in {tenant.path}"))
    if not disables_default_azuread(config.get(DISABLE_DEFAULTS_KEY)):
        problems.append(stack.problem(("config", DISABLE_DEFAULTS_KEY),
                                      f"config.{DISABLE_DEFAULTS_KEY}: must list azuread, so that no resource can reach a tenant "
                                      f"through the default provider (set it to [azuread])"))
    return problems


@dataclass(frozen=True)
class StackCheck:
    problems: tuple[Problem, ...]
    missing: tuple[Tenant, ...]  # tenants without a stack file: `stacks sync` writes these
    orphans: tuple[str, ...]  # stack files without a tenant file: never deleted, only listed


def check_stacks(
    tenants: list[Tenant],
    stacks: Mapping[str, Document],
    stacks_dir: str,
    *,
    unreadable_tenants: Iterable[str] = (),
    unreadable_stacks: Iterable[str] = (),
) -> StackCheck:
    """Compare tenants with the stack files read from `stacks_dir` (keyed by stack name).

    Files that could not be read were reported by their loader; their names are given so
    that a broken tenant file does not make its stack look orphaned, nor a broken stack
    file its tenant look unstacked.
    """
    declared = {tenant.name for tenant in tenants} | set(unreadable_tenants)
    unreadable = set(unreadable_stacks)
    problems: list[Problem] = []
    missing: list[Tenant] = []
    for tenant in tenants:
        stack = stacks.get(tenant.name)
        if stack is None and tenant.name in unreadable:
            continue
        if stack is None:
            missing.append(tenant)
            path = str(PurePath(stacks_dir) / stack_file_name(tenant.name))
            problems.append(_tenant_problem(tenant, f"metadata.name: no stack file {path} for tenant '{tenant.name}' "
                                                    f"(sage365 stacks sync writes it)"))
        else:
            problems.extend(stack_file_problems(stack, tenant))
    orphans = sorted(name for name in stacks if name not in declared)
    for name in orphans:
        problems.append(stacks[name].problem((), f"stack '{name}' has no tenant file tenants/{name}.yaml: {removal_action(name)}"))
    return StackCheck(tuple(problems), tuple(missing), tuple(orphans))


def _tenant_problem(tenant: Tenant, message: str) -> Problem:
    if tenant.document is not None:
        return tenant.document.problem(("metadata", "name"), message)
    return Problem(tenant.path, 1, 1, message)


def stack_file_text(tenant: Tenant, client_id: str | None = None) -> str:
    """A new stack file for `tenant`, as the shipped ones are written."""
    name = tenant.name
    lines = [
        f"# Pulumi stack for tenant '{name}' (tenants/{name}.yaml). One stack per customer tenant.",
        f"# azuread:tenantId must equal spec.tenantId in tenants/{name}.yaml: the program refuses to run otherwise.",
    ]
    if client_id is None:
        lines.append("# Sign-in: the client id comes from the CI job (ARM_CLIENT_ID, docs/ci.md); "
                     "set azuread:clientId only for a workstation run, never in this committed file.")
    lines += ["config:", f"  {TENANT_ID_KEY}: {tenant.tenant_id}"]
    if client_id is not None:
        lines.append(f"  azuread:clientId: {client_id}")
    lines += [
        '  azuread:useOidc: "true"',
        "  # Every azuread resource must go through the program's explicit, tenant-pinned provider.",
        f"  {DISABLE_DEFAULTS_KEY}: [azuread]",
    ]
    return "\n".join(lines) + "\n"
