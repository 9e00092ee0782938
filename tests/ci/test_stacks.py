"""`sage365 stacks check|sync` on fixture trees: exact problems, exact files, nothing deleted."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sage365.affected import removal_action
from sage365.cli import app

ROOT = Path(__file__).resolve().parents[2]
OUT_OF_LINE = Path(__file__).parent / "fixtures" / "stacks-out-of-line"


@pytest.fixture
def tree(tmp_path, monkeypatch) -> Path:
    """A copy of the out-of-line fixture tree, as the current folder (paths as a partner sees them)."""
    shutil.copytree(OUT_OF_LINE, tmp_path / "repo")
    monkeypatch.chdir(tmp_path / "repo")
    return tmp_path / "repo"


def stacks(*args: str):
    return CliRunner().invoke(app, ["stacks", *args])


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


EXPECTED_PROBLEMS = [
    f"stacks/Pulumi.ghost.yaml:2:1: stack 'ghost' has no tenant file tenants/ghost.yaml: {removal_action('ghost')}",
    "stacks/Pulumi.northwind.yaml:2:1: config.pulumi:disable-default-providers: must list azuread, so that no resource "
    "can reach a tenant through the default provider (set it to [azuread])",
    "stacks/Pulumi.northwind.yaml:3:3: config.azuread:tenantId: '22222222-2222-4222-8222-222222222222' differs from "
    "spec.tenantId 33333333-3333-4333-8333-333333333333 in tenants/northwind.yaml",
]
NO_FABRIKAM_STACK = ("tenants/fabrikam.yaml:6:3: metadata.name: no stack file stacks/Pulumi.fabrikam.yaml for tenant "
                     "'fabrikam' (sage365 stacks sync writes it)")


def test_the_shipped_tree_is_in_line(monkeypatch):
    monkeypatch.chdir(ROOT)
    result = stacks("check")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "3 tenant(s), 3 stack file(s): in line\n", "")


def test_check_reports_each_problem_as_path_line_col(tree):
    before = snapshot(tree)
    result = stacks("check")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [*EXPECTED_PROBLEMS, NO_FABRIKAM_STACK,
                                          "4 problem(s) in tenants/ and stacks/"]
    assert result.stdout == ""
    assert snapshot(tree) == before


def test_check_disable_default_providers_forms(tree):
    stack = tree / "stacks/Pulumi.contoso.yaml"
    for value, ok in (("[azuread]", True), ('["*"]', True), ("[azuread, random]", True), ("[random]", False),
                      ("azuread", False), ("[]", False)):
        text = (ROOT / "stacks/Pulumi.contoso.yaml").read_text().replace("[azuread]", value)
        stack.write_text(text)
        result = stacks("check")
        flagged = any(line.startswith("stacks/Pulumi.contoso.yaml") for line in result.stderr.splitlines())
        assert flagged is not ok, value


def test_sync_writes_only_the_missing_file_and_deletes_nothing(tree):
    before = snapshot(tree)
    result = stacks("sync", "--prune")
    assert result.exit_code == 1
    assert result.stdout == (
        "wrote stacks/Pulumi.fabrikam.yaml\n"
        "would remove stacks/Pulumi.ghost.yaml (no tenants/ghost.yaml); nothing was deleted\n"
    )
    assert result.stderr.splitlines() == [*EXPECTED_PROBLEMS, "wrote 1 stack file(s); 3 problem(s) left for a person"]
    after = snapshot(tree)
    assert {k: v for k, v in after.items() if k in before} == before  # nothing changed, nothing deleted
    assert sorted(set(after) - set(before)) == ["stacks/Pulumi.fabrikam.yaml"]
    # Exactly this text; no temporary file is left behind (the set of new files above).
    assert after["stacks/Pulumi.fabrikam.yaml"].decode() == (
        "# Pulumi stack for tenant 'fabrikam' (tenants/fabrikam.yaml). One stack per customer tenant.\n"
        "# azuread:tenantId must equal spec.tenantId in tenants/fabrikam.yaml: the program refuses to run otherwise.\n"
        "# Sign-in: the client id comes from the CI job (ARM_CLIENT_ID, docs/ci.md); set azuread:clientId only for a "
        "workstation run, never in this committed file.\n"
        "config:\n"
        "  azuread:tenantId: 22222222-2222-4222-8222-222222222222\n"
        '  azuread:useOidc: "true"\n'
        "  # Every azuread resource must go through the program's explicit, tenant-pinned provider.\n"
        "  pulumi:disable-default-providers: [azuread]\n"
    )
    assert oct((tree / "stacks/Pulumi.fabrikam.yaml").stat().st_mode & 0o777) == oct(0o666 & ~_umask())
    # The tenant now passes; run again: nothing to write, the same problems.
    again = stacks("sync")
    assert again.stdout == ""
    assert again.stderr.splitlines() == [*EXPECTED_PROBLEMS, "wrote 0 stack file(s); 3 problem(s) left for a person"]
    assert snapshot(tree) == after


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_sync_with_a_client_id(tree):
    (tree / "stacks/Pulumi.ghost.yaml").unlink()
    (tree / "stacks/Pulumi.northwind.yaml").write_bytes((ROOT / "stacks/Pulumi.northwind.yaml").read_bytes())
    result = stacks("sync", "--client-id", "6a1f0e4c-1234-4d5e-8f90-0a1b2c3d4e5f")
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == "wrote stacks/Pulumi.fabrikam.yaml\nwrote 1 stack file(s); 3 tenant(s) in line\n"
    assert (tree / "stacks/Pulumi.fabrikam.yaml").read_text() == (
        "# Pulumi stack for tenant 'fabrikam' (tenants/fabrikam.yaml). One stack per customer tenant.\n"
        "# azuread:tenantId must equal spec.tenantId in tenants/fabrikam.yaml: the program refuses to run otherwise.\n"
        "config:\n"
        "  azuread:tenantId: 22222222-2222-4222-8222-222222222222\n"
        "  azuread:clientId: 6a1f0e4c-1234-4d5e-8f90-0a1b2c3d4e5f\n"
        '  azuread:useOidc: "true"\n'
        "  # Every azuread resource must go through the program's explicit, tenant-pinned provider.\n"
        "  pulumi:disable-default-providers: [azuread]\n"
    )
    assert stacks("check").exit_code == 0


def test_a_broken_tenant_file_is_reported_and_its_stack_is_not_an_orphan(tree):
    (tree / "tenants/contoso.yaml").write_text("apiVersion: sage365/v1\nkind: Tenant\nmetadata: {name: contoso}\n")
    result = stacks("check")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert [line for line in lines if "contoso" in line] == [
        "tenants/contoso.yaml:1:1: spec: required field is missing"]


def test_a_broken_stack_file_is_reported_and_its_tenant_is_not_unstacked(tree):
    (tree / "stacks/Pulumi.contoso.yaml").write_text("config:\n  a: 1\n  a: 2\n")
    result = stacks("sync")
    assert result.exit_code == 1
    assert [line for line in result.stderr.splitlines() if "contoso" in line] == [
        "stacks/Pulumi.contoso.yaml:3:3: duplicate key 'a' (first at line 2)"]
    assert (tree / "stacks/Pulumi.contoso.yaml").read_text() == "config:\n  a: 1\n  a: 2\n"


def test_sync_cannot_write_is_a_problem_not_a_traceback(tree, monkeypatch):
    # CI runs as root, which writes through read-only permissions: the refusal comes from os.link.
    def refuse(source, target):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "link", refuse)
    result = stacks("sync")
    assert result.exit_code == 1
    assert ("stacks/Pulumi.fabrikam.yaml:1:1: cannot write: stacks/Pulumi.fabrikam.yaml: Permission denied; "
            "the previous file, if any, is unchanged") in result.stderr.splitlines()
    assert sorted(p.name for p in (tree / "stacks").iterdir()) == [
        "Pulumi.contoso.yaml", "Pulumi.ghost.yaml", "Pulumi.northwind.yaml", "README.md"]  # no temporary file left


def test_a_file_that_appears_while_sync_runs_is_left_as_it_is(tree, monkeypatch):
    from sage365 import files

    real = files.write_atomic

    def racing(path, text, **options):
        path.write_text("# written by someone else\n")
        return real(path, text, **options)

    monkeypatch.setattr(files, "write_atomic", racing)
    result = stacks("sync")
    assert "stacks/Pulumi.fabrikam.yaml:1:1: appeared while sync ran: left as it is" in result.stderr.splitlines()
    assert (tree / "stacks/Pulumi.fabrikam.yaml").read_text() == "# written by someone else\n"
    assert sorted(p.name for p in (tree / "stacks").iterdir()) == [
        "Pulumi.contoso.yaml", "Pulumi.fabrikam.yaml", "Pulumi.ghost.yaml", "Pulumi.northwind.yaml", "README.md"]


def test_missing_folders_are_usage_errors(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = stacks("check")
    assert (result.exit_code, result.stderr) == (2, "sage365 stacks check: tenants: no such folder\n")
    (tmp_path / "tenants").mkdir()
    result = stacks("sync", "--stacks", "nowhere")
    assert (result.exit_code, result.stderr) == (2, "sage365 stacks sync: nowhere: no such folder\n")


def test_the_passphrase_salt_pulumi_writes_is_accepted(monkeypatch, tmp_path):
    shutil.copytree(ROOT / "tenants", tmp_path / "tenants")
    shutil.copytree(ROOT / "stacks", tmp_path / "stacks")
    stack = tmp_path / "stacks/Pulumi.contoso.yaml"
    stack.write_text("encryptionsalt: v1:3Jd1EjZ1qJg=:v1:dGVzdHRlc3R0ZXN0:cGFkZGluZ3BhZGRpbmc=\n" + stack.read_text())
    monkeypatch.chdir(tmp_path)
    result = stacks("check")
    assert (result.exit_code, result.stdout) == (0, "3 tenant(s), 3 stack file(s): in line\n")


def test_the_shipped_stack_files_are_what_sync_writes():
    """The shipped stack files say what sync and export write (the client id comes from the CI job):
    one text, so the committed files and the generated ones never contradict each other."""
    from sage365.declaration import load_tenant
    from sage365.stacks import stack_file_text

    root = Path(__file__).resolve().parents[2]
    shipped = sorted((root / "stacks").glob("Pulumi.*.yaml"))
    assert [p.name for p in shipped] == ["Pulumi.contoso.yaml", "Pulumi.fabrikam.yaml", "Pulumi.northwind.yaml"]
    for path in shipped:
        tenant = load_tenant(root / "tenants" / f"{path.name.split('.')[1]}.yaml")
        assert path.read_text() == stack_file_text(tenant), path.name
