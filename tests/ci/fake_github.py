"""A small stand-in for GitHub's REST API (issues, labels, comments) and the Actions OIDC
token endpoint, over real HTTP on 127.0.0.1, in GitHub's JSON shapes and pagination
(Link headers). It keeps what was asked so tests can assert exact requests.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

TOKEN = "ghs_test_token"
OIDC_REQUEST_TOKEN = "oidc-request-token"
OIDC_VALUE = "eyJ0eXAiOiJKV1QifQ.payload.signature"
REPO = "/repos/partner/fleet"


@dataclass
class State:
    issues: dict[int, dict] = field(default_factory=dict)
    comments: list[tuple[int, str]] = field(default_factory=list)
    labels: set[str] = field(default_factory=set)
    requests: list[tuple[str, str]] = field(default_factory=list)
    per_page_cap: int = 100
    next_number: int = 1
    # None: the OIDC endpoint answers OIDC_VALUE; a number: a JWT living that many seconds
    # (GitHub's live 300 s) from `clock`, numbered in its jti ("id-1", "id-2", ...).
    oidc_lifetime: int | None = None
    clock: object = time.time
    oidc_issued: list[str] = field(default_factory=list)

    def id_token(self) -> str:
        now = int(self.clock())
        claims = {"iss": "https://token.actions.githubusercontent.com", "aud": "api://AzureADTokenExchange",
                  "sub": "repo:partner/fleet:environment:sage365-read", "jti": f"id-{len(self.oidc_issued) + 1}",
                  "nbf": now - 5, "iat": now, "exp": now + self.oidc_lifetime}
        part = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()  # noqa: E731
        token = f"{part({'typ': 'JWT', 'alg': 'RS256'})}.{part(claims)}.c2lnbmF0dXJl"
        self.oidc_issued.append(token)
        return token

    def add_issue(self, title: str, body: str, labels: list[str], state: str = "open", pull_request: bool = False) -> int:
        number = self.next_number
        self.next_number += 1
        issue = {"number": number, "title": title, "body": body, "state": state,
                 "labels": [{"name": n} for n in labels], "user": {"login": "github-actions[bot]"}}
        if pull_request:
            issue["pull_request"] = {"url": f"https://api.github.com{REPO}/pulls/{number}"}
        self.issues[number] = issue
        return number


class FakeGitHub:
    def __init__(self) -> None:
        self.state = State()
        state = self.state

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _send(self, status: int, body, headers: dict | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def _body(self) -> dict:
                length = int(self.headers.get("Content-Length") or 0)
                return json.loads(self.rfile.read(length) or b"{}")

            def _handle(self, method: str) -> None:
                url = urlsplit(self.path)
                query = parse_qs(url.query)
                state.requests.append((method, self.path))
                if url.path == "/oidc":
                    if self.headers.get("Authorization") != f"Bearer {OIDC_REQUEST_TOKEN}":
                        return self._send(401, {"message": "Bad credentials"})
                    if query.get("audience") != ["api://AzureADTokenExchange"] or query.get("api-version") != ["2.0"]:
                        return self._send(400, {"message": f"bad query {url.query}"})
                    value = OIDC_VALUE if state.oidc_lifetime is None else state.id_token()
                    return self._send(200, {"count": 1, "value": value})
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    return self._send(401, {"message": "Bad credentials"})
                if self.headers.get("X-GitHub-Api-Version") != "2022-11-28":
                    return self._send(400, {"message": "missing API version"})
                path = url.path
                if not path.startswith(REPO):
                    return self._send(404, {"message": "Not Found"})
                rest = path[len(REPO):]
                if method == "GET" and rest.startswith("/labels/"):
                    name = rest[len("/labels/"):]
                    return self._send(200, {"name": name}) if name in state.labels else self._send(404, {"message": "Not Found"})
                if method == "POST" and rest == "/labels":
                    state.labels.add(self._body()["name"])
                    return self._send(201, {})
                if method == "GET" and rest == "/issues":
                    label = query.get("labels", [""])[0]
                    wanted = query.get("state", ["open"])[0]
                    per_page = min(int(query.get("per_page", ["30"])[0]), state.per_page_cap)
                    page = int(query.get("page", ["1"])[0])
                    items = [i for _, i in sorted(state.issues.items(), reverse=True)
                             if (not label or label in [x["name"] for x in i["labels"]])
                             and (wanted == "all" or i["state"] == wanted)]
                    chunk = items[(page - 1) * per_page: page * per_page]
                    headers = {}
                    if page * per_page < len(items):
                        host = self.headers["Host"]
                        headers["Link"] = (f'<http://{host}{REPO}/issues?labels={label}&state={wanted}&per_page={per_page}'
                                           f'&page={page + 1}>; rel="next"')
                    return self._send(200, chunk, headers)
                if method == "POST" and rest == "/issues":
                    body = self._body()
                    number = state.add_issue(body["title"], body["body"], body.get("labels", []))
                    return self._send(201, state.issues[number])
                parts = rest.split("/")
                if len(parts) >= 3 and parts[1] == "issues" and parts[2].isdigit():
                    number = int(parts[2])
                    if number not in state.issues:
                        return self._send(404, {"message": "Not Found"})
                    if method == "PATCH" and len(parts) == 3:
                        body = self._body()
                        state.issues[number].update({k: v for k, v in body.items() if k in ("title", "body", "state")})
                        return self._send(200, state.issues[number])
                    if method == "POST" and parts[3:] == ["comments"]:
                        state.comments.append((number, self._body()["body"]))
                        return self._send(201, {})
                return self._send(404, {"message": "Not Found"})

            def do_GET(self):
                self._handle("GET")

            def do_POST(self):
                self._handle("POST")

            def do_PATCH(self):
                self._handle("PATCH")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "FakeGitHub":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
