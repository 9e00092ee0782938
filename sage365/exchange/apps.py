"""Centralized Deployment's four cmdlets, and Get-App's output mapped to OrganizationApp.

Parameter names are the cmdlets' own (New-App, Set-App, Get-App, Remove-App in
Microsoft's Exchange PowerShell reference); switches are sent as `true`. Get-App's
properties read here: AppId, DisplayName, AppVersion, Enabled, DefaultStateForUser,
ProvidedTo, UserList.
"""

from __future__ import annotations

import base64
from typing import Any, Sequence

from sage365.exchange.client import ExchangeClient
from sage365.graph.rest import json_type
from sage365.manifest import Manifest
from sage365.snapshot import OrganizationApp

DEFAULT_STATES = ("Enabled", "Disabled", "AlwaysEnabled")
PROVIDED_TO = ("Everyone", "SpecificUsers")


def app_from_json(obj: dict[str, Any]) -> OrganizationApp:
    """Get-App's object as an OrganizationApp. What cannot be read is never guessed: a
    missing or non-boolean Enabled reads as not enabled, and `problem` says why, so a
    truncated answer can never pass addin.deployment."""
    problems: list[str] = []
    enabled = obj.get("Enabled")
    if not isinstance(enabled, bool):
        problems.append("no Enabled" if "Enabled" not in obj else f"Enabled is {json_type(enabled)}, not a boolean")
    raw_provided = obj.get("ProvidedTo")
    provided = next((p for p in PROVIDED_TO if isinstance(raw_provided, str) and raw_provided.casefold() == p.casefold()), None)
    if provided is None:
        problems.append("no ProvidedTo" if "ProvidedTo" not in obj or raw_provided in (None, "")
                        else f"ProvidedTo is not Everyone or SpecificUsers ({json_type(raw_provided)})")
    users = obj.get("UserList")
    if users is None:
        users = []
    elif isinstance(users, str):  # a single value may come back unwrapped
        users = [u for u in users.split(",") if u.strip()]
    if not isinstance(users, list) or not all(isinstance(u, str) for u in users):
        problems.append(f"UserList is {json_type(users)}" if not isinstance(users, list)
                        else "UserList holds entries that are not strings")
        users = []
    return OrganizationApp(
        app_id=str(obj.get("AppId") or "").lower(),
        display_name=str(obj.get("DisplayName") or ""),
        version=str(obj.get("AppVersion") or ""),
        enabled=enabled is True,
        default_state=str(obj.get("DefaultStateForUser") or ""),
        provided_to=provided or "",
        user_list=tuple(u.strip() for u in users),
        problem="; ".join(problems),
    )


async def organization_apps(client: ExchangeClient) -> dict[str, OrganizationApp]:
    """Every organization app of the tenant, by AppId (one call, paged)."""
    apps = [app_from_json(o) for o in await client.invoke("Get-App", {"OrganizationApp": True})]
    return {a.app_id: a for a in apps if a.app_id}


def _assignment(users: Sequence[str], enabled: bool, default_state: str) -> dict[str, Any]:
    if default_state not in DEFAULT_STATES:
        raise ValueError(f"DefaultStateForUser must be one of {', '.join(DEFAULT_STATES)}, not {default_state!r}")
    return {"ProvidedTo": "SpecificUsers", "UserList": list(users), "Enabled": enabled,
            "DefaultStateForUser": default_state}


async def new_app(client: ExchangeClient, manifest: Manifest, users: Sequence[str], *, enabled: bool = True,
                  default_state: str = "Enabled") -> None:
    """Deploy (or, for an app already there, upgrade) the manifest to exactly `users`.
    FileData is the manifest's bytes, base64-encoded as .NET serialises a Byte[] in JSON."""
    parameters = {"OrganizationApp": True, "FileData": base64.b64encode(manifest.data).decode("ascii"),
                  **_assignment(users, enabled, default_state)}
    await client.invoke("New-App", parameters)


async def set_app(client: ExchangeClient, app_id: str, users: Sequence[str], *, enabled: bool = True,
                  default_state: str = "Enabled") -> None:
    await client.invoke("Set-App", {"OrganizationApp": True, "Identity": app_id,
                                    **_assignment(users, enabled, default_state)})


async def remove_app(client: ExchangeClient, app_id: str) -> None:
    await client.invoke("Remove-App", {"OrganizationApp": True, "Identity": app_id, "Confirm": False})
