"""Usage errors through the CLI as a subprocess: exit 2, one clear line, nothing read."""

from __future__ import annotations

import asyncio

import pytest

from sage365.catalog import load_catalog
from sage365.declaration import load_tenant
from sage365.engine import read_tenant
from sage365.snapshot import Part
from tests.hostile.support import CONTOSO_FILE, ROOT, environment, sage365

pytestmark = pytest.mark.slow
EMPTY_FLAG = "sage365 drift: --graph-url is empty: give the sandbox's URL, or unset it to read the real Microsoft Graph\n"
EMPTY_ENV = ("sage365 drift: $SAGE365_GRAPH_URL is empty: give the sandbox's URL, or unset it to read the real "
             "Microsoft Graph\n")


@pytest.mark.parametrize("value", ["", "   ", "\t"])
def test_an_empty_graph_url_is_a_usage_error_never_production(value: str):
    # AZURE_CLIENT_ID and friends would let DefaultAzureCredential try real Entra ID: it must never get there.
    done = sage365("drift", CONTOSO_FILE, "--graph-url", value, env=environment(AZURE_CLIENT_ID="x"))
    assert (done.returncode, done.stdout, done.stderr) == (2, "", EMPTY_FLAG)


@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_graph_url_variable_is_a_usage_error_never_production(value: str):
    done = sage365("drift", CONTOSO_FILE, env=environment(SAGE365_GRAPH_URL=value))
    assert (done.returncode, done.stdout, done.stderr) == (2, "", EMPTY_ENV)


def test_the_engine_reads_nothing_when_the_variable_is_empty(monkeypatch):
    """The Pulumi gate calls the engine directly: an empty variable is every part's error there."""
    monkeypatch.setenv("SAGE365_GRAPH_URL", " ")
    tenant = load_tenant(ROOT / CONTOSO_FILE)
    snapshot = asyncio.run(read_tenant(tenant, load_catalog(ROOT / "catalog" / "catalog.yaml")))
    message = "$SAGE365_GRAPH_URL is empty: nothing is read rather than production Microsoft Graph"
    assert snapshot.errors == {part: message for part in Part}


@pytest.mark.parametrize(("value", "bound"), [("0", "greater than or equal to 1"), ("257", "less than or equal to 256")])
def test_concurrency_is_bounded(value: str, bound: str):
    done = sage365("drift", CONTOSO_FILE, "--graph-url", "http://127.0.0.1:9/v1.0", "--concurrency", value)
    assert done.returncode == 2
    assert f"Invalid value for '--concurrency': Input should be {bound}" in " ".join(
        line.strip("│ ") for line in done.stderr.splitlines())


NOT_A_URL = "not an http(s) URL: give https://HOST/v1.0, or the sandbox's http://127.0.0.1:PORT/v1.0"
CLEAR_HTTP = "only this machine (127.0.0.1, ::1, localhost) may be reached without https"


@pytest.mark.parametrize(("value", "problem"), [
    ("notaurl", NOT_A_URL),
    ("http://graph.microsoft.com/v1.0", f"plain http to graph.microsoft.com: {CLEAR_HTTP}"),
    ("https://graph.microsoft.com:99999/v1.0", "not a URL (Port out of range 0-65535)"),
    ("https://\x1b[31m/v1.0", "not a URL (Invalid IPv6 URL)"),
    ("https://graph\x1b.microsoft.com/v1.0", "'graph\\x1b.microsoft.com' is not a host name or IP address"),
])
def test_a_graph_url_that_is_not_one_is_a_usage_error(value: str, problem: str):
    shown = value.replace("\x1b", "\\x1b")
    done = sage365("drift", CONTOSO_FILE, "--graph-url", value, env=environment(AZURE_CLIENT_ID="x"))
    assert (done.returncode, done.stdout, done.stderr) == (2, "", f"sage365 drift: --graph-url '{shown}': {problem}\n")


def test_a_graph_url_variable_that_is_not_one_is_a_usage_error():
    done = sage365("drift", CONTOSO_FILE, env=environment(SAGE365_GRAPH_URL="notaurl"))
    assert (done.returncode, done.stdout, done.stderr) == (2, "", f"sage365 drift: $SAGE365_GRAPH_URL 'notaurl': {NOT_A_URL}\n")


def test_export_refuses_a_graph_url_before_reading_or_writing(tmp_path):
    done = sage365("export", "--tenant-id", "11111111-1111-1111-1111-111111111111", "--graph-url",
                   "http://10.0.0.1:8080/v1.0", "--output", str(tmp_path), "--snapshot", str(tmp_path / "s.yaml"))
    assert (done.returncode, done.stdout, done.stderr) == (
        2, "", f"sage365 export: --graph-url 'http://10.0.0.1:8080/v1.0': plain http to 10.0.0.1: {CLEAR_HTTP}\n")
    assert list(tmp_path.iterdir()) == []
