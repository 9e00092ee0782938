"""JSON batching (POST /v1.0/$batch): up to 20 requests, dependsOn, a status per item.

Items run one after another in the order given, in the envelope's tenant: an item cannot
carry its own token, so a batch never reaches another tenant. An item whose dependency
failed answers 424 without running, as Graph does.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from sage365.sandbox.errors import GraphError, bad_request, error_body, internal_error
from sage365.sandbox.router import Response

MAX_ITEMS = 20
METHODS = {"GET", "POST", "PATCH", "PUT", "DELETE"}

# (method, relative url, lower-case headers, body bytes) -> Response
Execute = Callable[[str, str, dict[str, str], bytes], Response]


def parse(body: bytes) -> list[dict[str, Any]]:
    """The envelope's items, validated as a whole: any problem is a 400 for the batch."""
    try:
        envelope = json.loads(body) if body else None
    except (ValueError, UnicodeDecodeError):
        envelope = None
    if not isinstance(envelope, dict) or not isinstance(envelope.get("requests"), list):
        raise bad_request("Invalid batch payload format.", "BadRequest")
    items = envelope["requests"]
    if len(items) > MAX_ITEMS:
        raise bad_request(f"Unable to deserialize batch request. Number of batch requests ({len(items)}) exceeds the limit of {MAX_ITEMS}.", "BadRequest")
    if not items:
        raise bad_request("Invalid batch payload format: no requests.", "BadRequest")
    seen: set[str] = set()
    for item in items:
        if not isinstance(item, dict) or not all(isinstance(item.get(k), str) and item.get(k) for k in ("id", "method", "url")):
            raise bad_request("Invalid batch payload format: each request needs an id, a method and a url.", "BadRequest")
        if item["id"] in seen:
            raise bad_request(f"Batch request contains duplicate id '{item['id']}'.", "BadRequest")
        if not isinstance(item.get("headers", {}), dict):
            raise bad_request(f"Invalid batch payload format: the headers of request '{item['id']}' must be an object.", "BadRequest")
        depends = item.get("dependsOn", [])
        if not isinstance(depends, list) or any(not isinstance(d, str) or d not in seen for d in depends):
            raise bad_request(f"Request '{item['id']}' depends on a request id that does not precede it in the batch.", "BadRequest")
        if item["method"].upper() not in METHODS:
            raise bad_request(f"Invalid method '{item['method']}' in request '{item['id']}'.", "BadRequest")
        seen.add(item["id"])
    return items


def run(items: list[dict[str, Any]], execute: Execute, *, throttled: Callable[[], GraphError | None], reverse: bool = False) -> dict[str, Any]:
    """Run the items; `throttled()` may answer an item 429 (a fault) instead of running it."""
    statuses: dict[str, int] = {}
    responses: list[dict[str, Any]] = []
    for item in items:
        rid = item["id"]
        failed = [d for d in item.get("dependsOn", []) if statuses.get(d, 500) >= 400]
        if failed:
            resp = Response(424, error_body("FailedDependency", f"The request depends on request '{failed[0]}', which failed."))
        else:
            resp = _one(item, execute, throttled)
        statuses[rid] = resp.status
        out: dict[str, Any] = {"id": rid, "status": resp.status, "headers": dict(resp.headers)}
        if resp.body is not None:
            out["headers"].setdefault("Content-Type", "application/json")
            out["body"] = resp.body
        responses.append(out)
    if reverse:
        responses.reverse()
    return {"responses": responses}


def _one(item: dict[str, Any], execute: Execute, throttled: Callable[[], GraphError | None]) -> Response:
    headers = {str(k).lower(): str(v) for k, v in (item.get("headers") or {}).items()}
    url = item["url"]
    body = item.get("body")
    try:
        if url.lstrip("/").lower().startswith("$batch"):
            raise bad_request("Nested batch requests are not supported.", "BadRequest")
        if body is not None and "content-type" not in headers:
            raise bad_request("Content-Type header is required for a batch request with a body.", "BadRequest")
        fault = throttled()
        if fault is not None:
            raise fault
        raw = json.dumps(body).encode() if body is not None else b""
        return execute(item["method"].upper(), url, headers, raw)
    except GraphError as exc:
        error = exc
    except Exception:  # noqa: BLE001 (a sandbox bug in one item: its own 500; the other items still answer)
        error = internal_error(f"{item['method'].upper()} {url} in $batch")
    return Response(error.status, error.body(), dict(error.headers))
