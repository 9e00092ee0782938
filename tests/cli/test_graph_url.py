"""--graph-url / $SAGE365_GRAPH_URL: what is a usable Microsoft Graph base URL (pure part)."""

from __future__ import annotations

import pytest

from sage365.cli.options import graph_url_problem

HINT = "give https://HOST/v1.0, or the sandbox's http://127.0.0.1:PORT/v1.0"


@pytest.mark.parametrize("value", [
    "https://graph.microsoft.com/v1.0", "https://graph.microsoft.us/v1.0", "https://proxy.example:8443/graph/v1.0",
    "http://127.0.0.1:8080/v1.0", "http://127.5.0.1/v1.0", "http://[::1]:9/v1.0", "http://localhost:1/v1.0",
    "HTTP://LOCALHOST:1/v1.0", "https://xn--bcher-kva.example/v1.0", "https://graph.microsoft.com./v1.0",
])
def test_accepted(value):
    assert graph_url_problem(value) is None


@pytest.mark.parametrize(("value", "problem"), [
    ("notaurl", f"not an http(s) URL: {HINT}"),
    ("graph.microsoft.com/v1.0", f"not an http(s) URL: {HINT}"),
    ("ftp://graph.microsoft.com/v1.0", f"not an http(s) URL: {HINT}"),
    ("file:///etc/passwd", f"not an http(s) URL: {HINT}"),
    ("https://", f"no host: {HINT}"),
    ("https:///v1.0", f"no host: {HINT}"),
    ("https://graph.microsoft.com:99999/v1.0", "not a URL (Port out of range 0-65535)"),
    ("https://graph.microsoft.com:abc/v1.0", "not a URL (Port could not be cast to integer value as 'abc')"),
    ("http://[::1/v1.0", "not a URL (Invalid IPv6 URL)"),
    ("https://user:pw@graph.microsoft.com/v1.0", "a user or password in the URL: tokens are the only credentials sent"),
    ("http://127.0.0.1:0/v1.0", "port 0 cannot be connected to"),
    ("https://graph.microsoft.com/v1.0?x=1", "a query or fragment: give the base URL only, e.g. https://graph.microsoft.com/v1.0"),
    ("http://graph.microsoft.com/v1.0",
     "plain http to graph.microsoft.com: only this machine (127.0.0.1, ::1, localhost) may be reached without https"),
    ("http://10.0.0.1:8080/v1.0",
     "plain http to 10.0.0.1: only this machine (127.0.0.1, ::1, localhost) may be reached without https"),
    ("https://graph_microsoft.com/v1.0", "'graph_microsoft.com' is not a host name or IP address"),
    ("https://graph microsoft.com/v1.0", "'graph microsoft.com' is not a host name or IP address"),
    ("http://0.0.0.0:8080/v1.0",
     "plain http to 0.0.0.0: only this machine (127.0.0.1, ::1, localhost) may be reached without https"),
])
def test_refused(value, problem):
    assert graph_url_problem(value) == problem
