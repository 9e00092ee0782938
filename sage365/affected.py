"""Which tenants a git change touches: pure logic over the list of changed files.

`sage365 affected` (sage365/cli/affected.py) asks git for the changed files and the tenant
files at the head commit; this module decides, from paths alone, which stacks the change
touches and how, so the pull-request and merge workflows preview or update exactly those.

- `tenants/<name>.yaml` or `stacks/Pulumi.<name>.yaml` changed: that tenant;
- a file every stack's program reads (catalogue and add-in manifests, components, policy
  pack, schemas, the sage365 package the program imports, `__main__.py`, `Pulumi.yaml`,
  `pyproject.toml`, `constraints.txt`): every tenant at the head commit;
- a renamed tenant file: both names, linked to each other; a deleted one: `removed`, with
  what a person must run, because the pipeline never destroys a stack.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable

# Files and folders that every stack's program reads: a change to one of them can change
# any tenant's preview. sage365/ is here because components/ and the preview gate import it,
# except the parts the program never imports (the command line, the report renderers and
# the Graph emulator): tests/ci/test_affected_rules.py walks the program's imports to keep
# that true, so a report change does not re-preview the whole fleet.
SHARED_FILES = ("Pulumi.yaml", "__main__.py", "pyproject.toml", "constraints.txt")
SHARED_FOLDERS = ("catalog/", "components/", "policies/", "schemas/", "sage365/")
NOT_SHARED_FOLDERS = ("sage365/cli/", "sage365/reports/", "sage365/sandbox/")
# At most this many shared paths are named in a reason: a matrix of a thousand tenants must
# stay well under GitHub's 1 MB limit for a job's outputs.
SHOWN_SHARED = 3

_TENANT = re.compile(r"^tenants/(?P<name>[^/]+)\.ya?ml$")
_STACK = re.compile(r"^stacks/Pulumi\.(?P<name>[^/]+)\.yaml$")

ADDED, MODIFIED, RENAMED, REMOVED, SHARED, FLEET = "added", "modified", "renamed", "removed", "shared", "fleet"


@dataclass(frozen=True)
class FileChange:
    """One line of `git diff --name-status`: A, M, D, T, R (rename) or C (copy)."""

    status: str
    path: str  # the path at head; for a deletion, the deleted path
    old_path: str | None = None  # for a rename or copy: the path at base


@dataclass(frozen=True)
class AffectedTenant:
    """One tenant a change touches, and why."""

    tenant: str
    change: str  # added | modified | renamed | removed | shared | fleet (every tenant, asked for)
    reasons: tuple[str, ...]  # the tenant's own changed paths, sorted
    shared: tuple[str, ...] = ()  # the changed shared paths, sorted
    renamed_from: str | None = None  # for the new name of a renamed tenant
    renamed_to: str | None = None  # for the old name of a renamed tenant
    action: str | None = None  # for a removed tenant: what a person must run

    @property
    def deployable(self) -> bool:
        """True when the tenant has a declaration at head, so its stack can be previewed or updated."""
        return self.change != REMOVED

    @property
    def reason(self) -> str:
        """The changed paths, shared ones abridged past SHOWN_SHARED."""
        shared = list(self.shared[:SHOWN_SHARED])
        if len(self.shared) > SHOWN_SHARED:
            shared.append(f"{len(self.shared) - SHOWN_SHARED} more shared file(s)")
        return ", ".join([*self.reasons, *shared])

    def as_matrix_entry(self) -> dict[str, str]:
        """Flat strings only, so a GitHub Actions matrix can use every value as `matrix.<key>`."""
        entry = {"tenant": self.tenant, "stack": self.tenant, "change": self.change, "reason": self.reason}
        if self.renamed_from:
            entry["renamedFrom"] = self.renamed_from
        if self.renamed_to:
            entry["renamedTo"] = self.renamed_to
        if self.action:
            entry["action"] = self.action
        return entry


def tenant_of(path: str) -> str | None:
    """The tenant named by a tenant file path, or None."""
    match = _TENANT.match(path)
    return match["name"] if match else None


def stack_of(path: str) -> str | None:
    """The tenant named by a stack file path, or None."""
    match = _STACK.match(path)
    return match["name"] if match else None


def is_shared(path: str) -> bool:
    """True for a file that every stack's program reads."""
    return path in SHARED_FILES or (path.startswith(SHARED_FOLDERS) and not path.startswith(NOT_SHARED_FOLDERS))


def removal_action(name: str) -> str:
    """What a person runs for a tenant whose declaration is gone: the pipeline never destroys."""
    return (
        f"the pipeline never destroys stack '{name}'. To remove what it created in the tenant: "
        f"pulumi destroy --stack {name} (service principals are protected: pulumi state unprotect --all --stack {name} "
        f"first, on purpose), then pulumi stack rm {name}. To stop managing the tenant and leave it as it is: "
        f"pulumi stack rm --force {name}. Delete stacks/Pulumi.{name}.yaml in the same change."
    )


def rename_action(old: str, new: str) -> str:
    """What a person runs when a tenant's slug (= its stack name) changes."""
    return (
        f"renamed to '{new}': stack '{old}' still manages the tenant and the pipeline never destroys or moves it; "
        f"stack '{new}' starts empty, so its first pulumi up would create what '{old}' already holds (Graph refuses "
        f"duplicates). Keep the old name, or hand the tenant over: pulumi stack rm --force {old} (forgets the stack, "
        f"changes nothing in the tenant), then adopt the existing objects in '{new}' (docs/pulumi.md, tenants "
        f"associated by hand)."
    )


@dataclass
class _Touched:
    reasons: set[str] = field(default_factory=set)
    added: bool = False
    renamed_from: str | None = None
    renamed_to: str | None = None


def affected_tenants(changes: Iterable[FileChange], head_tenants: Iterable[str]) -> list[AffectedTenant]:
    """The tenants touched by `changes`, sorted by name.

    `head_tenants` are the tenant names declared at the head commit: they are "every tenant"
    when a shared file changed, and a touched name missing from them has been removed.
    """
    declared = set(head_tenants)
    touched: dict[str, _Touched] = {}
    shared: set[str] = set()

    def touch(name: str, path: str) -> _Touched:
        entry = touched.setdefault(name, _Touched())
        entry.reasons.add(path)
        return entry

    for change in changes:
        paths = [change.path] + ([change.old_path] if change.old_path else [])
        if change.status.startswith("R") and change.old_path:
            old, new = tenant_of(change.old_path), tenant_of(change.path)
            if old and new and old != new:
                touch(new, change.path).renamed_from = old
                touch(old, change.old_path).renamed_to = new
            elif new and not old:
                touch(new, change.path).added = True
            elif old and new:  # same name, other extension (.yml -> .yaml)
                touch(new, change.path)
            elif old:
                touch(old, change.old_path)
        else:
            name = tenant_of(change.path)
            if name:
                entry = touch(name, change.path)
                entry.added = entry.added or change.status.startswith(("A", "C"))
        for path in paths:
            stack = stack_of(path)
            if stack:
                touch(stack, path)
            if is_shared(path):
                shared.add(path)

    for name in declared:
        if shared and name not in touched:
            touched[name] = _Touched()

    result: list[AffectedTenant] = []
    for name in sorted(touched):
        entry = touched[name]
        own, common = tuple(sorted(entry.reasons)), tuple(sorted(shared))
        if name not in declared:
            if entry.renamed_to and entry.renamed_to in declared:
                result.append(AffectedTenant(name, REMOVED, own, common, renamed_to=entry.renamed_to,
                                             action=rename_action(name, entry.renamed_to)))
            else:
                result.append(AffectedTenant(name, REMOVED, own, common, action=removal_action(name)))
        elif entry.renamed_from:
            result.append(AffectedTenant(name, RENAMED, own, common, renamed_from=entry.renamed_from))
        elif entry.added:
            result.append(AffectedTenant(name, ADDED, own, common))
        elif entry.reasons:
            result.append(AffectedTenant(name, MODIFIED, own, common))
        else:
            result.append(AffectedTenant(name, SHARED, own, common))
    return result


def fleet(head_tenants: Iterable[str]) -> list[AffectedTenant]:
    """Every declared tenant, for the scheduled runs that cover the whole fleet."""
    return [AffectedTenant(name, FLEET, ()) for name in sorted(set(head_tenants))]


def render_lines(tenants: list[AffectedTenant]) -> str:
    """One line per tenant: NAME, TAB, CHANGE, TAB, detail (why, or what a person must run)."""
    lines = []
    for tenant in tenants:
        if tenant.change == REMOVED:
            detail = tenant.action or ""
        elif tenant.change == RENAMED:
            detail = f"renamed from {tenant.renamed_from}: {tenant.reason}"
        else:
            detail = tenant.reason
        lines.append(f"{tenant.tenant}\t{tenant.change}\t{detail}")
    return "".join(line + "\n" for line in lines)


def matrix(tenants: list[AffectedTenant]) -> dict[str, list[dict[str, str]]]:
    """A GitHub Actions matrix: `strategy.matrix: ${{ fromJSON(...) }}` takes it as it is."""
    return {"include": [tenant.as_matrix_entry() for tenant in tenants]}


def batch_matrix(tenants: list[AffectedTenant], size: int) -> dict[str, list[dict[str, str]]]:
    """A matrix of batches of at most `size` stacks each (space-separated in `stacks`), for
    fleets larger than GitHub's 256 jobs per matrix; removed tenants are never batched."""
    if size < 1:
        raise ValueError("batch size must be at least 1")
    names = [t.tenant for t in tenants if t.deployable]
    chunks = [names[i:i + size] for i in range(0, len(names), size)]
    return {"include": [{"batch": f"{n}/{len(chunks)}", "stacks": " ".join(chunk), "count": str(len(chunk))}
                        for n, chunk in enumerate(chunks, start=1)]}
