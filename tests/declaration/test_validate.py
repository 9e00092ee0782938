"""`sage365 validate`: every rule, with the exact error line it prints."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sage365.cli import app

FIXTURES = Path(__file__).parent / "fixtures"
INVALID = FIXTURES / "invalid"
TODAY = "2026-11-28"

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, ["validate", "--today", TODAY, *args])


# file -> the exact line printed on stderr (path relative to the repository root).
CASES = {
    "a-list": "1:1: (document): expected a mapping, got a list",
    "addin-without-consent": "13:7: spec.addins[0].app: the add-in needs consent: add 'sage-contact' to spec.consents",
    "alias-bomb": "5:11: YAML anchors and aliases are not allowed",
    "bad-date": "14:7: spec.waivers[0].expires: '2026-02-30' is not a valid date (YYYY-MM-DD)",
    "bad-guid": "7:3: spec.tenantId: '4444-not-a-guid' is not a valid GUID",
    "bad-upn": "14:15: spec.addins[0].users[0]: 'alice.example.fr' is not a valid user principal name",
    "broken-syntax": "4:1: did not find expected ',' or '}'",
    "duplicate-key": "8:3: duplicate key 'tenantId' (first at line 6)",
    "empty": "1:1: empty file",
    "expired-waiver": "14:7: spec.waivers[0].expires: waiver for 'tenant.subscription' expired on 2026-01-31: renew it with a new reason or remove it",
    "file-name": "4:3: metadata.name: 'renamed' must equal the file name 'file-name'",
    "foreign-domain": "16:40: spec.addins[0].users[1]: domain of 'bob@elsewhere.fr' is not one of the tenant's domains (foreign-domain.onmicrosoft.com, foreign-domain.fr)",
    "latin1": "11:17: not UTF-8: byte 0xe9",
    "missing-admin": "5:1: spec.administrator: required field is missing",
    "not-a-bool": "12:7: spec.administrator.licence.assignFreeSeat: expected true or false, got text 'maybe'",
    "tabs": "4:1: tab character: indent with spaces",
    "two-documents": "11:1: more than one YAML document: one tenant per file",
    "unknown-app": "11:36: spec.consents[1]: unknown catalogue key 'sage-payroll' (known: sage-business-center, sage-connector, sage-contact)",
    "unknown-check": "12:7: spec.waivers[0].check: 'admin.mfa' is not one of admin.exists, admin.global_admin, admin.premium_licence, tenant.subscription, tenant.free_premium_seat, consent.service_principal, consent.delegated_scopes, consent.app_roles, addin.group, addin.members, addin.deployment, connector.status",
    "unknown-field": "11:3: spec.adminstrator: unknown field 'adminstrator' (did you mean 'administrator'?)",
    "wrong-kind": "2:1: kind: 'Tennant' must be 'Tenant'",
}


def test_every_invalid_fixture_has_a_case():
    assert sorted(p.stem for p in INVALID.glob("*.yaml")) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_invalid_file_prints_exact_error(name):
    path = f"tests/declaration/fixtures/invalid/{name}.yaml"
    result = run(path)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [f"{path}:{CASES[name]}", "1 error(s) in 1 file(s)"]
    assert result.stdout == ""


def test_examples_are_valid():
    result = run()
    assert (result.exit_code, result.stdout, result.stderr) == (0, "3 tenant file(s) valid\n", "")


def test_all_problems_of_all_files_are_reported_in_order():
    result = run(f"{INVALID}/bad-guid.yaml", f"{INVALID}/file-name.yaml", "tenants/contoso.yaml")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{INVALID}/bad-guid.yaml:7:3: spec.tenantId: '4444-not-a-guid' is not a valid GUID",
        f"{INVALID}/file-name.yaml:4:3: metadata.name: 'renamed' must equal the file name 'file-name'",
        "2 error(s) in 3 file(s)",
    ]


def test_example_app_id_on_production_tenant_warns_and_passes():
    path = "tests/declaration/fixtures/valid/production-example.yaml"
    result = run(path)
    assert result.exit_code == 0
    assert result.stderr.splitlines() == [
        f"{path}:11:14: warning: spec.consents[0]: 'sage-business-center' has an EXAMPLE appId "
        "(00000000-5a6e-4000-8000-000000000001) in the catalogue: fill in Sage's real id before using it on a production tenant",
    ]
    assert result.stdout == "1 tenant file(s) valid, 1 warning(s)\n"


def test_duplicate_tenant_id_and_name_across_files(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    shutil.copy("tenants/contoso.yaml", tmp_path / "a" / "contoso.yaml")
    shutil.copy("tenants/contoso.yaml", tmp_path / "b" / "contoso.yaml")
    twin = Path("tenants/fabrikam.yaml").read_text().replace("22222222-2222-4222-8222-222222222222", "11111111-1111-4111-8111-111111111111")
    (tmp_path / "a" / "fabrikam.yaml").write_text(twin)
    result = run(str(tmp_path / "a"), str(tmp_path / "b"))
    a, b = tmp_path / "a", tmp_path / "b"
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{a}/fabrikam.yaml:9:3: spec.tenantId: 11111111-1111-4111-8111-111111111111 is also declared in {a}/contoso.yaml ('contoso')",
        f"{b}/contoso.yaml:6:3: metadata.name: 'contoso' is also declared in {a}/contoso.yaml",
        f"{b}/contoso.yaml:11:3: spec.tenantId: 11111111-1111-4111-8111-111111111111 is also declared in {a}/contoso.yaml ('contoso')",
        "3 error(s) in 3 file(s)",
    ]


def test_stack_file_pinned_to_another_tenant(tmp_path):
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    (stacks / "Pulumi.fabrikam.yaml").write_text("config:\n  azuread:tenantId: 11111111-1111-4111-8111-111111111111\n")
    result = run("tenants/fabrikam.yaml", "--stacks", str(stacks))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{stacks}/Pulumi.fabrikam.yaml:2:3: config.azuread:tenantId: '11111111-1111-4111-8111-111111111111' "
        "differs from spec.tenantId 22222222-2222-4222-8222-222222222222 in tenants/fabrikam.yaml",
        "1 error(s) in 1 file(s)",
    ]


def test_missing_stack_file_warns(tmp_path):
    result = run("tenants/fabrikam.yaml", "--stacks", str(tmp_path))
    assert result.exit_code == 0
    assert result.stderr.splitlines() == [
        f"tenants/fabrikam.yaml:6:3: warning: metadata.name: no Pulumi stack file {tmp_path}/Pulumi.fabrikam.yaml for this tenant"
    ]


def test_file_over_one_mebibyte_is_refused(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_text("apiVersion: sage365/v1\n" + "#" * (1024 * 1024) + "\n")
    result = run(str(big))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == f"{big}:1:1: file is 1048600 bytes, over the 1 MiB limit"


def test_billion_laughs_is_refused_before_expansion(tmp_path):
    lines = ['a0: &a0 ["lol"]'] + [f"a{i}: &a{i} [" + ", ".join([f"*a{i-1}"] * 10) + "]" for i in range(1, 30)]
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join(lines) + "\n")
    result = run(str(bomb))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == f"{bomb}:1:5: YAML anchors and aliases are not allowed"


@pytest.mark.parametrize(
    "args, message",
    [
        (["nowhere/"], "sage365 validate: nowhere: no such file or folder"),
        (["--catalog", "nowhere.yaml"], "nowhere.yaml:1:1: cannot read file: No such file or directory"),
    ],
)
def test_missing_paths(args, message):
    result = run(*args)
    assert result.stderr.splitlines()[0] == message
    assert result.exit_code == (2 if args[0] == "nowhere/" else 1)


def test_bad_today_is_a_usage_error():
    result = runner.invoke(app, ["validate", "--today", "tomorrow"])
    assert result.exit_code == 2
    assert "'tomorrow' is not a date (YYYY-MM-DD)" in result.stderr


def test_empty_folder_is_a_usage_error(tmp_path):
    result = run(str(tmp_path))
    assert (result.exit_code, result.stderr) == (2, f"sage365 validate: no tenant files (*.yaml) in {tmp_path}\n")


def test_console_script_never_prints_a_traceback():
    """The installed command, as a partner runs it, on every invalid fixture at once."""
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "sage365"), "validate", "--today", TODAY, str(INVALID)],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    for name, tail in CASES.items():
        assert f"{INVALID}/{name}.yaml:{tail}" in lines
    # Those fixtures share tenantId 4444...: cross-file duplicates are reported too.
    assert lines[-1] == "25 error(s) in 21 file(s)"


def test_check_jsonschema_accepts_the_examples():
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "check-jsonschema"), "--schemafile", "schemas/tenant.schema.json",
         "tenants/contoso.yaml", "tenants/fabrikam.yaml", "tenants/northwind.yaml"],
        capture_output=True, text=True, check=False,
    )
    assert (proc.returncode, proc.stdout.strip()) == (0, "ok -- validation done")


def test_every_example_starts_with_the_schema_line():
    for path in [*Path("tenants").glob("*.yaml"), Path("catalog/catalog.yaml")]:
        first = path.read_text().splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema=../schemas/"), path
