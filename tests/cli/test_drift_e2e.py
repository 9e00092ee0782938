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
PREMIUM_FAIL = 'admin@fabrikam.onmicrosoft.com has no active Entra ID P1/P2 plan (Sage: "no active Azure AD Premium licence")'
SKUS_DENIED = ("Could not read subscribedSkus: cannot read the subscribed SKUs: 403 Authorization_RequestDenied: "
               "Insufficient privileges to complete the operation.")


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
    # Two Graph v1.0 round trips per tenant: GET /organization, then one $batch; beside them,
    # only where declared, one Exchange call (add-ins) and one Graph beta read (connector).
    with urllib.request.urlopen(sandbox_process.removesuffix("/v1.0") + "/_sandbox/stats") as response:
        stats = json.load(response)
    graph = {"GET /organization": 1, "POST /$batch": 1}
    extras = {"POST /adminapi/beta/{tenantId}/InvokeCommand": 1,
              "GET /beta/onPremisesPublishingProfiles/applicationProxy/connectors": 1}
    assert stats["requests"]["byTenantEndpoint"] == {
        "11111111-1111-4111-8111-111111111111": {**graph, **extras},
        # fabrikam: its connector read is refused (403), then the fallback sign-in read.
        "22222222-2222-4222-8222-222222222222": {**graph, "GET /beta/onPremisesPublishingProfiles/applicationProxy/connectors": 1,
                                                 "GET /beta/reports/servicePrincipalSignInActivities": 1},
        "33333333-3333-4333-8333-333333333333": {**graph, **extras},
    }


@pytest.mark.slow
def test_a_part_denied_inside_the_batch_is_an_error_and_exit_2(sandbox_process):
    """A 403 on one batch item (subscribedSkus) makes its checks `error`, never pass; others still judged."""
    control = sandbox_process.removesuffix("/v1.0") + "/_sandbox/faults"
    faults = json.dumps({"deny": {"22222222-2222-4222-8222-222222222222": ["GET /subscribedSkus"]}}).encode()
    request = urllib.request.Request(control, data=faults, method="PUT", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        assert response.status == 200
    env = {k: v for k, v in os.environ.items() if k != "SAGE365_GRAPH_URL"}
    done = subprocess.run([*SAGE365, "drift", "tenants/fabrikam.yaml", "--graph-url", sandbox_process,
                           "--format", "json", "--today", "2026-11-28"],
                          cwd=ROOT, capture_output=True, text=True, env=env, timeout=120)
    assert (done.returncode, done.stderr) == (2, "")
    [tenant] = json.loads(done.stdout)["tenants"]
    assert tenant["status"] == "error"
    assert [(f["check"], f["status"], f["message"]) for f in tenant["findings"]] == [
        ("admin.exists", "pass", "Administrator admin@fabrikam.onmicrosoft.com exists and is enabled"),
        ("admin.global_admin", "pass", "admin@fabrikam.onmicrosoft.com holds the Global Administrator role"),
        ("admin.premium_licence", "fail", PREMIUM_FAIL),
        ("tenant.subscription", "error", SKUS_DENIED),
        ("tenant.free_premium_seat", "error", SKUS_DENIED),
        ("consent.service_principal", "pass", "Sage Business Center has an enabled service principal"),
        ("consent.delegated_scopes", "pass", "Sage Business Center's delegated scopes on Microsoft Graph match the catalogue"),
        ("consent.app_roles", "pass", "Sage Business Center's application permissions on Microsoft Graph match the catalogue"),
        ("connector.status", "fail", "Could not read the connectors (Graph beta /onPremisesPublishingProfiles/"
         "applicationProxy/connectors: 403 Authorization_RequestDenied: Insufficient privileges to complete the "
         "operation.); fallback signal: the connector app has no sign-in recorded"),
    ]


@pytest.mark.slow
def test_drift_imports_none_of_msgraphs_model_packages(sandbox_process):
    """The reader decodes Graph's JSON itself (sage365.graph.shapes): msgraph's models stay unimported."""
    probe = ("import atexit, sys\n"
             "atexit.register(lambda: print('models:', sorted(m for m in sys.modules if m.startswith('msgraph.generated.models')),"
             " 'msgraph:', 'msgraph' in sys.modules, file=sys.stderr))\n"
             "from sage365.cli import main\n"
             "main()\n")
    env = {k: v for k, v in os.environ.items() if k != "SAGE365_GRAPH_URL"}
    done = subprocess.run([sys.executable, "-c", probe, "drift", "tenants/contoso.yaml", "--graph-url", sandbox_process,
                           "--format", "json", "--today", "2026-11-28"],
                          cwd=ROOT, capture_output=True, text=True, env=env, timeout=120)
    assert (done.returncode, done.stderr) == (0, "models: [] msgraph: True\n")
