"""Microsoft Graph JSON batching on msgraph-sdk's request adapter.

`send_batch(adapter, requests)` POSTs `/$batch` with up to 20 GET requests per batch
(larger sets are split and the batches sent concurrently), parses each item's body with
the SDK's own models through kiota's JSON parse node, retries single items answered
429/503/504, and follows `@odata.nextLink` for collections.

Why not msgraph-sdk's own batch classes (msgraph_core.requests.Batch*): they serialise
`depends_on` where Graph expects `dependsOn`, read each response body as bytes so JSON
bodies are dropped, and import `deprecated`, a package msgraph-core does not declare.

Why per-item retries here: a throttled item comes back inside a 200 batch response, so
the SDK's retry middleware (which only sees the outer response) never retries it. The
outer POST still goes through the adapter's middleware, which retries a throttled batch.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Sequence
from urllib.parse import urlsplit

from kiota_abstractions.api_error import APIError
from kiota_abstractions.method import Method
from kiota_abstractions.request_information import RequestInformation
from kiota_abstractions.serialization import Parsable, ParsableFactory
from kiota_serialization_json.json_parse_node import JsonParseNode
from msgraph.generated.models.o_data_errors.o_data_error import ODataError

from sage365.graph import fastparse

MAX_BATCH = 20  # Graph's limit of requests per $batch
RETRY_STATUSES = frozenset({429, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How long a throttled item may be retried: bounded attempts and bounded total wait."""

    max_attempts: int = 4  # sends of one item, the first included
    max_total_wait: float = 30.0  # seconds slept across all retries of one send_batch call
    default_delay: float = 1.0  # without Retry-After: 1, 2, 4 ... seconds
    max_delay: float = 10.0


@dataclass(frozen=True)
class BatchRequest:
    """One GET inside a batch. `url` is relative to the version root, e.g. `/users/x`."""

    id: str
    url: str
    model: type  # the SDK model class of the body, e.g. User or UserCollectionResponse
    collection: bool = False  # a *CollectionResponse: follow nextLink, gather `value`


@dataclass(frozen=True)
class BatchResponse:
    """The outcome of one BatchRequest after retries and paging."""

    id: str
    status: int  # the item's HTTP status; 0 when no response was received at all
    value: Any = None  # the parsed model, or for a collection the list of every page's items
    code: str = ""  # Graph's error code, e.g. Request_ResourceNotFound
    message: str = ""
    attempts: int = 1

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300 and not self.code

    def describe(self) -> str:
        """`404 Request_ResourceNotFound: ...`, for error messages."""
        text = f"{self.status} {self.code}".strip() if self.status else self.code or "no response"
        return f"{text}: {self.message}" if self.message else text


@dataclass
class _Pending:
    request: BatchRequest
    url: str
    attempts: int = 0
    values: list[Any] = field(default_factory=list)


class BatchError(Exception):
    """The whole $batch POST failed (authentication, network, or a 5xx after the middleware's retries)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}" if status else f"{code}: {message}")
        self.status, self.code, self.message = status, code, message


def parse_model(body: Any, model: ParsableFactory) -> Parsable | None:
    """Parse a JSON body (already decoded) into an SDK model with kiota's JSON parse node."""
    fastparse.install()  # idempotent; see fastparse for why
    return JsonParseNode(body).get_object_value(model)


def retry_after(headers: dict[str, str] | None, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date), case-insensitive."""
    for key, value in (headers or {}).items():
        if key.lower() != "retry-after":
            continue
        value = str(value).strip()
        if value.isdigit():
            return float(value)
        try:
            when = email.utils.parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError):
            return None
        return max(0.0, when - (time.time() if now is None else now))
    return None


def relative_url(next_link: str, base_url: str) -> str:
    """A nextLink (absolute, under the version root) as a batch item URL (relative to it)."""
    if next_link.startswith(base_url):
        return next_link[len(base_url):] or "/"
    parts = urlsplit(next_link)
    if not parts.scheme:
        return next_link
    path = "/" + parts.path.lstrip("/").partition("/")[2]  # drop the version segment
    return path + (f"?{parts.query}" if parts.query else "")


def error_of(body: Any) -> tuple[str, str]:
    """(code, message) of a Graph error body, parsed with the SDK's ODataError model."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        parsed = parse_model(body, ODataError)
        main = parsed.error if parsed else None
        if main is not None:
            return main.code or "", main.message or ""
    return "", ""


async def _post(adapter: Any, items: list[_Pending]) -> dict[str, dict[str, Any]]:
    """One POST /$batch; the items' responses by id."""
    payload = {
        "requests": [{"id": p.request.id, "method": "GET", "url": p.url} for p in items],
    }
    info = RequestInformation(Method.POST, "{+baseurl}/$batch")
    info.headers.try_add("Accept", "application/json")
    info.headers.try_add("Content-Type", "application/json")
    info.content = json.dumps(payload).encode()
    try:
        raw = await adapter.send_primitive_async(info, "bytes", {"XXX": ODataError})
    except ODataError as exc:
        main = exc.error
        raise BatchError(exc.response_status_code or 0, main.code if main else "", main.message if main else "") from None
    except APIError as exc:
        raise BatchError(exc.response_status_code or 0, "", exc.message or "request failed") from None
    try:
        responses = json.loads(raw or b"{}").get("responses", [])
    except (ValueError, AttributeError):
        raise BatchError(0, "InvalidBatchResponse", "the $batch response is not JSON") from None
    return {str(r.get("id")): r for r in responses if isinstance(r, dict)}


async def send_batch(
    adapter: Any,
    requests: Sequence[BatchRequest],
    *,
    policy: RetryPolicy = RetryPolicy(),
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
) -> dict[str, BatchResponse]:
    """Send `requests` in as few round trips as Graph allows; every request gets a response.

    A round sends every pending item (in batches of 20, concurrently). Items answered
    429/503/504 are resent in the next round after the longest Retry-After among them,
    until their attempts or the total wait run out; collections with a nextLink are resent
    for their next page. A failed POST turns its items into errors (BatchError's status),
    never an exception: one unreadable part must not hide the others.
    """
    if len({r.id for r in requests}) != len(requests):
        raise ValueError("batch request ids must be unique")
    base_url = str(adapter.base_url).rstrip("/")
    pending = [_Pending(r, r.url) for r in requests]
    done: dict[str, BatchResponse] = {}
    waited = 0.0
    while pending:
        chunks = [pending[i : i + MAX_BATCH] for i in range(0, len(pending), MAX_BATCH)]
        outcomes = await asyncio.gather(*(_post(adapter, c) for c in chunks), return_exceptions=True)
        retry: list[_Pending] = []
        delay = 0.0
        follow: list[_Pending] = []
        for chunk, outcome in zip(chunks, outcomes):
            for item in chunk:
                item.attempts += 1
                rid = item.request.id
                if isinstance(outcome, BaseException):
                    status, code, message = (
                        (outcome.status, outcome.code, outcome.message)
                        if isinstance(outcome, BatchError)
                        else (0, type(outcome).__name__, str(outcome))
                    )
                    done[rid] = BatchResponse(rid, status, None, code, message, item.attempts)
                    continue
                response = outcome.get(rid)
                if response is None:
                    done[rid] = BatchResponse(rid, 0, None, "MissingBatchItem", "no response for this item", item.attempts)
                    continue
                status = int(response.get("status", 0))
                body = response.get("body")
                if status in RETRY_STATUSES and item.attempts < policy.max_attempts:
                    wait = retry_after(response.get("headers"))
                    if wait is None:
                        wait = policy.default_delay * 2 ** (item.attempts - 1)
                    wait = min(wait, policy.max_delay)
                    if waited + wait <= policy.max_total_wait:
                        delay = max(delay, wait)
                        retry.append(item)
                        continue
                if not 200 <= status < 300:
                    code, message = error_of(body)
                    done[rid] = BatchResponse(rid, status, None, code, message, item.attempts)
                    continue
                try:
                    parsed = parse_model(body if body is not None else {}, item.request.model)
                except Exception as exc:  # a body the SDK model cannot read
                    done[rid] = BatchResponse(rid, status, None, "UnreadableBody", str(exc), item.attempts)
                    continue
                if not item.request.collection:
                    done[rid] = BatchResponse(rid, status, parsed, attempts=item.attempts)
                    continue
                item.values.extend(getattr(parsed, "value", None) or [])
                next_link = getattr(parsed, "odata_next_link", None)
                if next_link:
                    item.url = relative_url(next_link, base_url)
                    follow.append(item)
                else:
                    done[rid] = BatchResponse(rid, status, item.values, attempts=item.attempts)
        if retry and delay > 0:
            await sleep(delay)
            waited += delay
        # A page fetch is not a retry: it gets its own attempt budget.
        for item in follow:
            item.attempts = 0
        pending = retry + follow
    return {r.id: done[r.id] for r in requests}
