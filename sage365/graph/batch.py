"""Microsoft Graph JSON batching on msgraph-sdk's request adapter.

`send_batch(adapter, requests)` POSTs `/$batch` with up to 20 GET requests per batch
(larger sets are split and the batches sent concurrently), decodes the batch response
once (sage365.graph.shapes, msgspec), checks every item strictly against its request,
retries single items answered 429/503/504, and follows `@odata.nextLink` for collections
up to a limit of pages.

Strict items: every request id must be answered exactly once; a 2xx item must carry a
body of its request's shape. No body, `{}` for an object, `{"value": null}`, a string, an
error body under 2xx, an unknown or repeated id: each is that item's error (code
InvalidBatchItem), naming the request id and what was wrong, never data.

Why not msgraph-sdk's own batch classes (msgraph_core.requests.Batch*): they serialise
`depends_on` where Graph expects `dependsOn`, read each response body as bytes so JSON
bodies are dropped, and import `deprecated`, a package msgraph-core does not declare.

Why per-item retries here: a throttled item comes back inside a 200 batch response, so
the SDK's retry middleware (which only sees the outer response) never retries it. The
outer POST still goes through the adapter's middleware, which retries a throttled batch.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Sequence
from urllib.parse import urlsplit

import msgspec
from kiota_abstractions.method import Method

from sage365.graph import rest, shapes
from sage365.graph.rest import MAX_PAGES, RETRY_STATUSES, retry_after
from sage365.graph.transport import send

MAX_BATCH = 20  # Graph's limit of requests per $batch
INVALID_ITEM = "InvalidBatchItem"


@dataclass(frozen=True)
class RetryPolicy(rest.RetryPolicy):
    """How long a throttled item may be retried: max_attempts sends of one item (the first
    included), max_total_wait seconds slept across all retries of one send_batch call, the
    backoff without Retry-After (1, 2, 4 ... s), and no single wait longer than max_delay."""

    max_delay: float = 10.0


@dataclass(frozen=True)
class BatchRequest:
    """One GET inside a batch. `url` is relative to the version root, e.g. `/users/x`."""

    id: str
    url: str
    shape: type  # the body's sage365.graph.shapes Struct (for a collection: its items')
    collection: bool = False  # a collection: decode Page[shape], follow nextLink, gather `value`


@dataclass(frozen=True)
class BatchResponse:
    """The outcome of one BatchRequest after retries and paging."""

    id: str
    status: int  # the item's HTTP status; 0 when no response was received at all
    value: Any = None  # the decoded shape, or for a collection the list of every page's items
    code: str = ""  # Graph's error code, e.g. Request_ResourceNotFound, or InvalidBatchItem
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
    pages: int = 0
    values: list[Any] = field(default_factory=list)


class BatchError(Exception):
    """The whole $batch POST failed (authentication, network, or a 5xx after the middleware's retries)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}" if status else f"{code}: {message}")
        self.status, self.code, self.message = status, code, message


class InvalidItem(Exception):
    """An item whose status or body does not fit its request; the message says what was wrong."""


def relative_url(next_link: str, base_url: str) -> str:
    """A nextLink (absolute, under the version root) as a batch item URL (relative to it).

    Whatever host a nextLink names, only its path and query are kept: the next page is
    asked of the same Graph, inside the same batch, never of another origin.
    """
    if next_link.startswith(base_url):
        return next_link[len(base_url):] or "/"
    parts = urlsplit(next_link)
    if not parts.scheme:
        return next_link
    path = "/" + parts.path.lstrip("/").partition("/")[2]  # drop the version segment
    return path + (f"?{parts.query}" if parts.query else "")


def error_of(body: bytes | msgspec.Raw) -> tuple[str, str]:
    """(code, message) of a Graph error body; ("", "") when the body is not one."""
    return shapes.error_of(body) or ("", "")


def decode_item(request: BatchRequest, status: int, body: msgspec.Raw) -> Any:
    """The 2xx body of `request` decoded to its shape (a Page for a collection); InvalidItem otherwise."""
    where = f"request {request.id!r}"
    if not body or bytes(body).strip() in (b"", b"null"):
        raise InvalidItem(f"{where}: status {status} without a body")
    shape = shapes.Page[request.shape] if request.collection else request.shape
    try:
        return shapes.decode(body, shape)
    except msgspec.DecodeError as exc:
        error = shapes.error_of(body)
        if error is not None:
            code, message = error
            raise InvalidItem(f"{where}: an error body under status {status}: {code}: {message}".rstrip(": ")) from None
        raise InvalidItem(f"{where}: the body is not a {_shape_name(request)}: {exc}") from None


def _shape_name(request: BatchRequest) -> str:
    name = request.shape.__name__
    return f"collection of {name}" if request.collection else name


async def _post(adapter: Any, url: str, items: list[_Pending]) -> dict[str, list[shapes.BatchItem]]:
    """One POST /$batch; the items' responses by id (a list, so a repeated id can be seen)."""
    payload = msgspec.json.encode({"requests": [{"id": p.request.id, "method": "GET", "url": p.url} for p in items]})
    response = await send(adapter, Method.POST, url, body=payload)
    if not 200 <= response.status_code < 300:
        code, message = error_of(response.content)
        raise BatchError(response.status_code, code, message or response.reason_phrase or "request failed")
    try:
        envelope = shapes.decode(response.content, shapes.BatchEnvelope)
    except msgspec.DecodeError as exc:
        raise BatchError(response.status_code, "InvalidBatchResponse", f"the $batch response is not valid: {exc}") from None
    answers: dict[str, list[shapes.BatchItem]] = {}
    for item in envelope.responses:
        answers.setdefault(item.id, []).append(item)
    return answers


def _failure(rid: str, outcome: BaseException, attempts: int) -> BatchResponse:
    if isinstance(outcome, BatchError):
        return BatchResponse(rid, outcome.status, None, outcome.code, outcome.message, attempts)
    return BatchResponse(rid, 0, None, type(outcome).__name__, str(outcome), attempts)


async def send_batch(
    adapter: Any,
    requests: Sequence[BatchRequest],
    *,
    policy: RetryPolicy = RetryPolicy(),
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    max_pages: int = MAX_PAGES,
) -> dict[str, BatchResponse]:
    """Send `requests` in as few round trips as Graph allows; every request gets a response.

    A round sends every pending item (in batches of 20, concurrently). Items answered
    429/503/504 are resent in the next round after the longest Retry-After among them,
    until their attempts or the total wait run out; collections with a nextLink are resent
    for their next page, at most `max_pages` pages. A failed POST turns its items into
    errors (BatchError's status), never an exception: one unreadable part must not hide the others.
    """
    if len({r.id for r in requests}) != len(requests):
        raise ValueError("batch request ids must be unique")
    base_url = str(adapter.base_url).rstrip("/")
    batch_url = f"{base_url}/$batch"
    pending = [_Pending(r, r.url) for r in requests]
    done: dict[str, BatchResponse] = {}
    waited = 0.0
    while pending:
        chunks = [pending[i : i + MAX_BATCH] for i in range(0, len(pending), MAX_BATCH)]
        outcomes = await asyncio.gather(*(_post(adapter, batch_url, c) for c in chunks), return_exceptions=True)
        retry: list[_Pending] = []
        delay = 0.0
        follow: list[_Pending] = []
        for chunk, outcome in zip(chunks, outcomes):
            for item in chunk:
                item.attempts += 1
                rid = item.request.id
                if isinstance(outcome, BaseException):
                    done[rid] = _failure(rid, outcome, item.attempts)
                    continue
                answers = outcome.get(rid, ())
                if len(answers) != 1:
                    problem = "no answer" if not answers else f"{len(answers)} answers"
                    done[rid] = BatchResponse(rid, 0, None, INVALID_ITEM,
                                              f"request {rid!r}: the $batch response has {problem} for it", item.attempts)
                    continue
                answer = answers[0]
                status = answer.status
                if status in RETRY_STATUSES and item.attempts < policy.max_attempts:
                    wait = retry_after(answer.headers)
                    if wait is None:
                        wait = policy.backoff(item.attempts)
                    wait = min(wait, policy.max_delay)
                    if waited + wait <= policy.max_total_wait:
                        delay = max(delay, wait)
                        retry.append(item)
                        continue
                if not 200 <= status < 300:
                    code, message = error_of(answer.body)
                    done[rid] = BatchResponse(rid, status, None, code, message, item.attempts)
                    continue
                try:
                    parsed = decode_item(item.request, status, answer.body)
                except InvalidItem as exc:
                    done[rid] = BatchResponse(rid, status, None, INVALID_ITEM, str(exc), item.attempts)
                    continue
                if not item.request.collection:
                    done[rid] = BatchResponse(rid, status, parsed, attempts=item.attempts)
                    continue
                item.values.extend(parsed.value)
                item.pages += 1
                if not parsed.next_link:
                    done[rid] = BatchResponse(rid, status, item.values, attempts=item.attempts)
                elif item.pages >= max_pages:
                    done[rid] = BatchResponse(rid, status, None, "TooManyPages",
                                              f"request {rid!r}: stopped after {max_pages} pages, the limit of "
                                              "@odata.nextLink pages followed; the collection was not read in full",
                                              item.attempts)
                else:
                    item.url = relative_url(parsed.next_link, base_url)
                    follow.append(item)
        if retry and delay > 0:
            await sleep(delay)
            waited += delay
        # A page fetch is not a retry: it gets its own attempt budget.
        for item in follow:
            item.attempts = 0
        pending = retry + follow
    return {r.id: done[r.id] for r in requests}
