"""Usage errors are one line and exit 2 before any tenant is read; YAML scalars and comments hold any text as data."""

from __future__ import annotations

from pathlib import Path

import yaml
from hypothesis import given
from hypothesis import strategies as st

from sage365.onboarding.yamltext import comment, scalar
from tests.onboarding.conftest import CATALOG, export_args
from tests.sandbox_fixtures import CONTOSO, FABRIKAM, NORTHWIND


def test_usage_errors_name_the_problem_and_read_nothing(cli, demo_sandbox, tmp_path):
    listing = tmp_path / "ids.txt"
    listing.write_text(f"# customers\n{CONTOSO} contoso\n\nnot-a-guid\n")
    cases = [
        ((), "sage365 export: give exactly one of --tenant-id ID or --tenant-ids FILE"),
        (("--tenant-id", "nope"), "sage365 export: --tenant-id 'nope' is not a tenant id (a GUID)"),
        (("--tenant-id", CONTOSO, "--name", "Bad_Name"),
         "sage365 export: --name 'Bad_Name': lower-case letters, digits and dashes, at most 63"),
        (("--tenant-ids", str(listing)), f"{listing}:4:1: 'not-a-guid' is not a tenant id (a GUID); expected "
         f"'TENANT_ID [NAME]'\nsage365 export: {listing}: 1 problem(s): nothing was read"),
        (("--tenant-id", CONTOSO, "--redact"), "sage365 export: --redact applies to --snapshot FILE: give both"),
        (("--tenant-id", CONTOSO, "--snapshot", str(tmp_path)), f"sage365 export: --snapshot {tmp_path}: is a folder; give a file name"),
        (("--tenant-ids", str(tmp_path / "missing.txt")),
         f"sage365 export: {tmp_path / 'missing.txt'}: cannot read: No such file or directory"),
    ]
    for args, message in cases:
        done = cli(*export_args(demo_sandbox.base_url, tmp_path / "out", *args))
        assert (done.exit_code, done.stderr.strip()) == (2, message), args
    assert not (tmp_path / "out").exists()
    assert demo_sandbox.stats.requests() == 0


def test_a_tenant_listed_twice_is_a_usage_error(cli, demo_sandbox, tmp_path):
    done = cli(*export_args(demo_sandbox.base_url, tmp_path, "--tenant-ids", "-"), input=f"{CONTOSO}\n{CONTOSO.upper()} x\n")
    assert (done.exit_code, done.stderr.splitlines()) == (2, [
        f"<stdin>:2:1: tenant {CONTOSO} is already listed on line 1",
        "sage365 export: <stdin>: 1 problem(s): nothing was read"])


def test_every_bad_line_of_a_list_is_reported_with_its_column(cli, demo_sandbox, tmp_path):
    listing = tmp_path / "ids.txt"
    listing.write_text("# customers\n"
                       f"{CONTOSO} contoso\n"
                       "  not-a-guid  # typo\n"
                       f"\t{FABRIKAM}   Bad_Name\n"
                       f"{NORTHWIND} northwind extra\n"
                       f"{CONTOSO.upper()}\n"
                       f"{NORTHWIND} ok # fine\n")
    done = cli(*export_args(demo_sandbox.base_url, tmp_path / "out", "--tenant-ids", str(listing)))
    assert (done.exit_code, done.stdout) == (2, "")
    assert done.stderr.splitlines() == [
        f"{listing}:3:3: 'not-a-guid' is not a tenant id (a GUID); expected 'TENANT_ID [NAME]'",
        f"{listing}:4:41: 'Bad_Name' is not a name (lower-case letters, digits and dashes, at most 63)",
        f"{listing}:5:48: unexpected 'extra' after the name; expected 'TENANT_ID [NAME]'",
        f"{listing}:6:1: tenant {CONTOSO} is already listed on line 2",
        f"sage365 export: {listing}: 4 problem(s): nothing was read",
    ]
    assert not (tmp_path / "out").exists()
    assert demo_sandbox.stats.requests() == 0

    listing.write_bytes(f"{CONTOSO}\n{FABRIKAM} caf\xe9\n".encode("latin-1"))
    done = cli(*export_args(demo_sandbox.base_url, tmp_path / "out", "--tenant-ids", str(listing)))
    assert (done.exit_code, done.stderr.splitlines()) == (2, [
        f"{listing}:2:41: not UTF-8 text (byte 0xe9)", f"sage365 export: {listing}: 1 problem: nothing was read"])
    empty = cli(*export_args(demo_sandbox.base_url, tmp_path / "out", "--tenant-ids", "-"), input="# none yet\n\n")
    assert (empty.exit_code, empty.stderr.splitlines()) == (2, [
        "<stdin>:1:1: no tenant ids; expected 'TENANT_ID [NAME]' lines",
        "sage365 export: <stdin>: 1 problem(s): nothing was read"])
    assert demo_sandbox.stats.requests() == 0


def test_a_blank_graph_url_is_never_production(cli, tmp_path):
    done = cli("export", "--graph-url", " ", "--catalog", str(CATALOG), "--tenant-id", CONTOSO, "--output", str(tmp_path))
    assert done.exit_code == 2
    assert done.stderr.startswith("sage365 export: --graph-url is empty")


@given(st.text())
def test_any_text_is_one_scalar_that_reads_back_as_itself(text):
    assert yaml.safe_load(f"key: {scalar(text)}\n") == {"key": text}


@given(st.text())
def test_any_text_in_a_comment_stays_one_comment_line(text):
    line = comment(f"group {scalar(text)}", 2)
    assert "\n" not in line and "\r" not in line
    assert yaml.safe_load(f"a: 1\n{line}\nb: 2\n") == {"a": 1, "b": 2}


def test_validation_runs_once_for_the_fleet_and_blames_only_the_invalid_declaration(catalog):
    from sage365.onboarding.declare import Declared
    from sage365.onboarding.export import checked_all

    good = (Path(__file__).parent / "fixtures" / "contoso.yaml").read_text()
    bad = (good.replace("contoso", "other").replace("admin@other.onmicrosoft.com", "admin@elsewhere.example")
           .replace("11111111-1111-4111-8111-111111111111", "99999999-1111-4111-8111-111111111111"))
    verdicts = checked_all([Declared("contoso", good, frozenset()), Declared("other", bad, frozenset())], catalog)
    assert verdicts["contoso"][1] is None
    assert verdicts["contoso"][0].startswith("# Pulumi stack for tenant 'contoso'")
    assert verdicts["other"] == ("", "the exported declaration does not validate (a sage365 bug, please report it): "
                                 "spec.administrator.userPrincipalName: domain of 'admin@elsewhere.example' is not one "
                                 "of the tenant's domains (other.onmicrosoft.com, other.fr)")


def test_a_tenant_past_its_deadline_fails_alone_and_writes_nothing(sandbox_server, cli, tmp_path):
    from sage365.sandbox import Faults

    slow = sandbox_server(faults=Faults(latency_ms=3000))
    done = cli(*export_args(slow.base_url, tmp_path, "--tenant-id", CONTOSO, "--tenant-timeout", "0.5"))
    assert done.exit_code == 2
    assert done.stderr.splitlines() == [
        f"sage365 export: {CONTOSO}: no complete answer from Microsoft Graph within the tenant deadline of 0.5 s "
        "(--tenant-timeout); nothing was written",
        "sage365 export: 1 of 1 tenant(s) not exported",
    ]
    assert not (tmp_path / "tenants").exists()
