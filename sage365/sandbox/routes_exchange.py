"""Exchange Online's admin REST endpoint, for Centralized Deployment's four cmdlets.

`POST /adminapi/beta/{tenantId}/InvokeCommand` with `{"CmdletInput": {"CmdletName",
"Parameters"}}`, answered `{"@odata.context", "value": [...]}` in Get-App's output shape,
paged with an absolute `@odata.nextLink` (POSTed again with the same body; page size the
smaller of `Prefer: odata.maxpagesize` and the sandbox's). Errors carry Exchange's shape:
`{"error": {"code", "message", "details": [{"code", "message"}], "innererror"}}`.

Tenancy: the token's tenant must be the URL's (another tenant's token: 403; no or an
unknown token: 401); `exchangeDenied: true` in the state answers 403, as Exchange does for
an identity without Exchange.ManageAsApp or an Exchange administrator role.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from sage365.manifest import ManifestError, parse_manifest, reported_version_key, version_key
from sage365.sandbox.errors import GraphError
from sage365.sandbox.router import Response
from sage365.sandbox.state import Obj, State, Tenant

PATH = re.compile(r"^/adminapi/beta/(?P<tenant>[^/]+)/InvokeCommand$")
ENDPOINT = "POST /adminapi/beta/{tenantId}/InvokeCommand"
_PARAMETERS = {
    "Get-App": {"OrganizationApp", "Identity"},
    "New-App": {"OrganizationApp", "FileData", "ProvidedTo", "UserList", "Enabled", "DefaultStateForUser"},
    "Set-App": {"OrganizationApp", "Identity", "ProvidedTo", "UserList", "Enabled", "DefaultStateForUser"},
    "Remove-App": {"OrganizationApp", "Identity", "Confirm"},
}
_PROVIDED_TO = ("Everyone", "SpecificUsers")
_DEFAULT_STATES = ("Enabled", "Disabled", "AlwaysEnabled")


class ExchangeFault(GraphError):
    """An error in Exchange's shape (GraphError's status and headers, its own body)."""

    def __init__(self, status: int, code: str, message: str, exception: str = "", headers: dict | None = None) -> None:
        super().__init__(status, code, message, headers)
        self.exception = exception

    def body(self, request_id: str | None = None) -> dict[str, Any]:
        return exchange_error(self.status, self.code, self.message, self.exception)


def exchange_error(status: int, code: str, message: str, exception: str = "") -> dict[str, Any]:
    full = f"|{exception}|{message}" if exception else message
    return {"error": {"code": code, "message": full,
                      "details": [{"code": "Context", "message": message, "target": ""}],
                      "innererror": {"message": full, "type": "Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
                                     "internalexception": {"message": message, "type": exception or code}}}}


def _bad(message: str, exception: str = "Microsoft.Exchange.Management.Tasks.ParameterBindingException") -> ExchangeFault:
    return ExchangeFault(400, "BadRequest", message, exception)


def _not_found(identity: str) -> ExchangeFault:
    return ExchangeFault(404, "NotFound", f"The operation couldn't be performed because object '{identity}' couldn't be found.",
                         "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException")


def authorize(state: State, url_tenant: str, token_tenant: str | None, authorization: str | None) -> Tenant:
    if not authorization:
        raise ExchangeFault(401, "Unauthorized", "Access token is missing.")
    if token_tenant is None or token_tenant not in state.tenants:
        raise ExchangeFault(401, "Unauthorized", "The access token is invalid or is not for a known tenant.")
    if token_tenant != url_tenant.lower():
        raise ExchangeFault(403, "Forbidden", "The token's tenant does not match the organization in the request URL.")
    tenant = state.tenants[token_tenant]
    if tenant.exchangeDenied:
        raise ExchangeFault(403, "Forbidden", "The caller doesn't have the permissions to run this cmdlet: it needs "
                            "Exchange.ManageAsApp and an Exchange administrator role.")
    return tenant


def invoke(tenant: Tenant, body: bytes, *, url: str, params: dict[str, str], prefer: str | None,
           page_size: int, context: str) -> Response:
    try:
        data = json.loads(body or b"")
        cmdlet_input = data["CmdletInput"]
        cmdlet, parameters = cmdlet_input["CmdletName"], cmdlet_input.get("Parameters") or {}
    except (ValueError, TypeError, KeyError):
        raise _bad("The request body must be {\"CmdletInput\": {\"CmdletName\": ..., \"Parameters\": {...}}}.") from None
    if not isinstance(parameters, dict) or not isinstance(cmdlet, str):
        raise _bad("CmdletInput.Parameters must be an object.")
    allowed = _PARAMETERS.get(cmdlet)
    if allowed is None:
        raise ExchangeFault(400, "BadRequest", f"The term '{cmdlet}' is not recognized as a cmdlet served by this sandbox.",
                            "System.Management.Automation.CommandNotFoundException")
    unknown = sorted(set(parameters) - allowed)
    if unknown:
        raise _bad(f"A parameter cannot be found that matches parameter name '{unknown[0]}'.")
    if parameters.get("OrganizationApp") is not True:
        raise _bad("The sandbox serves organization apps only: pass OrganizationApp: true.")
    items = globals()["_" + cmdlet.replace("-", "_").lower()](tenant, parameters)
    return _page(items, url=url, params=params, prefer=prefer, page_size=page_size, context=context)


def _page(items: list[Obj], *, url: str, params: dict[str, str], prefer: str | None, page_size: int,
          context: str) -> Response:
    size = page_size
    match = re.search(r"odata\.maxpagesize\s*=\s*(\d+)", prefer or "")
    if match:
        size = max(1, min(size, int(match.group(1))))
    try:
        start = int(params.get("$skiptoken", "0"))
    except ValueError:
        raise _bad("Invalid $skiptoken.") from None
    body: dict[str, Any] = {"@odata.context": context, "value": items[start:start + size]}
    if start + size < len(items):
        body["@odata.nextLink"] = f"{url}?$skiptoken={start + size}"
    return Response(200, body)


def _identity(tenant: Tenant, parameters: dict[str, Any]) -> Obj:
    identity = parameters.get("Identity")
    if not isinstance(identity, str) or not identity:
        raise _bad("Identity is required.")
    app = tenant.organizationApps.get(identity.lower())
    if app is None:
        raise _not_found(identity)
    return app


def _get_app(tenant: Tenant, parameters: dict[str, Any]) -> list[Obj]:
    if "Identity" in parameters:
        return [dict(_identity(tenant, parameters))]
    return [dict(a) for a in tenant.organizationApps.values()]


def _assignment(tenant: Tenant, parameters: dict[str, Any], app: Obj) -> None:
    """Apply ProvidedTo, UserList, Enabled, DefaultStateForUser as the cmdlets validate them."""
    if "ProvidedTo" in parameters:
        if parameters["ProvidedTo"] not in _PROVIDED_TO:
            raise _bad(f"Cannot process argument transformation on parameter 'ProvidedTo'. Valid values: {', '.join(_PROVIDED_TO)}.")
        app["ProvidedTo"] = parameters["ProvidedTo"]
    if "DefaultStateForUser" in parameters:
        if parameters["DefaultStateForUser"] not in _DEFAULT_STATES:
            raise _bad(f"Cannot process argument transformation on parameter 'DefaultStateForUser'. Valid values: {', '.join(_DEFAULT_STATES)}.")
        app["DefaultStateForUser"] = parameters["DefaultStateForUser"]
    if "Enabled" in parameters:
        if not isinstance(parameters["Enabled"], bool):
            raise _bad("Cannot process argument transformation on parameter 'Enabled': expected $true or $false.")
        app["Enabled"] = parameters["Enabled"]
    if "UserList" in parameters:
        users = parameters["UserList"]
        users = [users] if isinstance(users, str) else users
        if not isinstance(users, list) or not all(isinstance(u, str) for u in users):
            raise _bad("UserList must be a list of users.")
        resolved = []
        for value in users:
            user = tenant.user(value) or next((u for u in tenant.users.values()
                                               if str(u.get("mail", "")).lower() == value.lower()), None)
            if user is None:  # UserList takes mailboxes or mail users of the organization
                raise _not_found(value)
            resolved.append(user["userPrincipalName"])
        app["UserList"] = list(dict.fromkeys(resolved))
    if app.get("ProvidedTo") == "SpecificUsers" and not app.get("UserList"):
        raise _bad("ProvidedTo SpecificUsers needs a UserList.", "Microsoft.Exchange.Data.DataValidationException")


def _new_app(tenant: Tenant, parameters: dict[str, Any]) -> list[Obj]:
    raw = parameters.get("FileData")
    if not isinstance(raw, str):
        raise _bad("The sandbox installs apps from FileData only (the manifest's bytes, base64).")
    try:
        manifest = parse_manifest(base64.b64decode(raw, validate=True), "FileData")
    except (binascii.Error, ValueError) as exc:
        message = str(exc) if isinstance(exc, ManifestError) else "FileData is not base64."
        raise ExchangeFault(400, "BadRequest", f"The app couldn't be installed: the manifest is invalid: {message}",
                            "Microsoft.Exchange.WebServices.Data.ServiceResponseException") from None
    existing = tenant.organizationApps.get(manifest.id)
    # Exchange upgrades an installed app only to a newer manifest version. An installed
    # AppVersion that is no dotted version (a state edited by hand) is not known to be older,
    # so New-App is refused as for the same version: a client must never rely on it going through.
    installed = reported_version_key(existing.get("AppVersion")) if existing is not None else None
    if existing is not None and (not installed or version_key(manifest.version) <= installed):
        raise ExchangeFault(400, "BadRequest", f"The app couldn't be installed. The app {manifest.id} is already "
                            f"installed at version {existing.get('AppVersion')}.",
                            "Microsoft.Exchange.Management.Tasks.AppAlreadyInstalledException")
    app = dict(existing) if existing is not None else {
        "AppId": manifest.id, "Enabled": True, "DefaultStateForUser": "Disabled", "ProvidedTo": "Everyone",
        "UserList": [], "Scope": "Organization", "Type": "Private"}
    app.update({"DisplayName": manifest.display_name, "AppVersion": manifest.version,
                "ProviderName": "", "Identity": manifest.id})
    _assignment(tenant, parameters, app)
    tenant.organizationApps[manifest.id] = app  # an existing app is upgraded in place
    return [dict(app)]


def _set_app(tenant: Tenant, parameters: dict[str, Any]) -> list[Obj]:
    app = dict(_identity(tenant, parameters))
    _assignment(tenant, parameters, app)
    tenant.organizationApps[app["AppId"]] = app
    return []


def _remove_app(tenant: Tenant, parameters: dict[str, Any]) -> list[Obj]:
    app = _identity(tenant, parameters)
    del tenant.organizationApps[app["AppId"]]
    return []
