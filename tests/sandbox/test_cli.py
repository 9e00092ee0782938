"""`sage365 sandbox serve` as a subprocess: URL first, SIGTERM/SIGINT exit 0, --save."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from sage365.sandbox import load_state
from tests.sandbox_fixtures import CONTOSO, DEMO_STATE

pytestmark = pytest.mark.slow


def start(*args: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", "from sage365.cli import main; main()", "sandbox", "serve", "--state", str(DEMO_STATE), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    return proc, proc.stdout.readline().strip()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_prints_its_url_first_and_stops_cleanly(sig, tmp_path: Path):
    saved = tmp_path / "after.yaml"
    proc, url = start("--port", "0", "--fault-429-tenant", "22222222-2222-4222-8222-222222222222", "--save", str(saved))
    try:
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1.0")
        headers = {"Authorization": f"Bearer sandbox.{CONTOSO}", "Content-Type": "application/json"}
        assert httpx.get(url + "/organization", headers=headers).json()["value"][0]["displayName"] == "Contoso"
        grant = "Q29udG9zby1zYmMtZ3JhcGgtZGVsZWdhdGVk"
        assert httpx.patch(f"{url}/oauth2PermissionGrants/{grant}", headers=headers, json={"scope": "openid"}).status_code == 204
        fabrikam = httpx.get(url + "/organization", headers={"Authorization": "Bearer sandbox.22222222-2222-4222-8222-222222222222"})
        assert fabrikam.status_code == 429
        assert httpx.get(url.removesuffix("/v1.0") + "/_sandbox/stats").json()["requests"]["total"] == 3
    finally:
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert out == ""  # the URL was the only line
    assert load_state(saved).tenants[CONTOSO].oauth2PermissionGrants[grant]["scope"] == "openid"


def test_an_invalid_state_file_exits_2(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("tenants:\n  not-a-guid: {}\n")
    proc = subprocess.run([sys.executable, "-c", "from sage365.cli import main; main()", "sandbox", "serve", "--state", str(bad)],
                          capture_output=True, text=True, timeout=30)
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == f"{bad}:2:3: tenants.not-a-guid: 'not-a-guid' is not a tenant id (a GUID)\n"


def test_help_does_not_import_msgraph():
    code = "import sys; from sage365.cli import app; import sage365.cli.sandbox; print('msgraph' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30).stdout.strip() == "False"


def test_save_into_a_missing_folder_is_refused_before_serving(tmp_path: Path):
    target = tmp_path / "missing" / "state.yaml"
    proc = subprocess.run([sys.executable, "-c", "from sage365.cli import main; main()", "sandbox", "serve",
                           "--state", str(DEMO_STATE), "--save", str(target)],
                          capture_output=True, text=True, timeout=30)
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == f"error: --save {target}: folder {target.parent} does not exist or is not writable\n"
