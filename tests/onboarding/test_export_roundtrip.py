"""export -> validate -> drift, against the sandbox, for the demo and Microsoft's documented examples.

Each exported tenant must validate, and drift on the same state must report exactly what
the declaration's comments name ("drift will report ..."): nothing else.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sage365.declaration import load_tenant
from sage365.sandbox.state import load_state
from sage365.stacks import stack_file_text
from tests.onboarding.conftest import CATALOG, drift, export_args, not_passing
from tests.sandbox_fixtures import CONTOSO, DEMO_STATE, DOCS_STATE, FABRIKAM, NORTHWIND

FIXTURES = Path(__file__).parent / "fixtures"
HAND_STATE = Path(__file__).resolve().parents[2] / "sandbox" / "hand-associated.yaml"
WOODGROVE = "44444444-4444-4444-8444-444444444444"
DOCS_TENANT = "84841066-274d-4ec0-a5c1-276be684bdd3"

DEMO_EXPECTED = {
    "contoso": set(),
    "fabrikam": {"admin.premium_licence", "tenant.free_premium_seat"},
    "northwind-traders": {"connector.status", "consent.delegated_scopes", "tenant.free_premium_seat", "tenant.subscription"},
}
DOCS_EXPECTED = {
    "contoso-docs-examples": {"admin.exists", "admin.global_admin", "admin.premium_licence", "tenant.free_premium_seat"},
}


def named_in_comments(text: str) -> set[str]:
    """The check ids a declaration's comments say drift will report."""
    named = set()
    for line in text.splitlines():
        if line.lstrip().startswith("#") and "drift will report " in line:
            named |= {c.strip() for c in line.split("drift will report ", 1)[1].split(",")}
    return named


@pytest.mark.parametrize(("state", "tenants", "expected"), [
    (DEMO_STATE, [CONTOSO, FABRIKAM, NORTHWIND], DEMO_EXPECTED),
    (DOCS_STATE, [DOCS_TENANT], DOCS_EXPECTED),
    (HAND_STATE, [WOODGROVE], {"woodgrove-conseil": set()}),
])
def test_export_validates_and_drift_reports_only_what_the_comments_name(
        state, tenants, expected, sandbox_server, cli, catalog, tmp_path):
    sandbox = sandbox_server(state)
    done = cli(*export_args(sandbox.base_url, tmp_path, "--tenant-ids", "-"), input="\n".join(tenants) + "\n")
    assert (done.exit_code, done.stderr) == (0, "")
    names = sorted(expected)
    assert sorted(p.stem for p in (tmp_path / "tenants").iterdir()) == names
    assert sorted(p.name for p in (tmp_path / "stacks").iterdir()) == [f"Pulumi.{n}.yaml" for n in names]

    valid = cli("validate", str(tmp_path / "tenants"), "--catalog", str(CATALOG))
    assert valid.exit_code == 0, valid.stderr
    assert valid.stdout.startswith(f"{len(names)} tenant file(s) valid")

    found = drift(tmp_path / "tenants", sandbox.base_url, catalog)
    for name in names:
        text = (tmp_path / "tenants" / f"{name}.yaml").read_text()
        assert not_passing(found[name]) == named_in_comments(text) == expected[name], name


def test_the_demo_declarations_are_exactly_the_golden_files(sandbox_server, cli, tmp_path):
    sandbox = sandbox_server(DEMO_STATE)
    done = cli(*export_args(sandbox.base_url, tmp_path, "--tenant-ids", "-"), input=f"{CONTOSO}\n{NORTHWIND}\n")
    assert done.exit_code == 0, done.stderr
    for name in ("contoso", "northwind-traders"):
        assert (tmp_path / "tenants" / f"{name}.yaml").read_text() == (FIXTURES / f"{name}.yaml").read_text()
    # The stack file is the one `sage365 stacks sync` writes for that tenant.
    exported = load_tenant(tmp_path / "tenants" / "contoso.yaml")
    assert (tmp_path / "stacks" / "Pulumi.contoso.yaml").read_text() == stack_file_text(exported)
    assert done.stdout.splitlines() == [
        f"contoso: wrote {tmp_path}/tenants/contoso.yaml, {tmp_path}/stacks/Pulumi.contoso.yaml",
        f"northwind-traders: wrote {tmp_path}/tenants/northwind-traders.yaml, "
        f"{tmp_path}/stacks/Pulumi.northwind-traders.yaml (comments name: connector.status, consent.delegated_scopes, "
        "tenant.free_premium_seat, tenant.subscription)",
    ]


def test_the_hand_associated_tenant_exports_as_its_hand_written_declaration(sandbox_server, cli, tmp_path):
    """tests/components/fixtures/woodgrove.yaml was written by hand for that state: export finds the same."""
    sandbox = sandbox_server(HAND_STATE)
    done = cli(*export_args(sandbox.base_url, tmp_path, "--tenant-id", WOODGROVE, "--name", "woodgrove"))
    assert done.exit_code == 0, done.stderr

    def spec(text: str) -> list[str]:
        lines = text.split("spec:\n", 1)[1].splitlines()
        return [line for line in lines if not line.lstrip().startswith("#")]

    exported = spec((tmp_path / "tenants" / "woodgrove.yaml").read_text())
    hand = spec((FIXTURES.parents[1] / "components" / "fixtures" / "woodgrove.yaml").read_text())
    assert exported == hand[:5] + ["  subscription:", "    skus: [SPB]"] + hand[5:]


def test_two_exports_are_byte_identical(sandbox_server, cli, tmp_path):
    sandbox = sandbox_server(DEMO_STATE)
    ids = f"{NORTHWIND}\n{CONTOSO}\n{FABRIKAM}\n"
    outputs = []
    for run in ("a", "b"):
        folder = tmp_path / run
        folder.mkdir()
        done = cli(*export_args(sandbox.base_url, folder, "--tenant-ids", "-", "--snapshot", str(folder / "s.yaml")),
                   input=ids)
        assert done.exit_code == 0, done.stderr
        redacted = cli(*export_args(sandbox.base_url, folder / "r", "--tenant-ids", "-", "--snapshot",
                                    str(folder / "r.json"), "--redact"), input=ids)
        assert redacted.exit_code == 0, redacted.stderr
        outputs.append({p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()})
    assert outputs[0] == outputs[1]
    assert len(outputs[0]) == 2 + 6 + 6  # two snapshots, twice three tenant and stack files
    # Both snapshot formats are valid sandbox states (load_state checks the JSON Schema).
    for snapshot in ("s.yaml", "r.json"):
        assert sorted(load_state(tmp_path / "a" / snapshot).tenants) == sorted([CONTOSO, FABRIKAM, NORTHWIND])


def test_an_existing_file_is_untouched_without_force(sandbox_server, cli, tmp_path):
    sandbox = sandbox_server(DEMO_STATE)
    (tmp_path / "tenants").mkdir()
    mine = tmp_path / "tenants" / "contoso.yaml"
    mine.write_text("# my own edits\n")
    done = cli(*export_args(sandbox.base_url, tmp_path, "--tenant-id", CONTOSO))
    assert done.exit_code == 2
    assert done.stderr.splitlines() == [
        f"sage365 export: {CONTOSO}: {mine}: already exists (use --force to replace it)",
        "sage365 export: 1 of 1 tenant(s) not exported",
    ]
    assert mine.read_text() == "# my own edits\n"
    assert not (tmp_path / "stacks").exists()  # nothing half-written either


def test_force_replaces_an_export_of_the_same_tenant_only(sandbox_server, cli, tmp_path):
    sandbox = sandbox_server(DEMO_STATE)
    first = cli(*export_args(sandbox.base_url, tmp_path, "--tenant-id", CONTOSO))
    assert first.exit_code == 0, first.stderr
    declaration = tmp_path / "tenants" / "contoso.yaml"
    expected = declaration.read_text()
    declaration.write_text(expected.replace("users:\n", "users:\n        - carole@contoso.fr\n"))
    again = cli(*export_args(sandbox.base_url, tmp_path, "--tenant-id", CONTOSO, "--force"))
    assert again.exit_code == 0, again.stderr
    assert declaration.read_text() == expected

    # A file of that name declaring another tenant is never replaced.
    other = cli(*export_args(sandbox.base_url, tmp_path, "--tenant-id", FABRIKAM, "--name", "contoso", "--force"))
    assert other.exit_code == 2
    assert f"{declaration}: declares another tenant; not replaced, even with --force" in other.stderr
    assert declaration.read_text() == expected
