"""`sage365 stacks check|sync`: one Pulumi stack file per tenant file, pinned to its tenant.

Reading and writing happen here; the rules are sage365.stacks'. Problems go to stderr as
PATH:LINE:COL: message. `sync` writes only missing files (atomically, never replacing one)
and never deletes: `--prune` lists what a person may remove.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import typer

from sage365 import files
from sage365.declaration import DeclarationError, Tenant, load_tenant, tenant_files
from sage365.stacks import StackCheck, check_stacks, stack_file_name, stack_file_text, stack_name_of
from sage365.yamlsafe import Document, Problem, YamlError, load

app = typer.Typer(no_args_is_help=True, help="Pulumi stack files kept in line with tenant files.")

TENANTS_OPTION = typer.Option(Path("tenants"), "--tenants", help="Folder of tenant files.")
STACKS_OPTION = typer.Option(Path("stacks"), "--stacks", help="Folder of Pulumi stack files (Pulumi.<tenant>.yaml).")


@dataclass
class _Tree:
    tenants: list[Tenant]
    stacks: dict[str, Document]
    problems: list[Problem]  # files that could not be read
    unreadable_tenants: set[str]
    unreadable_stacks: set[str]

    def check(self, stacks_dir: Path) -> StackCheck:
        return check_stacks(self.tenants, self.stacks, str(stacks_dir),
                            unreadable_tenants=self.unreadable_tenants, unreadable_stacks=self.unreadable_stacks)


def _fail(command: str, message: str) -> typer.Exit:
    typer.echo(f"sage365 stacks {command}: {message}", err=True)
    return typer.Exit(2)


def _read(command: str, tenants_dir: Path, stacks_dir: Path) -> _Tree:
    if not tenants_dir.is_dir():
        raise _fail(command, f"{tenants_dir}: no such folder")
    if not stacks_dir.is_dir():
        raise _fail(command, f"{stacks_dir}: no such folder")
    tree = _Tree([], {}, [], set(), set())
    for path in tenant_files([tenants_dir]):
        try:
            tree.tenants.append(load_tenant(path))
        except DeclarationError as exc:
            tree.problems.extend(exc.problems)
            tree.unreadable_tenants.add(path.stem)
    for path in sorted(stacks_dir.iterdir()):
        name = stack_name_of(path.name)
        if name is None or not path.is_file():
            continue
        try:
            tree.stacks[name] = load(path)
        except YamlError as exc:
            tree.problems.append(exc.problem)
            tree.unreadable_stacks.add(name)
    return tree


def _report(problems: list[Problem]) -> None:
    for problem in sorted(problems, key=lambda p: (p.path, p.line, p.column)):
        typer.echo(str(problem), err=True)


def check(tenants: Path = TENANTS_OPTION, stacks: Path = STACKS_OPTION) -> None:
    """Check that every tenant has its stack file, pinned to its tenantId with default providers disabled, and no stack file lacks a tenant. Exit 0, 1 problems, 2 usage error."""
    tree = _read("check", tenants, stacks)
    result = tree.check(stacks)
    problems = tree.problems + list(result.problems)
    if problems:
        _report(problems)
        typer.echo(f"{len(problems)} problem(s) in {tenants}/ and {stacks}/", err=True)
        raise typer.Exit(1)
    typer.echo(f"{len(tree.tenants)} tenant(s), {len(tree.stacks)} stack file(s): in line")


def sync(
    tenants: Path = TENANTS_OPTION,
    stacks: Path = STACKS_OPTION,
    client_id: Optional[str] = typer.Option(None, "--client-id", help="Write azuread:clientId (the deployment app registration) into new stack files."),
    prune: bool = typer.Option(False, "--prune", help="List stack files without a tenant, and what a person must run; nothing is deleted."),
) -> None:
    """Write the missing stack files (never replaces or deletes one), then report what is still out of line. Exit 0, 1 problems left, 2 usage error."""
    tree = _read("sync", tenants, stacks)
    before = tree.check(stacks)
    written = 0
    problems = list(tree.problems)  # unreadable files: the same after writing
    for tenant in before.missing:
        path = stacks / stack_file_name(tenant.name)
        try:
            files.write_atomic(path, stack_file_text(tenant, client_id), replace=False)
        except FileExistsError:
            problems.append(Problem(str(path), 1, 1, "appeared while sync ran: left as it is"))
            continue
        except files.OutputError as exc:
            problems.append(Problem(str(path), 1, 1, f"cannot write: {exc}"))
            continue
        written += 1
        typer.echo(f"wrote {path}")
    # Read everything again: what is left is judged on the files as they now are.
    after = _read("sync", tenants, stacks)
    problems += [p for p in after.check(stacks).problems if p not in problems]
    if prune:
        for name in before.orphans:
            typer.echo(f"would remove {stacks / stack_file_name(name)} (no tenants/{name}.yaml); nothing was deleted")
    if problems:
        _report(problems)
        typer.echo(f"wrote {written} stack file(s); {len(problems)} problem(s) left for a person", err=True)
        raise typer.Exit(1)
    typer.echo(f"wrote {written} stack file(s); {len(tree.tenants)} tenant(s) in line")


app.command("check")(check)
app.command("sync")(sync)
