"""The Graph client's middleware: exactly the handlers sage365 relies on, in msgraph's order."""

from __future__ import annotations

import asyncio

from sage365.graph.client import make_http_client


def test_graph_middleware_is_redirect_refusal_deadline_retry_and_the_header_handlers():
    client = make_http_client("http://127.0.0.1:1/v1.0")
    names, handler = [], client._transport.pipeline._first_middleware
    while handler is not None:
        names.append(type(handler).__name__)
        handler = getattr(handler, "next", None)
    assert names == ["RefuseRedirects", "DeadlineRetryHandler", "UserAgentHandler", "GraphTelemetryHandler"]
    asyncio.run(client.aclose())
