"""`sage365 affected` on real git histories made in a temporary repository."""

from __future__ import annotations

import json
import subprocess

import pytest
from typer.testing import CliRunner

from sage365.affected import removal_action, rename_action
from sage365.cli import app
from tests.ci.gitrepo import Repo, partner_repo


@pytest.fixture
def repo(tmp_path) -> Repo:
    return partner_repo(tmp_path / "partner")


def affected(repo: Repo, *args: str):
    return CliRunner().invoke(app, ["affected", "--repo", str(repo.path), *args])


def edit(repo: Repo, relative: str, old: str, new: str) -> None:
    path = repo.path / relative
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_a_tenant_edit_touches_that_tenant_only(repo):
    base = repo.git("rev-parse", "HEAD")
    edit(repo, "tenants/fabrikam.yaml", "fabrikam.onmicrosoft.com", "fabrikam-fr.onmicrosoft.com")
    repo.commit("fabrikam: new primary domain")
    result = affected(repo, "--base", base)
    assert (result.exit_code, result.stdout, result.stderr) == (0, "fabrikam\tmodified\ttenants/fabrikam.yaml\n", "")


def test_a_stack_file_edit_touches_its_tenant(repo):
    base = repo.git("rev-parse", "HEAD")
    edit(repo, "stacks/Pulumi.northwind.yaml", 'azuread:useOidc: "true"', 'azuread:useOidc: "true"\n  azuread:clientId: 4f3c1e2a-0000-4000-8000-000000000001')
    repo.commit("northwind: client id")
    result = affected(repo, "--base", base, "--head", "HEAD")
    assert result.stdout == "northwind\tmodified\tstacks/Pulumi.northwind.yaml\n"


def test_a_catalogue_edit_touches_every_tenant(repo):
    base = repo.git("rev-parse", "HEAD")
    edit(repo, "catalog/catalog.yaml", "Mail.Read]", "Mail.Read, Calendars.Read]")
    repo.commit("sage-contact reads calendars")
    result = affected(repo, "--base", base)
    assert result.exit_code == 0
    assert result.stdout == (
        "contoso\tshared\tcatalog/catalog.yaml\n"
        "fabrikam\tshared\tcatalog/catalog.yaml\n"
        "northwind\tshared\tcatalog/catalog.yaml\n"
    )


def test_a_manifest_and_a_tenant_edit_together(repo):
    base = repo.git("rev-parse", "HEAD")
    (repo.path / "catalog/addins/sage-contact.xml").write_text("<OfficeApp/>\n")
    edit(repo, "tenants/contoso.yaml", "bob@contoso.fr", "carol@contoso.fr")
    repo.commit("new manifest; carol instead of bob")
    result = affected(repo, "--base", base)
    assert result.stdout == (
        "contoso\tmodified\ttenants/contoso.yaml, catalog/addins/sage-contact.xml\n"
        "fabrikam\tshared\tcatalog/addins/sage-contact.xml\n"
        "northwind\tshared\tcatalog/addins/sage-contact.xml\n"
    )


def test_documentation_and_reports_touch_nothing(repo):
    base = repo.git("rev-parse", "HEAD")
    repo.write("README.md", "# the partner's fleet\n")
    repo.write("sage365/reports/markdown.py", "# renderer\n")
    repo.commit("docs")
    result = affected(repo, "--base", base, "--format", "json")
    assert (result.exit_code, result.stdout) == (0, '{"include":[]}\n')


def test_a_new_tenant_is_added(repo):
    base = repo.git("rev-parse", "HEAD")
    text = (repo.path / "tenants/fabrikam.yaml").read_text().replace("fabrikam", "wingtip")
    repo.write("tenants/wingtip.yaml", text)
    repo.commit("wingtip")
    result = affected(repo, "--base", base)
    assert result.stdout == "wingtip\tadded\ttenants/wingtip.yaml\n"


def test_a_renamed_tenant_gives_both_names_flagged(repo):
    base = repo.git("rev-parse", "HEAD")
    repo.git("mv", "tenants/northwind.yaml", "tenants/northwind-traders.yaml")
    repo.git("mv", "stacks/Pulumi.northwind.yaml", "stacks/Pulumi.northwind-traders.yaml")
    edit(repo, "tenants/northwind-traders.yaml", "name: northwind", "name: northwind-traders")
    repo.commit("northwind is northwind-traders")
    result = affected(repo, "--base", base)
    assert result.exit_code == 0
    assert result.stdout == (
        "northwind\tremoved\t" + rename_action("northwind", "northwind-traders") + "\n"
        "northwind-traders\trenamed\trenamed from northwind: stacks/Pulumi.northwind-traders.yaml, tenants/northwind-traders.yaml\n"
    )
    matrix = json.loads(affected(repo, "--base", base, "--format", "json").stdout)
    assert matrix == {"include": [
        {"tenant": "northwind", "stack": "northwind", "change": "removed",
         "reason": "stacks/Pulumi.northwind.yaml, tenants/northwind.yaml", "renamedTo": "northwind-traders",
         "action": rename_action("northwind", "northwind-traders")},
        {"tenant": "northwind-traders", "stack": "northwind-traders", "change": "renamed",
         "reason": "stacks/Pulumi.northwind-traders.yaml, tenants/northwind-traders.yaml", "renamedFrom": "northwind"},
    ]}


def test_a_deleted_tenant_is_removed_with_what_to_run(repo):
    base = repo.git("rev-parse", "HEAD")
    repo.git("rm", "-q", "tenants/fabrikam.yaml", "stacks/Pulumi.fabrikam.yaml")
    repo.commit("fabrikam left")
    result = affected(repo, "--base", base)
    assert result.stdout == f"fabrikam\tremoved\t{removal_action('fabrikam')}\n"
    assert "pulumi destroy --stack fabrikam" in result.stdout and "pulumi stack rm --force fabrikam" in result.stdout


def test_skip_removed_leaves_them_out_of_the_matrix_and_says_so(repo):
    base = repo.git("rev-parse", "HEAD")
    repo.git("rm", "-q", "tenants/fabrikam.yaml")
    edit(repo, "tenants/contoso.yaml", "bob@contoso.fr", "carol@contoso.fr")
    repo.commit("fabrikam left; carol")
    result = affected(repo, "--base", base, "--format", "json", "--skip-removed")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"include": [
        {"tenant": "contoso", "stack": "contoso", "change": "modified", "reason": "tenants/contoso.yaml"}]}
    assert result.stderr == f"sage365 affected: fabrikam: removed: {removal_action('fabrikam')}\n"


def test_a_merge_commit_against_its_first_parent(repo):
    repo.git("checkout", "-q", "-b", "feature")
    edit(repo, "tenants/northwind.yaml", "david@northwind-traders.fr", "erin@northwind-traders.fr")
    feature = repo.commit("northwind: erin")
    repo.git("checkout", "-q", "main")
    edit(repo, "tenants/fabrikam.yaml", "fabrikam.onmicrosoft.com", "fabrikam-fr.onmicrosoft.com")
    main_tip = repo.commit("fabrikam on main")
    repo.git("merge", "-q", "--no-ff", "-m", "merge feature", "feature")
    merge = repo.git("rev-parse", "HEAD")
    assert repo.git("rev-parse", f"{merge}^2") == feature

    # The push of the merge to main: what the merge brought in, not main's own change.
    result = affected(repo, "--base", main_tip, "--head", merge)
    assert (result.exit_code, result.stdout) == (0, "northwind\tmodified\ttenants/northwind.yaml\n")
    # The pull request: base moved on since the branch left it; only the branch's change counts.
    result = affected(repo, "--base", "main~1", "--head", "feature")
    assert result.stdout == "northwind\tmodified\ttenants/northwind.yaml\n"
    result = affected(repo, "--base", main_tip, "--head", "feature")
    assert result.stdout == "northwind\tmodified\ttenants/northwind.yaml\n"


def shallow_clone(repo: Repo, target, depth: int) -> Repo:
    subprocess.run(["git", "clone", "-q", "--depth", str(depth), f"file://{repo.path}", str(target)], check=True)
    return Repo(target)


def test_a_shallow_clone_without_the_base_is_a_clear_error(repo, tmp_path):
    base = repo.git("rev-parse", "HEAD")
    edit(repo, "tenants/contoso.yaml", "bob@contoso.fr", "carol@contoso.fr")
    repo.commit("carol")
    clone = shallow_clone(repo, tmp_path / "shallow", 1)
    result = affected(clone, "--base", base)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        f"sage365 affected: --base {base}: not in this shallow clone: fetch the history "
        "(actions/checkout with fetch-depth: 0, or git fetch --unshallow)\n"
    )
    result = affected(clone, "--base", "HEAD~1")
    assert result.exit_code == 2 and "not in this shallow clone" in result.stderr


def test_a_shallow_clone_deep_enough_works(repo, tmp_path):
    base = repo.git("rev-parse", "HEAD")
    edit(repo, "tenants/contoso.yaml", "bob@contoso.fr", "carol@contoso.fr")
    repo.commit("carol")
    clone = shallow_clone(repo, tmp_path / "shallow2", 2)
    result = affected(clone, "--base", base)
    assert (result.exit_code, result.stdout) == (0, "contoso\tmodified\ttenants/contoso.yaml\n")


def test_errors_name_the_problem(repo, tmp_path):
    result = affected(repo, "--base", "no-such-branch")
    assert (result.exit_code, result.stderr) == (2, "sage365 affected: --base no-such-branch: no such commit in this repository\n")
    result = affected(repo, "--base", "0" * 40)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"sage365 affected: --base {'0' * 40}: the null commit")
    plain = tmp_path / "plain"
    plain.mkdir()
    result = CliRunner().invoke(app, ["affected", "--repo", str(plain), "--base", "main"])
    assert result.exit_code == 2 and result.stderr.startswith("sage365 affected: fatal: not a git repository")


def test_unrelated_histories_are_an_error(repo):
    repo.git("checkout", "-q", "--orphan", "other")
    repo.write("README.md", "other\n")
    repo.commit("unrelated")
    result = affected(repo, "--base", "main", "--head", "other")
    assert (result.exit_code, result.stderr) == (2, "sage365 affected: main and other share no history\n")


def test_all_lists_the_fleet_at_head_and_files_names_the_tenant_files(repo):
    base = repo.git("rev-parse", "HEAD")
    (repo.path / "tenants/fabrikam.yaml").rename(repo.path / "tenants/fabrikam.yml")
    repo.commit("fabrikam.yml")
    uncommitted = repo.path / "tenants/draft.yaml"
    uncommitted.write_text("not committed: not part of head\n")
    result = affected(repo, "--all", "--format", "json")
    assert json.loads(result.stdout) == {"include": [
        {"tenant": name, "stack": name, "change": "fleet", "reason": ""} for name in ("contoso", "fabrikam", "northwind")]}
    assert affected(repo, "--all", "--format", "files").stdout == "tenants/contoso.yaml\ntenants/fabrikam.yml\ntenants/northwind.yaml\n"
    uncommitted.unlink()
    repo.git("rm", "-q", "tenants/northwind.yaml")
    repo.commit("northwind left")
    result = affected(repo, "--base", base, "--format", "files")
    assert (result.exit_code, result.stdout) == (0, "tenants/fabrikam.yml\n")


def test_base_or_all_but_not_both(repo):
    assert affected(repo).stderr == "sage365 affected: give either --base REF or --all\n"
    result = affected(repo, "--all", "--base", "HEAD")
    assert (result.exit_code, result.stderr) == (2, "sage365 affected: give either --base REF or --all\n")
