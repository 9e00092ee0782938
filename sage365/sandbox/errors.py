"""Graph's error responses: one exception type, rendered in Graph's own JSON shape.

Every failure the sandbox serves goes through GraphError, so clients see exactly what
Microsoft Graph sends: `{"error": {"code", "message", "innerError": {...}}}`.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any


class GraphError(Exception):
    """An HTTP error in Graph's shape; raised anywhere in a handler."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def body(self, request_id: str | None = None) -> dict[str, Any]:
        return error_body(self.code, self.message, request_id)


def error_body(code: str, message: str, request_id: str | None = None) -> dict[str, Any]:
    rid = request_id or str(uuid.uuid4())
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return {
        "error": {
            "code": code,
            "message": message,
            "innerError": {"date": now, "request-id": rid, "client-request-id": rid},
        }
    }


def not_found(ident: str) -> GraphError:
    return GraphError(
        404,
        "Request_ResourceNotFound",
        f"Resource '{ident}' does not exist or one of its queried reference-property objects are not present.",
    )


def existing(collection: dict[str, Any], ident: str) -> Any:
    """`collection[ident]`, or Graph's 404 for it: how every handler looks an object up by id."""
    found = collection.get(ident)
    if found is None:
        raise not_found(ident)
    return found


def bad_request(message: str, code: str = "Request_BadRequest") -> GraphError:
    return GraphError(400, code, message)


def unauthenticated(message: str) -> GraphError:
    return GraphError(401, "InvalidAuthenticationToken", message)


def denied() -> GraphError:
    return GraphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")


def unsupported_query(message: str) -> GraphError:
    return GraphError(400, "Request_UnsupportedQuery", message)


def internal_error(where: str) -> GraphError:
    """Graph's 500 for a bug in the sandbox itself; the traceback goes to the server's log only."""
    logging.getLogger("sage365.sandbox").exception("sandbox error while answering %s", where)
    return GraphError(500, "generalException", "An unspecified error has occurred.")
