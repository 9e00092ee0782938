"""HTTP/1.1 framing for the sandbox: read one request off a stream, encode one response.

Kept apart from the server so that every way a client can send a broken request (a bad
request line, oversized headers, a bad Content-Length, broken chunked encoding, a body
over the limit) is handled in one place: each becomes a WireError, which the server
answers with a Graph-shaped 400 (413 for a body too large) and then closes the
connection, since the stream can no longer be trusted to be in step.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass
from email.utils import formatdate

JSON_TYPE = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
REASONS = {100: "Continue", 200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request", 401: "Unauthorized",
           403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 409: "Conflict", 413: "Payload Too Large",
           424: "Failed Dependency", 429: "Too Many Requests", 500: "Internal Server Error",
           503: "Service Unavailable", 504: "Gateway Timeout"}
MAX_BODY = 4 * 1024 * 1024
HEAD_LIMIT = 64 * 1024  # the StreamReader's buffer limit: a longer head is refused, as IIS does with 400
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # RFC 9110 token: methods and header names
_VERSION = re.compile(r"^HTTP/1\.[01]$")


class WireError(Exception):
    """A request that cannot be framed: answered `status` with Graph's error shape, then closed."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class WireRequest:
    method: str
    target: str
    version: str
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def keep_alive(self) -> bool:
        conn = self.headers.get("connection", "").lower()
        return (self.version == "HTTP/1.1" and conn != "close") or (self.version == "HTTP/1.0" and conn == "keep-alive")


async def read_request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> WireRequest | None:
    """The next request, None when the client closed the connection between requests."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial.strip():
            raise WireError("The request ended before its headers did.") from None
        return None
    except asyncio.LimitOverrunError:
        raise WireError(f"Request headers too long: the limit is {HEAD_LIMIT} bytes.") from None
    lines = head[:-4].decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not _TOKEN.match(parts[0]) or not parts[1] or not _VERSION.match(parts[2]):
        raise WireError("Bad request line: expected 'METHOD TARGET HTTP/1.1'.")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not _TOKEN.match(name):
            raise WireError("Bad header line.")
        name = name.lower()
        if name == "content-length" and name in headers and headers[name] != value.strip():
            raise WireError("Conflicting Content-Length headers.")
        headers[name] = value.strip()
    if headers.get("expect", "").lower() == "100-continue":
        # curl waits for this before sending a body over 1 KiB.
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    body = await _read_body(reader, headers)
    return WireRequest(parts[0].upper(), parts[1], parts[2], headers, body)


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    encoding = headers.get("transfer-encoding", "").lower()
    try:
        if encoding:
            if encoding != "chunked":
                raise WireError(f"Unsupported Transfer-Encoding '{encoding}'.")
            if "content-length" in headers:  # request smuggling territory: refuse, as RFC 9112 allows
                raise WireError("Both Transfer-Encoding and Content-Length were sent.")
            return await _read_chunks(reader)
        text = headers.get("content-length", "0")
        if not text.isdigit():
            raise WireError(f"Invalid Content-Length '{text}'.")
        length = int(text)
        if length > MAX_BODY:
            raise WireError(f"The request body is larger than {MAX_BODY} bytes.", 413)
        return await reader.readexactly(length) if length else b""
    except asyncio.IncompleteReadError:
        raise WireError("The request ended before its body did.") from None
    except asyncio.LimitOverrunError:
        raise WireError("Bad chunked encoding: chunk size line too long.") from None


async def _read_chunks(reader: asyncio.StreamReader) -> bytes:
    chunks: list[bytes] = []
    total = 0
    while True:
        line = (await reader.readuntil(b"\r\n")).split(b";")[0].strip()
        if not line or not re.fullmatch(rb"[0-9A-Fa-f]{1,8}", line):
            raise WireError("Bad chunked encoding: invalid chunk size.")
        size = int(line, 16)
        total += size
        if total > MAX_BODY:
            raise WireError(f"The request body is larger than {MAX_BODY} bytes.", 413)
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailer fields, ignored
                pass
            return b"".join(chunks)
        chunks.append(await reader.readexactly(size))
        if await reader.readexactly(2) != b"\r\n":
            raise WireError("Bad chunked encoding: a chunk is longer than its size.")


def encode(status: int, extra: dict[str, str], payload: bytes, client_request_id: str | None, keep_alive: bool) -> bytes:
    request_id = client_request_id or str(uuid.uuid4())
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}",
             f"Date: {formatdate(usegmt=True)}",
             f"request-id: {request_id}",
             f"client-request-id: {request_id}",
             f"Content-Length: {len(payload)}",
             "Connection: " + ("keep-alive" if keep_alive else "close")]
    if payload:
        lines.append(f"Content-Type: {JSON_TYPE}")
    lines.extend(f"{k}: {v}" for k, v in extra.items())
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload
