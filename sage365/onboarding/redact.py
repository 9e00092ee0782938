"""Stable pseudonyms for a snapshot: people and names go, ids and structure stay.

Pseudonyms are numbered in a fixed order (tenants by id, objects by id), never derived
from the names themselves: a hash of a UPN could be confirmed by guessing the name, a
counter cannot. The same input snapshot therefore always gives the same pseudonyms.
Domains map consistently (every UPN and mail address on contoso.fr gets the same
pseudonym domain); the initial `*.onmicrosoft.com` domain keeps that suffix, so which
domain is custom survives. A guest's `#EXT#` UPN stays a guest's UPN.

Connectors keep their ids, status and version; machine names become `serverN`.

What is kept: object ids, SKU and service plan ids and names, app ids, scopes, role
ids, statuses and every relation between objects, which is all that the checks read,
so drift on the redacted snapshot gives the same findings as on the original.
"""

from __future__ import annotations

from typing import Iterable

ONMICROSOFT = ".onmicrosoft.com"


class Pseudonyms:
    def __init__(self, group_prefixes: Iterable[str] = ()) -> None:
        self.domains: dict[str, str] = {}
        self.users: dict[str, str] = {}  # user id -> pseudonym local part
        self.groups: dict[str, str] = {}  # display name casefolded -> pseudonym
        self.organizations: dict[str, str] = {}
        self.apps: dict[str, str] = {}
        self.machines: dict[str, str] = {}  # a connector's short machine name casefolded -> pseudonym
        # Longest first: "Sage Contact Pro" must win over "Sage Contact".
        self.prefixes = sorted({p for p in group_prefixes if p}, key=lambda p: (-len(p), p))

    def domain(self, name: str) -> str:
        key = name.lower()
        if key not in self.domains:
            n = len(self.domains) + 1
            self.domains[key] = f"tenant{n}{ONMICROSOFT}" if key.endswith(ONMICROSOFT) else f"domain{n}.example"
        return self.domains[key]

    def user(self, user_id: str, upn: str) -> str:
        """The pseudonym UPN of a user (by id, so a renamed UPN keeps its pseudonym within one snapshot)."""
        if user_id not in self.users:
            n = len(self.users) + 1
            local = upn.rsplit("@", 1)[0]
            self.users[user_id] = f"guest{n}#EXT#" if "#EXT#" in local.upper() else f"user{n}"
        return self.address(user_id, upn)

    def address(self, user_id: str, address: str) -> str:
        """A UPN or mail address of the user `user_id`: their pseudonym at the mapped domain."""
        domain = address.rsplit("@", 1)[1] if "@" in address else "unknown.example"
        return f"{self.users[user_id]}@{self.domain(domain)}"

    def display_name(self, user_id: str) -> str:
        return "User " + self.users[user_id].split("#", 1)[0].removeprefix("user").removeprefix("guest")

    def group(self, name: str) -> str:
        """A group's pseudonym; an add-in naming convention's prefix is kept so export still finds it."""
        key = name.casefold()
        if key not in self.groups:
            n = len(self.groups) + 1
            prefix = next((p for p in self.prefixes if key.startswith(p.casefold())), None)
            self.groups[key] = f"{prefix} (group {n})" if prefix else f"Group {n}"
        return self.groups[key]

    def organization(self, tenant_id: str) -> str:
        if tenant_id not in self.organizations:
            self.organizations[tenant_id] = f"Organization {len(self.organizations) + 1}"
        return self.organizations[tenant_id]

    def app(self, app_id: str) -> str:
        if app_id not in self.apps:
            self.apps[app_id] = f"Application {len(self.apps) + 1}"
        return self.apps[app_id]

    def machine(self, name: str) -> str:
        """A connector's machine pseudonym: `serverN`, the same for every FQDN with one first label
        (connector.status matches a declared name against that label), and for every tenant."""
        key = name.split(".", 1)[0].casefold()
        if key not in self.machines:
            self.machines[key] = f"server{len(self.machines) + 1}"
        return self.machines[key]
