"""`sage365 drift` in-process (typer's CliRunner) against the in-process Graph sandbox."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sage365.cli import app

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "fixtures" / "drift-demo-report.json"
TODAY = ["--today", "2026-11-28"]


@pytest.fixture
def run(monkeypatch):
    monkeypatch.chdir(ROOT)  # tenants/ and catalog/catalog.yaml are the defaults
    monkeypatch.delenv("SAGE365_GRAPH_URL", raising=False)

    def invoke(*args: str, env: dict[str, str] | None = None):
        return CliRunner().invoke(app, ["drift", *args], env=env)

    return invoke


def test_the_demo_json_report_is_exact_and_exits_1(run, demo_sandbox):
    result = run("--graph-url", demo_sandbox.base_url, "--format", "json", *TODAY)
    assert (result.exit_code, result.stderr) == (1, "")
    assert json.loads(result.stdout) == json.loads(GOLDEN.read_text())


def test_the_graph_url_comes_from_the_environment(run, demo_sandbox, tmp_path):
    out = tmp_path / "report.json"
    result = run("tenants/contoso.yaml", "--format", "json", "--output", str(out), *TODAY,
                 env={"SAGE365_GRAPH_URL": demo_sandbox.base_url})
    assert (result.exit_code, result.stdout) == (0, "")
    report = json.loads(out.read_text())
    assert [(t["name"], t["status"]) for t in report["tenants"]] == [("contoso", "compliant")]


def test_an_unreadable_tenant_exits_2(run, demo_sandbox, tmp_path):
    stranger = tmp_path / "stranger.yaml"
    stranger.write_text((ROOT / "tenants" / "fabrikam.yaml").read_text()
                        .replace("name: fabrikam", "name: stranger")
                        .replace("22222222-2222-4222-8222-222222222222", "44444444-4444-4444-8444-444444444444"))
    result = run(str(stranger), "tenants/contoso.yaml", "--graph-url", demo_sandbox.base_url, "--format", "json", *TODAY)
    assert result.exit_code == 2
    assert [(t["name"], t["status"]) for t in json.loads(result.stdout)["tenants"]] == [("stranger", "error"), ("contoso", "compliant")]


def test_a_bad_tenant_file_exits_2_and_reads_nothing(run, demo_sandbox, tmp_path):
    shutil.copy(ROOT / "tenants" / "contoso.yaml", tmp_path / "contoso.yaml")
    (tmp_path / "broken.yaml").write_text("apiVersion: sage365/v1\nkind: Tenant\nmetadata:\n  name: broken\nspec:\n  tenantId: nope\n")
    result = run(str(tmp_path), "--graph-url", demo_sandbox.base_url, *TODAY)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert str(tmp_path / "broken.yaml") + ":" in result.stderr
    assert result.stderr.endswith("problem(s) in the tenant files: nothing was read\n")
    assert demo_sandbox.stats.requests() == 0


def test_a_missing_path_exits_2(run):
    result = run("no/such/folder")
    assert (result.exit_code, result.stderr) == (2, "sage365 drift: no/such/folder: no such file or folder\n")


def test_french_messages(run, demo_sandbox):
    result = run("tenants/fabrikam.yaml", "--graph-url", demo_sandbox.base_url, "--format", "json", "--lang", "fr", *TODAY)
    report = json.loads(result.stdout)
    assert (result.exit_code, report["lang"]) == (1, "fr")
    english = json.loads(GOLDEN.read_text())["tenants"][1]["findings"]
    assert [f["check"] for f in report["tenants"][0]["findings"]] == [f["check"] for f in english]
    assert report["tenants"][0]["findings"][2]["message"] != english[2]["message"]


@pytest.mark.parametrize("fmt,start", [("table", "contoso"), ("markdown", "#"), ("junit", "<?xml"), ("html", "<!DOCTYPE html>")])
def test_every_format_renders(run, demo_sandbox, fmt, start):
    result = run("--graph-url", demo_sandbox.base_url, "--format", fmt, *TODAY)
    assert result.exit_code == 1
    assert result.stdout.lstrip().startswith(start)


def test_help_does_not_import_msgraph_or_azure_identity():
    code = "import sys; from sage365.cli import app; import sage365.cli.drift; " \
           "print(sorted(m for m in ('msgraph', 'azure.identity', 'kiota_http') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout == "[]\n"
