"""Malformed HTTP, sandbox bugs and shutdown: never a crash, never a traceback to a client."""

from __future__ import annotations

import gc
import json
import logging
import socket
import sys
import threading
import time

import httpx
import pytest

from sage365.sandbox import SandboxServer
from tests.sandbox.support import raw
from tests.sandbox_fixtures import CONTOSO, sandbox_state

AUTH = f"Authorization: Bearer sandbox.{CONTOSO}\r\n".encode()
POST = b"POST /v1.0/groups HTTP/1.1\r\n" + AUTH


def exchange(server: SandboxServer, data: bytes) -> bytes:
    """Send raw bytes and end the stream (a truncated request stays truncated), read until the server closes."""
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        out = b""
        while chunk := sock.recv(65536):
            out += chunk
    return out


def parse(answer: bytes) -> tuple[int, dict[str, str], dict]:
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split(" ")[1]), headers, json.loads(body)


@pytest.mark.parametrize(("request_bytes", "status", "message"), [
    (b"HELLO\r\n\r\n", 400, "Bad request line: expected 'METHOD TARGET HTTP/1.1'."),
    (b"GET /v1.0/users HTTP/1.1 extra\r\n\r\n", 400, "Bad request line: expected 'METHOD TARGET HTTP/1.1'."),
    (b"GET /v1.0/users SPDY/3\r\n\r\n", 400, "Bad request line: expected 'METHOD TARGET HTTP/1.1'."),
    (b"GET /v1.0/users HTTP/1.1\r\nno colon here\r\n\r\n", 400, "Bad header line."),
    (b"GET /v1.0/users HTTP/1.1\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n", 400, "Request headers too long: the limit is 65536 bytes."),
    (POST + b"Content-Length: abc\r\n\r\n", 400, "Invalid Content-Length 'abc'."),
    (POST + b"Content-Length: -5\r\n\r\n", 400, "Invalid Content-Length '-5'."),
    (POST + b"Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400, "Conflicting Content-Length headers."),
    (POST + b"Content-Length: 99999999999\r\n\r\n", 413, "The request body is larger than 4194304 bytes."),
    (POST + b"Content-Length: 10\r\n\r\nabc", 400, "The request ended before its body did."),
    (POST + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n", 400, "Bad chunked encoding: invalid chunk size."),
    (POST + b"Transfer-Encoding: chunked\r\n\r\n2\r\nabcdef\r\n0\r\n\r\n", 400, "Bad chunked encoding: a chunk is longer than its size."),
    (POST + b"Transfer-Encoding: chunked\r\n\r\nFFFFFFFF\r\n", 413, "The request body is larger than 4194304 bytes."),
    (POST + b"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n", 400, "Both Transfer-Encoding and Content-Length were sent."),
    (POST + b"Transfer-Encoding: gzip\r\n\r\n", 400, "Unsupported Transfer-Encoding 'gzip'."),
    (b"GET /v1.0/users HTTP/1.1\r\nHost: x", 400, "The request ended before its headers did."),
])
def test_malformed_http_is_a_graph_shaped_error_then_close(demo_sandbox, request_bytes, status, message):
    answer = exchange(demo_sandbox, request_bytes)
    code, headers, body = parse(answer)
    assert (code, headers["connection"], body["error"]["code"], body["error"]["message"]) == (status, "close", "BadRequest", message)
    assert body["error"]["innerError"]["request-id"] == headers["request-id"]
    assert raw(demo_sandbox, "GET", "/organization", CONTOSO).status_code == 200  # the server is still serving


def test_well_formed_bodies_in_every_framing(demo_sandbox):
    group = b'{"displayName":"Chunked","mailEnabled":false,"mailNickname":"c","securityEnabled":true}'
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (group[:10], group[10:])) + b"0\r\nX-Trailer: 1\r\n\r\n"
    answers = [
        exchange(demo_sandbox, POST + b"Connection: close\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked),
        exchange(demo_sandbox, POST + b"Connection: close\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(group) + group),
        exchange(demo_sandbox, POST + b"Connection: close\r\nContent-Length: 9\r\n\r\nnot json!"),
    ]
    assert answers[1].startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\n")
    answers[1] = answers[1].removeprefix(b"HTTP/1.1 100 Continue\r\n\r\n")
    parsed = [parse(a) for a in answers]
    assert [(p[0], p[2].get("displayName") or p[2]["error"]["code"]) for p in parsed] == [(201, "Chunked"), (201, "Chunked"), (400, "BadRequest")]


def test_a_sandbox_bug_is_graphs_500_with_no_traceback(demo_sandbox, caplog):
    bad_plans = {"addLicenses": [{"skuId": "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46", "disabledPlans": 5}], "removeLicenses": []}
    assert raw(demo_sandbox, "POST", "/users/ancien@contoso.fr/assignLicense", CONTOSO, json=bad_plans).json()["error"]["code"] == "Request_BadRequest"

    def explode(req):
        raise KeyError("boom")

    demo_sandbox.call(lambda: demo_sandbox.router.add("GET", "/explode", explode))
    with caplog.at_level(logging.ERROR, logger="sage365.sandbox"):
        alone = raw(demo_sandbox, "GET", "/explode", CONTOSO, headers={"client-request-id": "r-1"})
        batched = raw(demo_sandbox, "POST", "/$batch", CONTOSO, json={"requests": [
            {"id": "1", "method": "GET", "url": "/explode"}, {"id": "2", "method": "GET", "url": "/organization?$select=id"}]})
    assert alone.status_code == 500
    assert alone.json() == {"error": {"code": "generalException", "message": "An unspecified error has occurred.",
                                      "innerError": {"date": alone.json()["error"]["innerError"]["date"], "request-id": "r-1", "client-request-id": "r-1"}}}
    assert [(r["id"], r["status"], r["body"].get("error", {}).get("code")) for r in batched.json()["responses"]] == [
        ("1", 500, "generalException"), ("2", 200, None)]
    assert "boom" not in alone.text + batched.text
    assert [r.message for r in caplog.records] == ["sandbox error while answering GET /v1.0/explode", "sandbox error while answering GET /explode in $batch"]


def test_stop_leaves_no_pending_task_even_with_connections_arriving(caplog):
    """Connections accepted as the server closes used to be destroyed pending (asyncio's
    'Task was destroyed but it is pending!' and 'Event loop is closed' on stderr)."""
    unraisable: list[str] = []
    previous, sys.unraisablehook = sys.unraisablehook, lambda u: unraisable.append(str(u.exc_value))
    held: list[socket.socket] = []
    counts: list[int] = []
    try:
        with caplog.at_level(logging.ERROR, logger="asyncio"):
            for _ in range(3):
                server = SandboxServer(sandbox_state()).start()
                stop = threading.Event()

                def connect(server: SandboxServer = server, stop: threading.Event = stop) -> None:
                    mine: list[socket.socket] = []
                    while not stop.is_set():  # connect until the server is gone, holding the last 30 open
                        try:
                            mine.append(socket.create_connection((server.host, server.port), timeout=1))
                        except OSError:
                            pass
                        if len(mine) > 30:
                            mine.pop(0).close()
                        counts.append(1)
                    held.extend(mine)

                threads = [threading.Thread(target=connect) for _ in range(4)]
                for t in threads:
                    t.start()
                time.sleep(0.05)
                server.stop()
                stop.set()
                for t in threads:
                    t.join()
                gc.collect()
                for sock in held:
                    sock.close()
                held.clear()
    finally:
        sys.unraisablehook = previous
        for sock in held:
            sock.close()
    assert len(counts) > 100  # connections really were arriving
    assert [r.getMessage() for r in caplog.records] == []
    assert unraisable == []


def test_fault_settings_of_the_wrong_type_are_refused(demo_sandbox):
    answers = [httpx.put(demo_sandbox.url + "/_sandbox/faults", json=body) for body in (
        {"throttle_every": "x"}, {"drop_every": -1}, {"batch_reverse": 1}, {"throttle_tenants": {CONTOSO: True}}, {"deny": {CONTOSO: "GET /users"}})]
    assert [(a.status_code, a.json()["error"]["message"].split(":")[0]) for a in answers] == [
        (400, "fault setting throttle_every"), (400, "fault setting drop_every"), (400, "fault setting batch_reverse"),
        (400, "fault setting throttle_tenants"), (400, "fault setting deny")]
    assert raw(demo_sandbox, "GET", "/organization", CONTOSO).status_code == 200
