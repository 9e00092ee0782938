"""`sage365 affected`: the tenants a git change touches, for CI matrices and people.

The git I/O lives here (one `git` process per question, no shell); the decision is
sage365.affected's. Errors exit 2 with one line saying what to do, notably for shallow
clones, where the base commit is often simply not fetched.
"""

from __future__ import annotations

import json
import subprocess
import sys
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from sage365.affected import FileChange, affected_tenants, batch_matrix, fleet, matrix, render_lines, tenant_of

# GitHub refuses a matrix of more than 256 jobs in one workflow run.
GITHUB_MATRIX_LIMIT = 256
NULL_COMMIT = "0" * 40


class Format(str, Enum):
    lines = "lines"
    json = "json"
    files = "files"


class GitError(Exception):
    pass


def _fail(message: str) -> typer.Exit:
    typer.echo(f"sage365 affected: {message}", err=True)
    return typer.Exit(2)


def git(repo: Path, *args: str) -> str:
    """Run git in `repo` and return its standard output; GitError with git's own message on failure."""
    try:
        done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise GitError("git is not installed") from None
    if done.returncode != 0:
        raise GitError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"git {args[0]} failed")
    return done.stdout


def _is_shallow(repo: Path) -> bool:
    return git(repo, "rev-parse", "--is-shallow-repository").strip() == "true"


FETCH_HINT = "fetch the history (actions/checkout with fetch-depth: 0, or git fetch --unshallow)"


def resolve(repo: Path, option: str, ref: str) -> str:
    """The commit id `ref` names, or a clear error (shallow clone, null commit, unknown ref)."""
    if ref == NULL_COMMIT:
        raise GitError(f"{option} {ref}: the null commit (a new branch or a forced push has no previous commit); "
                       "pass the default branch instead, e.g. origin/main")
    try:
        return git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}").strip()
    except GitError:
        if _is_shallow(repo):
            raise GitError(f"{option} {ref}: not in this shallow clone: {FETCH_HINT}") from None
        raise GitError(f"{option} {ref}: no such commit in this repository") from None


def merge_base(repo: Path, base: str, head: str, base_ref: str, head_ref: str) -> str:
    """Where head's branch left base: changes made on base since then are not head's."""
    try:
        return git(repo, "merge-base", base, head).strip()
    except GitError:
        if _is_shallow(repo):
            raise GitError(f"no common ancestor of {base_ref} and {head_ref} in this shallow clone: {FETCH_HINT}") from None
        raise GitError(f"{base_ref} and {head_ref} share no history") from None


def changed_files(repo: Path, since: str, head: str) -> list[FileChange]:
    """`git diff --name-status` with rename detection, NUL-separated so any file name is safe."""
    out = git(repo, "diff", "--name-status", "-z", "--find-renames", "--relative", "--no-ext-diff", since, head, "--")
    fields = out.split("\0")
    changes: list[FileChange] = []
    index = 0
    while index < len(fields) and fields[index]:
        status = fields[index]
        if status[0] in "RC":
            changes.append(FileChange(status[0], fields[index + 2], fields[index + 1]))
            index += 3
        else:
            changes.append(FileChange(status[0], fields[index + 1]))
            index += 2
    return changes


def tenants_at(repo: Path, commit: str) -> dict[str, str]:
    """The tenants declared at `commit` (tenants/*.yaml in its tree, not the working tree): name -> path."""
    out = git(repo, "ls-tree", "-z", "--name-only", commit, "--", "tenants/")
    return {name: path for path in sorted(out.split("\0")) if path and (name := tenant_of(path))}


def affected(
    base: Optional[str] = typer.Option(None, "--base", help="The commit the change starts from: the pull request's base, or the push's previous commit."),
    head: str = typer.Option("HEAD", "--head", help="The commit the change ends at."),
    every: bool = typer.Option(False, "--all", help="Every tenant declared at --head, without --base (the nightly run)."),
    fmt: Format = typer.Option(Format.lines, "--format", help="lines: NAME<TAB>CHANGE<TAB>detail; json: a GitHub Actions matrix; files: the tenant files (removed tenants left out)."),
    skip_removed: bool = typer.Option(
        False, "--skip-removed",
        help="Leave removed tenants out (a matrix of stacks to preview or update); they are still listed on stderr with what to run.",
    ),
    batch_size: Optional[int] = typer.Option(
        None, "--batch-size", min=1,
        help="With --format json: entries of up to N stacks each ({batch, stacks, count}), for fleets past GitHub's 256 jobs per matrix.",
    ),
    repo: Path = typer.Option(Path("."), "--repo", help="The project folder inside a git clone.", show_default=True),
) -> None:
    """List the tenants a git change touches (tenant or stack file, or every tenant for shared files). Exit 0, or 2 on a git error."""
    if (base is None) == (not every):
        raise _fail("give either --base REF or --all")
    if batch_size is not None and fmt is not Format.json:
        raise _fail("--batch-size goes with --format json")
    try:
        git(repo, "rev-parse", "--git-dir")
        head_commit = resolve(repo, "--head", head)
        declared = tenants_at(repo, head_commit)
        if every:
            tenants = fleet(declared)
        else:
            assert base is not None
            base_commit = resolve(repo, "--base", base)
            since = merge_base(repo, base_commit, head_commit, base, head)
            tenants = affected_tenants(changed_files(repo, since, head_commit), declared)
    except GitError as exc:
        raise _fail(str(exc)) from None

    removed = [t for t in tenants if not t.deployable]
    if skip_removed:
        tenants = [t for t in tenants if t.deployable]
        for tenant in removed:
            typer.echo(f"sage365 affected: {tenant.tenant}: removed: {tenant.action}", err=True)
    if fmt is Format.files:
        sys.stdout.write("".join(f"{declared[t.tenant]}\n" for t in tenants if t.deployable))
    elif fmt is Format.json and batch_size is not None:
        sys.stdout.write(json.dumps(batch_matrix(tenants, batch_size), separators=(",", ":")) + "\n")
    elif fmt is Format.json:
        if len(tenants) > GITHUB_MATRIX_LIMIT:
            typer.echo(f"sage365 affected: warning: {len(tenants)} entries, more than the {GITHUB_MATRIX_LIMIT} jobs "
                       "GitHub allows in one matrix: use --batch-size (docs/ci.md, scaling out)", err=True)
        sys.stdout.write(json.dumps(matrix(tenants), separators=(",", ":")) + "\n")
    else:
        sys.stdout.write(render_lines(tenants))
