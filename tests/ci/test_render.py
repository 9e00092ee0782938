"""`sage365 ci render`: a saved JSON report renders exactly as drift renders live."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sage365.cli import app

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def saved(demo_sandbox, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    out = tmp_path / "drift.json"
    result = CliRunner().invoke(app, ["drift", "--graph-url", demo_sandbox.base_url, "--format", "json",
                                      "--output", str(out), "--today", "2026-11-28"])
    assert result.exit_code == 1
    return out


@pytest.mark.parametrize("fmt", ["json", "markdown", "junit", "html"])
def test_render_equals_the_live_report(saved, demo_sandbox, fmt, tmp_path):
    live = CliRunner().invoke(app, ["drift", "--graph-url", demo_sandbox.base_url, "--format", fmt, "--today", "2026-11-28"])
    rendered = CliRunner().invoke(app, ["ci", "render", "--report", str(saved), "--format", fmt])
    assert (rendered.exit_code, rendered.stderr) == (1, "")
    assert rendered.stdout == live.stdout
    target = tmp_path / f"report.{fmt}"
    written = CliRunner().invoke(app, ["ci", "render", "--report", str(saved), "--format", fmt, "--output", str(target)])
    assert (written.exit_code, written.stdout) == (1, "")
    assert target.read_text().rstrip("\n") == live.stdout.rstrip("\n")  # stdout always ends with a newline


def test_a_report_that_is_not_one_is_refused(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"kind": "DriftReport"}))
    result = CliRunner().invoke(app, ["ci", "render", "--report", str(bad)])
    assert result.exit_code == 2
    assert result.stderr == (f"sage365 ci render: {bad}: not a sage365 drift report (schemas/drift-report.schema.json): "
                             "(root): 'apiVersion' is a required property\n")
    missing = CliRunner().invoke(app, ["ci", "render", "--report", str(tmp_path / "none.json")])
    assert (missing.exit_code, missing.stderr) == (2, f"sage365 ci render: {tmp_path / 'none.json'}: No such file or directory\n")
