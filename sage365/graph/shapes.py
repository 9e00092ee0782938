"""Microsoft Graph's JSON as sage365 reads it: the one place that spells Graph's field names.

Each Struct mirrors one Graph resource with Graph's own property names (camelCase, as
on the wire) and only the properties the checks use; msgspec skips every other property
without building it. Decoding checks types as it goes: a body of another shape (a
missing `id`, `{"value": null}`, a string where an object belongs) raises
`msgspec.ValidationError` naming the JSON path (`$.value[0].id`), which the reader turns
into an `error` finding naming the request, never into data.

Why msgspec and not msgraph-sdk's models: the SDK builds every object through kiota's
parse nodes and a backing store, about 1 ms of CPU per object, which made a fleet's audit
CPU-bound; msgspec decodes these bodies into typed objects in C, in one pass.
Identifiers are required (`id: str`) where the checks key on them; everything else may
be absent or null, as Graph omits or nulls properties freely.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import msgspec
from msgspec import Raw, Struct, field

T = TypeVar("T")

ODATA_TYPE = "@odata.type"
NEXT_LINK = "@odata.nextLink"
USER_TYPE = "#microsoft.graph.user"
GROUP_TYPE = "#microsoft.graph.group"

# $select lists for the requests that support it: exactly the fields declared below.
# usageLocation: Graph refuses to assign a licence without it (the Pulumi gate checks it).
USER_SELECT = "id,userPrincipalName,displayName,accountEnabled,usageLocation"
MEMBER_SELECT = "id,userPrincipalName,displayName,accountEnabled"
# The declared add-in users: their addresses too, as Exchange's Get-App may list a user by
# an SMTP address rather than the UPN (addin.deployment matches either).
ADDIN_USER_SELECT = MEMBER_SELECT + ",mail,proxyAddresses"
SERVICE_PRINCIPAL_SELECT = "id,appId,displayName,accountEnabled,appRoleAssignmentRequired,appRoles"
ORGANIZATION_SELECT = "id,displayName,verifiedDomains"


class Page(Struct, Generic[T]):
    """A collection response: one page of `value` and, when more follow, the next page's URL."""

    value: list[T]
    next_link: str | None = field(name=NEXT_LINK, default=None)


class ErrorDetail(Struct):
    code: str | None = None
    message: str | None = None


class ErrorBody(Struct):
    """Graph's error body: {"error": {"code": ..., "message": ...}}."""

    error: ErrorDetail


class VerifiedDomain(Struct):
    name: str | None = None


class Organization(Struct):
    id: str
    displayName: str | None = None
    verifiedDomains: list[VerifiedDomain] | None = None


class User(Struct):
    id: str
    userPrincipalName: str | None = None
    displayName: str | None = None
    # Graph returns accountEnabled only when selected (the administrator's read selects it).
    accountEnabled: bool | None = None
    usageLocation: str | None = None  # an ISO 3166 country code, or null when never set
    mail: str | None = None  # selected for the declared add-in users only
    proxyAddresses: list[str] | None = None  # "SMTP:primary", "smtp:alias", "X500:..."; the same


class DirectoryObject(Struct):
    """A member or a role assignment's principal: a user, a group, a device, a service principal..."""

    id: str
    odata_type: str | None = field(name=ODATA_TYPE, default=None)
    userPrincipalName: str | None = None
    displayName: str | None = None
    accountEnabled: bool | None = None


class ServicePlanInfo(Struct):
    servicePlanId: str | None = None
    servicePlanName: str | None = None
    provisioningStatus: str | None = None


class LicenseDetails(Struct):
    skuId: str
    skuPartNumber: str | None = None
    servicePlans: list[ServicePlanInfo] | None = None


class LicenseUnitsDetail(Struct):
    enabled: int | None = None


class SubscribedSku(Struct):
    skuId: str
    skuPartNumber: str | None = None
    capabilityStatus: str | None = None
    consumedUnits: int | None = None
    prepaidUnits: LicenseUnitsDetail | None = None
    servicePlans: list[ServicePlanInfo] | None = None


class AppRole(Struct):
    id: str
    value: str | None = None
    allowedMemberTypes: list[str] | None = None


class ServicePrincipal(Struct):
    id: str
    appId: str | None = None
    displayName: str | None = None
    accountEnabled: bool | None = None
    appRoleAssignmentRequired: bool | None = None
    appRoles: list[AppRole] | None = None


class OAuth2PermissionGrant(Struct):
    id: str
    clientId: str
    resourceId: str
    consentType: str | None = None
    principalId: str | None = None
    scope: str | None = None  # space-separated scope values


class AppRoleAssignment(Struct):
    id: str
    principalId: str
    resourceId: str
    appRoleId: str
    principalType: str | None = None


class UnifiedRoleAssignment(Struct):
    id: str
    principalId: str | None = None
    directoryScopeId: str | None = None
    principal: DirectoryObject | None = None  # with $expand=principal


class Group(Struct):
    id: str
    displayName: str | None = None
    securityEnabled: bool | None = None
    members: list[DirectoryObject] | None = None  # with $expand=members (at most 20)


class BatchItem(Struct):
    """One response inside a $batch response; `body` is kept undecoded until its request's shape is known."""

    id: str
    status: int
    headers: dict[str, Any] | None = None
    body: Raw = Raw()


class BatchEnvelope(Struct):
    responses: list[BatchItem]


_decoders: dict[Any, msgspec.json.Decoder] = {}


def decoder(shape: Any) -> msgspec.json.Decoder:
    """A cached decoder for `shape` (a Struct, or Page[Struct])."""
    found = _decoders.get(shape)
    if found is None:
        found = _decoders[shape] = msgspec.json.Decoder(shape)
    return found


def decode(data: bytes | Raw, shape: Any) -> Any:
    """`data` decoded as `shape`; raises msgspec.DecodeError (ValidationError for a wrong shape)."""
    return decoder(shape).decode(data)


def error_of(data: bytes | Raw) -> tuple[str, str] | None:
    """(code, message) when `data` is a Graph error body, else None."""
    if not data:
        return None
    try:
        error = decode(data, ErrorBody).error
    except msgspec.DecodeError:
        return None
    return error.code or "", error.message or ""
