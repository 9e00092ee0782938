"""TLS under sage365.graph.http: certificates are verified, host names checked, on both the
Graph path (kiota -> httpx -> aiohttp) and the Exchange / Graph beta client, over real TLS."""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
import threading
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from kiota_abstractions.method import Method

from sage365.graph import http
from sage365.graph.client import graph_client, make_http_client
from sage365.graph.transport import send

TENANT = "11111111-1111-4111-8111-111111111111"
BODY = b'{"value": [{"id": "11111111-1111-4111-8111-111111111111"}]}'


def _certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for `localhost` only (not 127.0.0.1), and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class TlsServer:
    """HTTPS on 127.0.0.1 answering every request with BODY; counts the requests it read."""

    def __init__(self, cert: Path, key: Path) -> None:
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(cert, key)
        self.requests = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                await reader.readexactly(length)
                self.requests += 1
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (len(BODY), BODY))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._answer, "127.0.0.1", 0, ssl=self.context))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        server.close()

    def __enter__(self) -> TlsServer:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


@pytest.fixture
def tls(tmp_path, monkeypatch):
    cert, key = _certificate(tmp_path)
    http.ssl_context.cache_clear()
    with TlsServer(cert, key) as server:
        yield server, cert
    http.ssl_context.cache_clear()


def _trust(monkeypatch, cert: Path) -> None:
    """Trust the test certificate the way a partner trusts a TLS-inspecting proxy's: SSL_CERT_FILE."""
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    http.ssl_context.cache_clear()


async def _direct(url: str) -> int:
    async with http.HttpClient(timeout=10) as client:
        return (await client.get(url)).status_code


async def _graph(url: str) -> int:
    base = url.rsplit("/", 1)[0]
    graph_http = make_http_client(base)
    try:
        adapter = graph_client(TENANT, graph_url=base, http_client=graph_http).request_adapter
        return (await send(adapter, Method.GET, url)).status_code
    finally:
        await graph_http.aclose()


def test_a_trusted_certificate_for_the_host_is_accepted(tls, monkeypatch):
    server, cert = tls
    _trust(monkeypatch, cert)
    url = f"https://localhost:{server.port}/v1.0/organization"
    assert (asyncio.run(_direct(url)), asyncio.run(_graph(url))) == (200, 200)
    assert server.requests == 2


@pytest.mark.parametrize("read", [_direct, _graph], ids=["exchange-and-beta-client", "graph-client"])
def test_an_untrusted_certificate_is_refused_before_any_request(tls, monkeypatch, read):
    server, _ = tls
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    http.ssl_context.cache_clear()
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        asyncio.run(read(f"https://localhost:{server.port}/v1.0/organization"))
    assert server.requests == 0


@pytest.mark.parametrize("read", [_direct, _graph], ids=["exchange-and-beta-client", "graph-client"])
def test_a_certificate_for_another_name_is_refused(tls, monkeypatch, read):
    """The certificate names localhost only; asked for 127.0.0.1, the host name check refuses it."""
    server, cert = tls
    _trust(monkeypatch, cert)
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        asyncio.run(read(f"https://127.0.0.1:{server.port}/v1.0/organization"))
    assert server.requests == 0
