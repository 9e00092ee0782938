"""The few GitHub calls the workflows need, over httpx: issues, labels, the Actions OIDC token.

GitHub's REST API (X-GitHub-Api-Version 2022-11-28) at GITHUB_API_URL, with the job's
GITHUB_TOKEN. No SDK: the issues endpoints used here are four, and PyGithub would add a
large dependency for them. Errors are GitHubError with GitHub's own message, never the
token.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from sage365.drift_issues import LABEL, Action, Issue

API_VERSION = "2022-11-28"
TIMEOUT = httpx.Timeout(30.0)


class GitHubError(Exception):
    pass


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = {}
    detail = body.get("message") if isinstance(body, dict) else None
    return f"HTTP {response.status_code}" + (f": {detail}" if detail else "")


class IssuesClient:
    """Issues of one repository (owner/name)."""

    def __init__(self, api_url: str, repository: str, token: str, *, transport: httpx.BaseTransport | None = None) -> None:
        if repository.count("/") != 1:
            raise GitHubError(f"repository {repository!r}: expected owner/name")
        self.repository = repository
        self._client = httpx.Client(
            base_url=api_url.rstrip("/"), timeout=TIMEOUT, transport=transport,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
                     "X-GitHub-Api-Version": API_VERSION, "User-Agent": "sage365"},
        )

    def close(self) -> None:
        self._client.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise GitHubError(f"{method} {path}: {type(exc).__name__}: {exc}") from None
        if response.status_code >= 400:
            raise GitHubError(f"{method} {path}: {_message(response)}")
        return response

    def _repo(self, suffix: str) -> str:
        owner, name = self.repository.split("/")
        return f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}{suffix}"

    def ensure_label(self) -> None:
        """Create LABEL if the repository lacks it: listing relies on it."""
        try:
            self._call("GET", self._repo(f"/labels/{LABEL}"))
        except GitHubError as exc:
            if "HTTP 404" not in str(exc):
                raise
            self._call("POST", self._repo("/labels"), json={
                "name": LABEL, "color": "d93f0b", "description": "A tenant out of line with its declaration (sage365 nightly)"})

    def labelled_issues(self) -> list[Issue]:
        """Every issue (open and closed) with LABEL, following the pagination links."""
        issues: list[Issue] = []
        url: str | None = self._repo("/issues")
        params: dict[str, Any] | None = {"labels": LABEL, "state": "all", "per_page": 100}
        while url:
            response = self._call("GET", url, params=params)
            for item in response.json():
                if "pull_request" not in item:  # this endpoint lists pull requests too
                    issues.append(Issue(item["number"], item["state"], item.get("title") or "", item.get("body") or ""))
            url = response.links.get("next", {}).get("url")
            params = None  # the next link carries them
        return issues

    def apply(self, action: Action) -> int:
        """Make one planned change; returns the issue number."""
        if action.kind == "open":
            response = self._call("POST", self._repo("/issues"),
                                  json={"title": action.title, "body": action.body, "labels": [LABEL]})
            return int(response.json()["number"])
        assert action.number is not None
        fields: dict[str, Any] = {}
        if action.kind in ("update", "reopen"):
            fields = {"title": action.title, "body": action.body}
        if action.kind == "reopen":
            fields["state"] = "open"
        if action.comment:
            self._call("POST", self._repo(f"/issues/{action.number}/comments"), json={"body": action.comment})
        if action.kind == "close":
            fields = {"state": "closed", "state_reason": "completed"}
        self._call("PATCH", self._repo(f"/issues/{action.number}"), json=fields)
        return action.number


def fetch_oidc_token(request_url: str, request_token: str, audience: str,
                     *, transport: httpx.BaseTransport | None = None) -> str:
    """The job's OIDC token from GitHub Actions (needs `permissions: id-token: write`)."""
    try:
        with httpx.Client(timeout=TIMEOUT, transport=transport) as client:
            # The request URL carries its own query (api-version): add to it, do not replace it.
            url = httpx.URL(request_url).copy_merge_params({"audience": audience})
            response = client.get(url, headers={"Authorization": f"Bearer {request_token}"})
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise GitHubError(f"OIDC token request: {type(exc).__name__}") from None
    if response.status_code != 200:
        raise GitHubError(f"OIDC token request: {_message(response)}")
    try:
        value = response.json()["value"]
    except (ValueError, KeyError, TypeError):
        raise GitHubError("OIDC token request: the answer has no token (value)") from None
    if not isinstance(value, str) or not value:
        raise GitHubError("OIDC token request: the answer has no token (value)")
    return value
