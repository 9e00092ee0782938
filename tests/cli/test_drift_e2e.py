"""End to end: `sage365 drift` as a subprocess against `sage365 sandbox serve` as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "fixtures" / "drift-demo-report.json"
SAGE365 = [sys.executable, "-c", "from sage365.cli import main; main()"]


@pytest.fixture
def sandbox_process():
    """`sage365 sandbox serve --state sandbox/demo.yaml --port 0`: its base URL is its first stdout line."""
    process = subprocess.Popen([*SAGE365, "sandbox", "serve", "--state", "sandbox/demo.yaml", "--port", "0"],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1.0"), url
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.slow
def test_drift_against_a_sandbox_process_reports_the_demo_exactly(sandbox_process):
    env = {k: v for k, v in os.environ.items() if k != "SAGE365_GRAPH_URL"}
    done = subprocess.run([*SAGE365, "drift", "tenants/", "--graph-url", sandbox_process, "--format", "json", "--today", "2026-11-28"],
                          cwd=ROOT, capture_output=True, text=True, env=env, timeout=120)
    assert (done.returncode, done.stderr) == (1, "")
    assert json.loads(done.stdout) == json.loads(GOLDEN.read_text())
    # Two HTTP round trips per tenant: GET /organization, then one $batch.
    with urllib.request.urlopen(sandbox_process.removesuffix("/v1.0") + "/_sandbox/stats") as response:
        stats = json.load(response)
    assert stats["requests"]["byTenantEndpoint"] == {
        tenant: {"GET /organization": 1, "POST /$batch": 1}
        for tenant in ("11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222",
                       "33333333-3333-4333-8333-333333333333")
    }
