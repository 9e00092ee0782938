"""Where Exchange's InvokeCommand client and Graph beta's reader differ, pinned side by side.

Both send, resend, wait and page the same way (sage365.graph.rest); what each service
names, checks and allows is its own, and stays so: the messages a partner reads, the status
an error carries, how far a nextLink may go, the headers and the token each request carries.
"""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
import pytest

from sage365.exchange.client import ExchangeClient, ExchangeError, token_source
from sage365.graph.connectors import BetaError, BetaReader
from sage365.graph.guard import TenantGuard
from tests.exchange.wire import answers

TENANT = "11111111-1111-4111-8111-111111111111"
INVOKE = f"https://exchange.test/adminapi/beta/{TENANT}/InvokeCommand"
BETA = "https://graph.test/beta"
CONNECTORS = "/onPremisesPublishingProfiles/applicationProxy/connectors"
SIGN_INS = "/reports/servicePrincipalSignInActivities?$filter=appId%20eq%20%27a1%27"
DROPPED = httpx.ConnectError("connection refused")
HTTPX_OWN = {"host", "accept-encoding", "connection", "user-agent", "content-length"}  # set by httpx itself


class Watching(TenantGuard):
    """The tenant guard (no deadline, never started) with every wait it was asked about: (delay, cause)."""

    def __init__(self) -> None:
        super().__init__(TENANT)
        self.asked: list[tuple[float, str]] = []

    def allow_wait(self, delay: float, cause: str) -> None:
        self.asked.append((delay, cause))
        super().allow_wait(delay, cause)


def page(items: list, next_link: str | None = None, status: int = 200) -> tuple:
    return status, {}, {"value": items, **({"@odata.nextLink": next_link} if next_link else {})}


def throttled(status: int = 429, retry_after: str | None = None) -> tuple:
    return status, ({"Retry-After": retry_after} if retry_after else {}), {"error": {"code": "TooManyRequests", "message": "slow down"}}


def exchange(transport, *, guard=None, tokens=None, calls: int = 1):
    async def go():
        async with httpx.AsyncClient(transport=transport) as http:
            client = ExchangeClient(TENANT, tokens or token_source(TENANT, sandbox=True), base_url="https://exchange.test",
                                    http=http, guard=guard)
            results = [await client.invoke("Get-App", {"OrganizationApp": True}) for _ in range(calls)]
            return (results[0] if calls == 1 else results), client.requests

    return asyncio.run(go())


def beta(transport, *, guard=None, credential=None, paths=(CONNECTORS,)):
    async def go():
        async with httpx.AsyncClient(transport=transport) as http:
            reader = BetaReader(TENANT, graph_url="https://graph.test/v1.0", credential=credential, http=http, guard=guard)
            results = [await reader.collection(path) for path in paths]
            return (results[0] if len(paths) == 1 else results), reader.requests

    return asyncio.run(go())


def failure(read, transport, **options) -> tuple[int, str, str]:
    with pytest.raises((ExchangeError, BetaError)) as raised:
        read(transport, **options)
    return raised.value.status, raised.value.code, raised.value.describe()


# -- waits: what each service calls the request, and one budget over every page -------------

def test_exchange_names_the_cmdlet_in_wait_causes_on_every_page(slept):
    guard = Watching()
    transport, sent = answers(page([{"n": 1}], f"{INVOKE}?$skiptoken=2"), throttled(429, "3"), DROPPED, page([{"n": 2}]))
    assert exchange(transport, guard=guard) == ([{"n": 1}, {"n": 2}], 4)
    assert guard.asked == [(3.0, "Exchange Online answered 429 to Get-App"),
                           (2.0, "Exchange Online did not answer Get-App (ConnectError)")]
    assert slept == [3.0, 2.0]  # the backoff counts the page's attempts: its third send waits 2 s


def test_graph_beta_names_the_page_it_asked_for_without_its_query(slept):
    guard = Watching()
    transport, sent = answers(page([{"id": "1"}], f"{BETA}/reports/more?$skiptoken=a1"), throttled(503), DROPPED, page([]))
    assert beta(transport, guard=guard, paths=(SIGN_INS,)) == ([{"id": "1"}], 4)
    assert guard.asked == [(1.0, "Microsoft Graph beta answered 503 to GET /beta/reports/more"),
                           (2.0, "Microsoft Graph beta did not answer GET /beta/reports/more (ConnectError)")]
    assert [str(r.url) for r in sent] == [BETA + SIGN_INS] + [f"{BETA}/reports/more?$skiptoken=a1"] * 3


@pytest.mark.parametrize("read, message", [
    (exchange, "429 TooManyRequests: Get-App: slow down"),
    (beta, "429 TooManyRequests: slow down"),
], ids=["exchange", "beta"])
def test_a_retry_after_beyond_the_wait_budget_is_the_answer_itself_at_once(slept, read, message):
    transport, sent = answers(throttled(429, "31"), page([]))
    assert failure(read, transport) == (429, "TooManyRequests", message)
    assert (len(sent), slept) == (1, [])


@pytest.mark.parametrize("read, message", [
    (exchange, "504 GatewayTimeout: Get-App: no answer upstream"),
    (beta, "504 GatewayTimeout: no answer upstream"),
], ids=["exchange", "beta"])
def test_throttling_on_the_last_attempt_is_the_error(slept, read, message):
    transport, sent = answers((504, {}, {"error": {"code": "GatewayTimeout", "message": "no answer upstream"}}))
    assert failure(read, transport) == (504, "GatewayTimeout", message)
    assert (len(sent), slept) == (4, [1.0, 2.0, 4.0])


@pytest.mark.parametrize("read, link", [(exchange, f"{INVOKE}?p=2"), (beta, f"{BETA}{CONNECTORS}?p=2")], ids=["exchange", "beta"])
def test_the_wait_budget_spans_every_page_and_the_attempts_are_per_page(slept, read, link):
    transport, sent = answers(*[DROPPED] * 3, page([{"n": 1}], link), *[DROPPED] * 3, page([{"n": 2}]))
    assert read(transport) == ([{"n": 1}, {"n": 2}], 8)
    assert slept == [1.0, 2.0, 4.0, 1.0, 2.0, 4.0]
    slept.clear()
    transport, sent = answers(throttled(429, "20"), page([{"n": 1}], link), throttled(503, "11"), page([]))
    assert failure(read, transport)[:2] == (503, "TooManyRequests")  # 20 s + 11 s is past the 30 s budget
    assert (len(sent), slept) == (3, [20.0])


# -- pages: what each service requires of one ------------------------------------------------

@pytest.mark.parametrize("body, exchange_says", [
    (b"", "Get-App: the body is not JSON"),
    (b"not json", "Get-App: the body is not JSON"),
    (b"[]", "Get-App: the body is not a JSON object with 'value'"),
    (b"{}", "Get-App: the body is not a JSON object with 'value'"),
    (b'{"value": null}', "Get-App: 'value' is not a list"),
    (b'{"value": {"AppId": "x"}}', "Get-App: 'value' is not a list"),
], ids=["empty", "text", "list", "object", "null", "object-value"])
def test_a_shapeless_page_is_malformed_in_each_service_s_words(slept, body, exchange_says):
    transport, sent = answers((200, {}, body))
    assert failure(exchange, transport) == (200, "MalformedResponse", f"200 MalformedResponse: {exchange_says}")
    assert failure(beta, transport) == (200, "MalformedResponse", "200 MalformedResponse: the body is not a Graph collection")
    assert (len(sent), slept) == (2, [])


def test_an_item_that_is_not_an_object_is_refused_by_both_in_each_service_s_words(slept):
    transport, _ = answers(page([{"n": 1}], f"{INVOKE}?p=2"), page([{"n": 2}, "Sage Contact"]))
    assert failure(exchange, transport) == (200, "MalformedResponse", "200 MalformedResponse: Get-App: item 1 of 'value' "
                                            "(page 2) is not a JSON object; the result was not read")
    transport, sent = answers(page([{"id": "1"}], f"{BETA}{CONNECTORS}?p=2"), page([{"id": "2"}, "Sage Connector", None]))
    assert failure(beta, transport) == (200, "MalformedResponse", "200 MalformedResponse: item 1 of 'value' (page 2) "
                                        "is not a JSON object; the collection was not read")
    assert len(sent) == 2


def test_exchange_names_status_200_for_what_is_wrong_inside_a_page_and_beta_the_answer_s_status(slept):
    """A 2xx other than 200 (203 from a proxy, say): Exchange's value and nextLink errors say 200."""
    assert failure(exchange, answers((203, {}, {"value": None}))[0])[:2] == (200, "MalformedResponse")
    assert failure(exchange, answers((203, {}, b""))[0])[:2] == (203, "MalformedResponse")
    assert failure(exchange, answers(page([], "https://elsewhere.test/x", 203))[0])[:2] == (200, "UnexpectedNextLink")
    assert failure(beta, answers((203, {}, {"value": None}))[0])[:2] == (203, "MalformedResponse")
    assert failure(beta, answers(page([], "https://elsewhere.test/x", 203))[0])[:2] == (203, "UnexpectedNextLink")


@pytest.mark.parametrize("link", ["http://exchange.test/adminapi/beta/x", "https://exchange.test:8443/adminapi/beta/x",
                                  "/adminapi/beta/x"], ids=["scheme", "port", "relative"])
def test_both_follow_a_next_link_only_on_their_own_origin(slept, link):
    """Scheme, host and port: the token goes wherever the link points, so only back where it was asked of."""
    transport, sent = answers(page([{"n": 1}], link), page([{"n": 2}]))
    assert failure(exchange, transport) == (200, "UnexpectedNextLink",
                                            "200 UnexpectedNextLink: Get-App: @odata.nextLink leaves https://exchange.test")
    assert len(sent) == 1
    beta_link = link.replace("exchange.test", "graph.test")
    transport, sent = answers(page([{"n": 1}], beta_link), page([{"n": 2}]))
    assert failure(beta, transport) == (200, "UnexpectedNextLink", "200 UnexpectedNextLink: @odata.nextLink leaves "
                                        "https://graph.test; it was not followed")
    assert len(sent) == 1


def test_a_next_link_on_the_origin_with_its_default_port_spelled_out_is_followed(slept):
    transport, sent = answers(page([{"n": 1}], "https://exchange.test:443/adminapi/beta/x?p=2"), page([{"n": 2}]))
    assert exchange(transport) == ([{"n": 1}, {"n": 2}], 2)
    transport, sent = answers(page([{"n": 1}], "HTTPS://GRAPH.test/beta/x?p=2"), page([{"n": 2}]))
    assert beta(transport) == ([{"n": 1}, {"n": 2}], 2)


@pytest.mark.parametrize("link, what", [
    (5, "a number"), (True, "a boolean"), (False, "a boolean"), (0, "a number"), ({}, "an object"), ([], "a list"),
    (["https://exchange.test/x"], "a list"), ("https://exchange.test/\x00", "a string that is not a URL"),
    ("https://xn--/x", "a string that is not a URL"), ("https://xn--a/x", "a string that is not a URL"),
], ids=["number", "true", "false", "zero", "object", "list", "list-of-url", "not-a-url", "bad-idna", "bad-idna-codepoint"])
def test_a_next_link_that_is_not_a_url_is_malformed_in_each_service_s_words_never_the_end(slept, link, what):
    """Not even a falsy one ends the read: where the collection ends is unknown."""
    transport, sent = answers((200, {}, {"value": [{"n": 1}], "@odata.nextLink": link}))
    assert failure(exchange, transport) == (200, "MalformedResponse", f"200 MalformedResponse: Get-App: @odata.nextLink "
                                            f"(page 1) is {what}; the result was not read in full")
    assert failure(beta, transport) == (200, "MalformedResponse", f"200 MalformedResponse: @odata.nextLink (page 1) "
                                        f"is {what}; the collection was not read in full")
    assert len(sent) == 2


def test_a_next_link_to_another_host_is_refused_by_both_and_an_empty_one_ends_the_read(slept):
    transport, sent = answers(page([{"n": 1}], "https://exchange.test.evil/adminapi"))
    assert failure(exchange, transport) == (200, "UnexpectedNextLink",
                                            "200 UnexpectedNextLink: Get-App: @odata.nextLink leaves https://exchange.test")
    assert len(sent) == 1
    for end in ("", None):
        transport, sent = answers((200, {}, {"value": [{"n": 1}], "@odata.nextLink": end}))
        assert (exchange(transport), beta(transport)) == (([{"n": 1}], 1), ([{"n": 1}], 1))


# -- answers that are not a page -------------------------------------------------------------

@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_never_followed_and_named_by_each_service(slept, status):
    transport, sent = answers((status, {"Location": "https://elsewhere.test/x"}, b""))
    tail = "redirected to https://elsewhere.test/x: redirects are never followed"
    assert failure(exchange, transport) == (status, "Redirect", f"{status} Redirect: Get-App: {tail}")
    assert failure(beta, transport) == (status, "Redirect", f"{status} Redirect: {tail}")
    transport, sent = answers((status, {}, b""))
    assert failure(beta, transport)[2] == f"{status} Redirect: redirected to (no Location): redirects are never followed"
    assert (len(sent), slept) == (1, [])


ERROR = {"code": "InternalServerError", "message": "outer", "details": [{"message": "detail"}],
         "innererror": {"internalException": {"message": "inner"}}}


@pytest.mark.parametrize("error, exchange_says, beta_says", [
    (ERROR, "detail", "outer"),
    ({**ERROR, "details": []}, "inner", "outer"),
    ({**ERROR, "details": [], "innererror": {}}, "outer", "outer"),
    ({"code": "InternalServerError"}, "Internal Server Error", "Internal Server Error"),
], ids=["details", "innererror", "message", "reason"])
def test_an_error_answer_is_read_where_each_service_puts_its_message(slept, error, exchange_says, beta_says):
    transport, sent = answers((500, {}, {"error": error}))
    assert failure(exchange, transport) == (500, "InternalServerError", f"500 InternalServerError: Get-App: {exchange_says}")
    assert failure(beta, transport) == (500, "InternalServerError", f"500 InternalServerError: {beta_says}")
    assert (len(sent), slept) == (2, [])  # a 500 is not resent


@pytest.mark.parametrize("body, code, exchange_says, beta_says", [
    ({"error": {**ERROR, "innererror": "boom"}}, "InternalServerError", "detail", "outer"),
    ({"error": {**ERROR, "details": [], "innererror": "boom"}}, "InternalServerError", "outer", "outer"),
    ({"error": {**ERROR, "details": [], "innererror": {"internalException": ["inner"]}}}, "InternalServerError", "outer", "outer"),
    ({"error": {**ERROR, "details": [], "innererror": {"internalException": {"message": 7}}}}, "InternalServerError",
     "outer", "outer"),
    ({"error": {**ERROR, "details": 5}}, "InternalServerError", "inner", "outer"),
    ({"error": {**ERROR, "details": {"message": "detail"}}}, "InternalServerError", "inner", "outer"),
    ({"error": {**ERROR, "details": ["detail", {"message": None}, {"message": ["x"]}, {"message": "second"}]}},
     "InternalServerError", "second", "outer"),
    ({"error": {"code": {"a": 1}, "message": ["outer"]}}, "", "Internal Server Error", "Internal Server Error"),
    ({"error": {"code": 500, "message": {"text": "outer"}}}, "", "Internal Server Error", "Internal Server Error"),
    ({"error": {"code": "Internal\nServerError", "message": "line one\r\n  line two"}}, "Internal ServerError",
     "line one line two", "line one line two"),
    ({"error": "the service is down"}, "", "the service is down", "the service is down"),
    ({"error": ["down"]}, "", "Internal Server Error", "Internal Server Error"),
    ({"error": 5}, "", "Internal Server Error", "Internal Server Error"),
    ([{"error": {"code": "X", "message": "y"}}], "", "Internal Server Error", "Internal Server Error"),
    ("down", "", "Internal Server Error", "Internal Server Error"),
    (b"[" * 100_000, "", "Internal Server Error", "Internal Server Error"),
], ids=["innererror-string", "innererror-string-no-details", "internalexception-list", "inner-message-number",
        "details-number", "details-object", "details-mixed", "code-object-message-list", "code-number-message-object",
        "multi-line", "error-string", "error-list", "error-number", "body-list", "body-string", "nested-too-deep"])
def test_a_badly_shaped_error_body_keeps_the_status_and_gives_one_line(slept, body, code, exchange_says, beta_says):
    """What is usable is taken, the rest skipped, the reason phrase last: never a Python exception."""
    transport, sent = answers((500, {}, body))
    head = f"500 {code}" if code else "500"
    assert failure(exchange, transport) == (500, code, f"{head}: Get-App: {exchange_says}")
    assert failure(beta, transport) == (500, code, f"{head}: {beta_says}")


def test_an_error_without_a_usable_message_or_reason_phrase_says_so(slept):
    transport, sent = answers((599, {}, {"error": {"code": "Odd", "message": ""}}))
    assert failure(exchange, transport) == (599, "Odd", "599 Odd: Get-App: no message")
    assert failure(beta, transport) == (599, "Odd", "599 Odd: no message")


@pytest.mark.parametrize("body, exchange_says", [
    (b"[" * 100_000, "Get-App: the body is not JSON"),
    (b'{"value": ' + b"[" * 100_000, "Get-App: the body is not JSON"),
], ids=["list", "value"])
def test_a_page_nested_past_what_the_parser_follows_is_malformed_not_a_recursion_error(slept, body, exchange_says):
    transport, sent = answers((200, {}, body))
    assert failure(exchange, transport) == (200, "MalformedResponse", f"200 MalformedResponse: {exchange_says}")
    assert failure(beta, transport) == (200, "MalformedResponse", "200 MalformedResponse: the body is not a Graph collection")


@pytest.mark.parametrize("status, permission", [(401, True), (403, True), (404, False)])
def test_an_error_answer_without_a_body(slept, status, permission):
    transport, _ = answers((status, {}, b""))
    with pytest.raises(ExchangeError) as raised:
        exchange(transport)
    reason = httpx.codes.get_reason_phrase(status)
    assert (raised.value.describe(), raised.value.permission) == (f"{status}: Get-App: {reason}", permission)
    assert failure(beta, transport) == (status, "", f"{status}: {reason}")


# -- what each request carries ---------------------------------------------------------------

def test_exchange_posts_the_same_body_with_one_request_id_per_page(slept):
    transport, sent = answers(throttled(429, "1"), page([{"n": 1}], f"{INVOKE}?$skiptoken=2"), page([{"n": 2}]))
    exchange(transport)
    body = {"CmdletInput": {"CmdletName": "Get-App", "Parameters": {"OrganizationApp": True}}}
    assert [(r.method, json.loads(r.content)) for r in sent] == [("POST", body)] * 3
    ids = [r.headers["client-request-id"] for r in sent]
    assert ids[0] == ids[1] != ids[2] and all(uuid.UUID(i).version == 4 for i in ids)  # a resend keeps its page's id
    for request in sent:
        assert {k: v for k, v in request.headers.items() if k not in HTTPX_OWN | {"client-request-id"}} == {
            "authorization": f"Bearer sandbox.{TENANT}", "content-type": "application/json", "accept": "application/json",
            "prefer": "odata.maxpagesize=1000",
            "x-anchormailbox": f"APP:SystemMailbox{{bb558c35-97f1-4cb9-8ff7-d53741dc928c}}@{TENANT}"}


def test_graph_beta_gets_with_the_token_and_accept_only(slept):
    transport, sent = answers(throttled(503), page([{"n": 1}], f"{BETA}{CONNECTORS}?p=2"), page([]))
    beta(transport)
    assert [(r.method, r.content) for r in sent] == [("GET", b"")] * 3
    for request in sent:
        assert {k: v for k, v in request.headers.items() if k not in HTTPX_OWN} == {
            "authorization": f"Bearer sandbox.{TENANT}", "accept": "application/json"}


def test_exchange_asks_for_its_token_once_per_client_and_beta_once_per_collection(slept):
    asked: list[str] = []

    async def tokens() -> str:
        asked.append("exchange")
        return f"sandbox.{TENANT}"

    class Credential:
        def get_token(self, *scopes: str):
            asked.append(" ".join(scopes))
            return type("AccessToken", (), {"token": "graph-token"})()

    transport, sent = answers(page([{"n": 1}], f"{INVOKE}?p=2"), page([]))
    assert exchange(transport, tokens=tokens, calls=2)[1] == 3  # two pages, then one for the second call
    transport, sent = answers(page([{"n": 1}], f"{BETA}{CONNECTORS}?p=2"), page([]))
    assert beta(transport, credential=Credential(), paths=(CONNECTORS, CONNECTORS))[1] == 3
    assert asked == ["exchange", "https://graph.microsoft.com/.default", "https://graph.microsoft.com/.default"]
    assert {r.headers["authorization"] for r in sent} == {"Bearer graph-token"}


def test_errors_describe_themselves_alike_and_redacted():
    for error in (ExchangeError, BetaError):
        assert error(0, "NoResponse", "ConnectError: refused").describe() == "NoResponse: ConnectError: refused"
        assert error(404, "", "gone").describe() == "404: gone"
        assert error(0, "", "only this").describe() == "only this"
        assert str(error(401, "Unauthorized", "Bearer eyJhbGciOi.eyJ0aWQiOi.c2ln")) == "401 Unauthorized: Bearer [redacted]"
    assert ExchangeError(403, "", "x").permission is False and ExchangeError(403, "", "x", permission=True).permission


# -- what may be sent twice: a read always; a change only when it cannot have been carried out ----


def _deploy(transport):
    """One New-App (a change) through the Exchange client."""
    async def go():
        async with httpx.AsyncClient(transport=transport) as http:
            client = ExchangeClient(TENANT, token_source(TENANT, sandbox=True), base_url="https://exchange.test", http=http)
            return await client.invoke("New-App", {"OrganizationApp": True, "FileData": "x"}), client.requests

    return asyncio.run(go())


@pytest.mark.parametrize("first, outcome", [
    (httpx.ReadTimeout("timed out"), "NoResponse: New-App: ReadTimeout: timed out"),
    (httpx.RemoteProtocolError("Server disconnected"), "NoResponse: New-App: RemoteProtocolError: Server disconnected"),
    ((503, {}, {"error": {"code": "ServerBusy", "message": "busy"}}), "503 ServerBusy: New-App: busy"),
    ((504, {}, {"error": {"code": "GatewayTimeout", "message": "late"}}), "504 GatewayTimeout: New-App: late"),
], ids=["read-timeout", "dropped", "503", "504"])
def test_a_change_that_may_have_run_is_not_sent_again(slept, first, outcome):
    """After a timeout, a dropped connection or a 503/504, New-App may have run: sent again, it
    would answer "already installed" for the app it had just installed."""
    transport, sent = answers(first, page([]))
    with pytest.raises(ExchangeError) as raised:
        _deploy(transport)
    assert (raised.value.describe(), len(sent), slept) == (outcome, 1, [])


@pytest.mark.parametrize("first", [throttled(429, "2"), DROPPED, httpx.ConnectTimeout("no connection")],
                         ids=["429", "connect-error", "connect-timeout"])
def test_a_change_that_cannot_have_run_is_sent_again(slept, first):
    """A 429 is answered before anything runs; a connection that never opened sent nothing."""
    transport, sent = answers(first, page([{"AppId": "a1"}]))
    assert _deploy(transport) == ([{"AppId": "a1"}], 2)
    assert len(sent) == 2 and len(slept) == 1


@pytest.mark.parametrize("first", [httpx.ReadTimeout("timed out"), (503, {}, {"error": {"code": "ServerBusy", "message": "busy"}})],
                         ids=["read-timeout", "503"])
def test_a_read_is_sent_again_whatever_failed(slept, first):
    transport, sent = answers(first, page([{"AppId": "a1"}]))
    assert exchange(transport) == ([{"AppId": "a1"}], 2)
    assert beta(transport) == ([{"AppId": "a1"}], 1)  # the last answer, again
