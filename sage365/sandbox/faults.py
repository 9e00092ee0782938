"""Injected faults: latency, throttling, outages, malformed bodies, dropped connections.

A Faults value is plain configuration, replaceable at any time (in-process, or with
PUT /_sandbox/faults); FaultInjector applies it to a numbered sequence of requests, so a
test can say "every 3rd request is throttled" and assert exact outcomes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from sage365.sandbox.errors import GraphError


class Fault(str, Enum):
    DROP = "drop"  # close the connection without answering
    THROTTLE = "429"
    UNAVAILABLE = "503"
    GATEWAY_TIMEOUT = "504"
    DENIED = "403"
    MALFORMED = "malformed"  # 200 with a truncated JSON body
    BATCH_ITEM_THROTTLE = "batch-item-429"


@dataclass
class Faults:
    """What to inject. `every` counts are 1-based over all Graph requests (0: never)."""

    latency_ms: float = 0.0
    throttle_every: int = 0
    throttle_tenants: dict[str, int] = field(default_factory=dict)  # tenantId -> every Nth of its requests
    retry_after: int = 1  # seconds, in Retry-After (msgraph-sdk ignores 0 and backs off instead)
    unavailable_every: int = 0
    gateway_timeout_every: int = 0
    malformed_every: int = 0
    drop_every: int = 0
    batch_item_throttle_every: int = 0  # every Nth item inside $batch answers 429
    batch_reverse: bool = False  # answer $batch items in reverse order, as Graph may reorder them
    deny: dict[str, list[str]] = field(default_factory=dict)  # tenantId -> endpoints answered 403

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Faults":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown fault settings: {', '.join(sorted(unknown))}")
        # Checked here: a wrong type would otherwise fail inside every later request.
        for f in dataclasses.fields(cls):
            if f.name in data and not _fits(data[f.name], _DEFAULTS[f.name]):
                raise ValueError(f"fault setting {f.name}: expected a value like {_DEFAULTS[f.name]!r}, got {data[f.name]!r}")
        return cls(**data)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_DEFAULTS = {"latency_ms": 0.0, "throttle_every": 0, "throttle_tenants": {"tenantId": 1}, "retry_after": 1,
             "unavailable_every": 0, "gateway_timeout_every": 0, "malformed_every": 0, "drop_every": 0,
             "batch_item_throttle_every": 0, "batch_reverse": False, "deny": {"tenantId": ["GET /users"]}}


def _fits(value: Any, example: Any) -> bool:
    """Whether a JSON value has the shape of a setting's example (numbers >= 0)."""
    if isinstance(example, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(example, bool)
    if isinstance(example, (int, float)):
        return isinstance(value, (int, float) if isinstance(example, float) else int) and value >= 0
    if isinstance(example, dict):
        inner = next(iter(example.values()))
        return isinstance(value, dict) and all(isinstance(k, str) and _fits(v, inner) for k, v in value.items())
    if isinstance(example, list):
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    return False


def _every(n: int, seq: int) -> bool:
    return n > 0 and seq % n == 0


class FaultInjector:
    """Numbers requests and decides, for each, which fault (if any) it gets."""

    def __init__(self, faults: Faults | None = None) -> None:
        self.faults = faults or Faults()
        self.reset()

    def reset(self) -> None:
        self.seq = 0
        self.tenant_seq: dict[str, int] = {}
        self.item_seq = 0

    def configure(self, faults: Faults) -> None:
        self.faults = faults
        self.reset()

    def decide(self, tenant_id: str | None, endpoint: str) -> Fault | None:
        f = self.faults
        self.seq += 1
        seq = self.seq
        tseq = 0
        if tenant_id is not None:
            tseq = self.tenant_seq.get(tenant_id, 0) + 1
            self.tenant_seq[tenant_id] = tseq
        if _every(f.drop_every, seq):
            return Fault.DROP
        if _every(f.throttle_every, seq) or (tenant_id is not None and _every(f.throttle_tenants.get(tenant_id, 0), tseq)):
            return Fault.THROTTLE
        if _every(f.unavailable_every, seq):
            return Fault.UNAVAILABLE
        if _every(f.gateway_timeout_every, seq):
            return Fault.GATEWAY_TIMEOUT
        if tenant_id is not None and endpoint in f.deny.get(tenant_id, ()):
            return Fault.DENIED
        if _every(f.malformed_every, seq):
            return Fault.MALFORMED
        return None

    def batch_item_throttled(self) -> bool:
        self.item_seq += 1
        return _every(self.faults.batch_item_throttle_every, self.item_seq)

    def error(self, fault: Fault) -> GraphError:
        """The Graph error a fault is answered with (not for DROP and MALFORMED)."""
        retry = {"Retry-After": str(self.faults.retry_after)}
        if fault in (Fault.THROTTLE, Fault.BATCH_ITEM_THROTTLE):
            return GraphError(429, "TooManyRequests", "Too many requests. Please try again later.", retry)
        if fault is Fault.UNAVAILABLE:
            return GraphError(503, "serviceNotAvailable", "Service is unavailable. Please try again later.", retry)
        if fault is Fault.GATEWAY_TIMEOUT:
            return GraphError(504, "UnknownError", "Gateway Timeout: the service did not answer in time.")
        if fault is Fault.DENIED:
            return GraphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
        raise ValueError(fault)
