"""Request counters by tenant and endpoint, readable in-process and as JSON.

Two measures: `requests` are HTTP requests as sent on the wire (a $batch is one,
"POST /$batch"); `operations` are Graph operations (each item of a $batch counts under its
own endpoint, the $batch envelope does not). Batching work compares the two. Faults
served are counted by kind. Unauthenticated requests count under tenant "-".
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

UNAUTHENTICATED = "-"


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()  # written by the server's loop, read by test threads
        self._requests: Counter[tuple[str, str]] = Counter()
        self._operations: Counter[tuple[str, str]] = Counter()
        self._faults: Counter[str] = Counter()

    def count_request(self, tenant: str | None, endpoint: str) -> None:
        with self._lock:
            self._requests[(tenant or UNAUTHENTICATED, endpoint)] += 1

    def count_operation(self, tenant: str | None, endpoint: str) -> None:
        with self._lock:
            self._operations[(tenant or UNAUTHENTICATED, endpoint)] += 1

    def count_fault(self, kind: str) -> None:
        with self._lock:
            self._faults[kind] += 1

    @staticmethod
    def _sum(counter: Counter[tuple[str, str]], tenant: str | None, endpoint: str | None) -> int:
        return sum(n for (t, e), n in counter.items() if (tenant is None or t == tenant) and (endpoint is None or e == endpoint))

    def requests(self, tenant: str | None = None, endpoint: str | None = None) -> int:
        """HTTP requests, optionally for one tenant and/or one endpoint ("GET /users/{id}")."""
        with self._lock:
            return self._sum(self._requests, tenant, endpoint)

    def operations(self, tenant: str | None = None, endpoint: str | None = None) -> int:
        """Graph operations: requests outside $batch plus the items inside it."""
        with self._lock:
            return self._sum(self._operations, tenant, endpoint)

    def faults(self, kind: str | None = None) -> int:
        with self._lock:
            return sum(self._faults.values()) if kind is None else self._faults[kind]

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self._operations.clear()
            self._faults.clear()

    def snapshot(self) -> dict[str, Any]:
        """Everything, as JSON (GET /_sandbox/stats)."""
        with self._lock:
            return {
                "requests": _view(self._requests),
                "operations": _view(self._operations),
                "faults": dict(sorted(self._faults.items())),
            }


def _view(counter: Counter[tuple[str, str]]) -> dict[str, Any]:
    by_tenant: Counter[str] = Counter()
    by_endpoint: Counter[str] = Counter()
    nested: dict[str, dict[str, int]] = {}
    for (tenant, endpoint), n in counter.items():
        by_tenant[tenant] += n
        by_endpoint[endpoint] += n
        nested.setdefault(tenant, {})[endpoint] = n
    return {
        "total": sum(counter.values()),
        "byTenant": dict(sorted(by_tenant.items())),
        "byEndpoint": dict(sorted(by_endpoint.items())),
        "byTenantEndpoint": {t: dict(sorted(e.items())) for t, e in sorted(nested.items())},
    }
