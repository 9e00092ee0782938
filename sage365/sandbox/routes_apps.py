"""Consent endpoints: service principals, delegated grants and app role assignments.

A service principal is addressed by object id (`/servicePrincipals/{id}`) or by appId
(`/servicePrincipals(appId='...')`); both forms lead to the same handlers, counted under
distinct endpoint names.
"""

from __future__ import annotations

import copy

from sage365.sandbox.errors import GraphError, bad_request, existing, not_found
from sage365.sandbox.router import Request, Response, Router
from sage365.sandbox.routes_directory import _now, _opaque_id
from sage365.sandbox.state import Obj, new_id

SP_FORMS = ("/servicePrincipals/{id}", "/servicePrincipals(appId='{appId}')")
DEFAULT_APP_ROLE = "00000000-0000-0000-0000-000000000000"
PRINCIPAL_TYPES = {"user": "User", "group": "Group", "servicePrincipal": "ServicePrincipal"}
SP_WRITABLE = {"accountEnabled", "appRoleAssignmentRequired", "tags", "notes", "notificationEmailAddresses", "preferredSingleSignOnMode"}


def sp_of(req: Request) -> Obj:
    if "appId" in req.args and req.args["appId"] is not None:
        sp = req.tenant.service_principal_by_app_id(req.args["appId"])
        if sp is None:
            raise not_found(f"servicePrincipals(appId='{req.args['appId']}')")
        return sp
    sp = req.tenant.servicePrincipals.get(req.args["id"])
    if sp is None:
        raise not_found(req.args["id"])
    return sp


def _forms(suffix: str) -> tuple[str, ...]:
    return tuple(form + suffix for form in SP_FORMS)


def register(router: Router) -> None:
    @router.route("GET", "/servicePrincipals")
    def service_principals(req: Request) -> Response:
        return req.collection(list(req.tenant.servicePrincipals.values()), "servicePrincipals")

    @router.route("GET", *_forms(""))
    def service_principal(req: Request) -> Response:
        return req.entity(sp_of(req), "servicePrincipals/$entity")

    @router.route("POST", "/servicePrincipals")
    def create_service_principal(req: Request) -> Response:
        body = req.json()
        app_id = str(body.get("appId", "")).lower()
        app = req.state.applications.get(app_id)
        if app is None:
            raise bad_request(f"The appId '{body.get('appId', '')}' of the service principal does not reference a valid application object.")
        if req.tenant.service_principal_by_app_id(app_id) is not None:
            raise GraphError(409, "Request_MultipleObjectsWithSameKeyValue", "Another object with the same value for property servicePrincipalNames already exists.")
        sp = {
            "id": new_id(), "accountEnabled": True, "appRoleAssignmentRequired": False,
            "servicePrincipalType": "Application", "signInAudience": "AzureADMultipleOrgs",
            "servicePrincipalNames": [app["appId"]], "tags": [], **copy.deepcopy(app),
        }
        sp.update({k: v for k, v in body.items() if k in SP_WRITABLE})
        req.tenant.servicePrincipals[sp["id"]] = sp
        return req.entity(sp, "servicePrincipals/$entity", status=201)

    @router.route("PATCH", *_forms(""))
    def update_service_principal(req: Request) -> Response:
        sp = sp_of(req)
        body = req.json()
        unknown = set(body) - SP_WRITABLE
        if unknown:
            raise bad_request(f"Property '{sorted(unknown)[0]}' is read-only or not supported by the sandbox.", "BadRequest")
        sp.update(body)
        return Response(204)

    @router.route("DELETE", *_forms(""))
    def delete_service_principal(req: Request) -> Response:
        sp = sp_of(req)
        tenant = req.tenant
        del tenant.servicePrincipals[sp["id"]]
        # Graph removes the grants and assignments of a deleted service principal with it.
        for gid in [g["id"] for g in tenant.oauth2PermissionGrants.values() if sp["id"] in (g["clientId"], g["resourceId"])]:
            del tenant.oauth2PermissionGrants[gid]
        for aid in [a["id"] for a in tenant.appRoleAssignments.values() if sp["id"] in (a["principalId"], a["resourceId"])]:
            del tenant.appRoleAssignments[aid]
        return Response(204)

    # App role assignments: appRoleAssignedTo is the resource's view, appRoleAssignments the principal's.
    @router.route("GET", *_forms("/appRoleAssignedTo"))
    def assigned_to(req: Request) -> Response:
        sp = sp_of(req)
        items = [a for a in req.tenant.appRoleAssignments.values() if a["resourceId"] == sp["id"]]
        return req.collection(items, f"servicePrincipals('{sp['id']}')/appRoleAssignedTo")

    @router.route("GET", *_forms("/appRoleAssignments"))
    def assignments(req: Request) -> Response:
        sp = sp_of(req)
        items = [a for a in req.tenant.appRoleAssignments.values() if a["principalId"] == sp["id"]]
        return req.collection(items, f"servicePrincipals('{sp['id']}')/appRoleAssignments")

    @router.route("POST", *_forms("/appRoleAssignedTo"))
    def assign_to(req: Request) -> Response:
        sp = sp_of(req)
        assignment = _new_assignment(req, resource_side=sp)
        return req.entity(assignment, f"servicePrincipals('{sp['id']}')/appRoleAssignedTo/$entity", status=201)

    @router.route("POST", *_forms("/appRoleAssignments"))
    def assign(req: Request) -> Response:
        sp = sp_of(req)
        assignment = _new_assignment(req, principal_side=sp)
        return req.entity(assignment, f"servicePrincipals('{sp['id']}')/appRoleAssignments/$entity", status=201)

    def assignment_of(req: Request, side: str) -> tuple[Obj, Obj]:
        """The service principal and one of its assignments, seen from `side` (resourceId or principalId)."""
        sp = sp_of(req)
        found = req.tenant.appRoleAssignments.get(req.args["assignment"])
        if found is None or found[side] != sp["id"]:
            raise not_found(req.args["assignment"])
        return sp, found

    @router.route("GET", *_forms("/appRoleAssignedTo/{assignment}"))
    def assigned_to_item(req: Request) -> Response:
        sp, found = assignment_of(req, "resourceId")
        return req.entity(found, f"servicePrincipals('{sp['id']}')/appRoleAssignedTo/$entity")

    @router.route("DELETE", *_forms("/appRoleAssignedTo/{assignment}"))
    def unassign_to(req: Request) -> Response:
        del req.tenant.appRoleAssignments[assignment_of(req, "resourceId")[1]["id"]]
        return Response(204)

    @router.route("DELETE", *_forms("/appRoleAssignments/{assignment}"))
    def unassign(req: Request) -> Response:
        del req.tenant.appRoleAssignments[assignment_of(req, "principalId")[1]["id"]]
        return Response(204)

    # Delegated permission grants.
    @router.route("GET", *_forms("/oauth2PermissionGrants"))
    def sp_grants(req: Request) -> Response:
        sp = sp_of(req)
        items = [g for g in req.tenant.oauth2PermissionGrants.values() if g["clientId"] == sp["id"]]
        return req.collection(items, "oauth2PermissionGrants")

    @router.route("GET", "/oauth2PermissionGrants")
    def grants(req: Request) -> Response:
        return req.collection(list(req.tenant.oauth2PermissionGrants.values()), "oauth2PermissionGrants")

    def grant_of(req: Request) -> Obj:
        return existing(req.tenant.oauth2PermissionGrants, req.args["id"])

    @router.route("GET", "/oauth2PermissionGrants/{id}")
    def grant(req: Request) -> Response:
        return req.entity(grant_of(req), "oauth2PermissionGrants/$entity")

    @router.route("POST", "/oauth2PermissionGrants")
    def create_grant(req: Request) -> Response:
        body = req.json()
        client, resource = body.get("clientId"), body.get("resourceId")
        consent, principal = body.get("consentType"), body.get("principalId")
        if consent not in ("AllPrincipals", "Principal"):
            raise bad_request("Invalid value specified for property 'consentType' of resource 'OAuth2PermissionGrant'.")
        if consent == "Principal" and not principal:
            raise bad_request("Invalid value specified for property 'principalId' of resource 'OAuth2PermissionGrant'.")
        for prop, value in (("clientId", client), ("resourceId", resource)):
            if not isinstance(value, str) or value not in req.tenant.servicePrincipals:
                raise bad_request(f"Invalid value specified for property '{prop}' of resource 'OAuth2PermissionGrant'.")
        if consent == "Principal" and req.tenant.user(str(principal)) is None:
            raise bad_request("Invalid value specified for property 'principalId' of resource 'OAuth2PermissionGrant'.")
        principal = principal if consent == "Principal" else None
        for g in req.tenant.oauth2PermissionGrants.values():
            if (g["clientId"], g["resourceId"], g["consentType"], g.get("principalId")) == (client, resource, consent, principal):
                raise GraphError(409, "Request_MultipleObjectsWithSameKeyValue", "Permission entry already exists.")
        grant = {"id": _opaque_id(), "clientId": client, "consentType": consent, "principalId": principal,
                 "resourceId": resource, "scope": str(body.get("scope", ""))}
        req.tenant.oauth2PermissionGrants[grant["id"]] = grant
        return req.entity(grant, "oauth2PermissionGrants/$entity", status=201)

    @router.route("PATCH", "/oauth2PermissionGrants/{id}")
    def update_grant(req: Request) -> Response:
        found = grant_of(req)
        body = req.json()
        if set(body) - {"scope"} or not isinstance(body.get("scope"), str):
            raise bad_request("Only the property 'scope' of an oAuth2PermissionGrant can be updated.", "BadRequest")
        found["scope"] = body["scope"]
        return Response(204)

    @router.route("DELETE", "/oauth2PermissionGrants/{id}")
    def delete_grant(req: Request) -> Response:
        del req.tenant.oauth2PermissionGrants[grant_of(req)["id"]]
        return Response(204)


def _new_assignment(req: Request, *, resource_side: Obj | None = None, principal_side: Obj | None = None) -> Obj:
    """Validate and store an appRoleAssignment posted to either side, as Graph does."""
    body = req.json()
    principal_id, resource_id, role_id = body.get("principalId"), body.get("resourceId"), body.get("appRoleId")
    if resource_side is not None and resource_id != resource_side["id"]:
        raise bad_request("Invalid value specified for property 'resourceId' of resource 'AppRoleAssignment'.")
    if principal_side is not None and principal_id != principal_side["id"]:
        raise bad_request("Invalid value specified for property 'principalId' of resource 'AppRoleAssignment'.")
    principal = req.tenant.directory_object(str(principal_id)) if isinstance(principal_id, str) else None
    if principal is None:
        raise not_found(str(principal_id))
    resource = req.tenant.servicePrincipals.get(str(resource_id))
    if resource is None:
        raise not_found(str(resource_id))
    roles = {str(r["id"]).lower() for r in resource.get("appRoles", [])} | {DEFAULT_APP_ROLE}
    if not isinstance(role_id, str) or role_id.lower() not in roles:
        raise bad_request(f"Permission being assigned was not found on application '{resource.get('appId')}'.")
    for a in req.tenant.appRoleAssignments.values():
        if (a["principalId"], a["resourceId"], str(a["appRoleId"]).lower()) == (principal_id, resource_id, role_id.lower()):
            raise bad_request("Permission being assigned already exists on the object")
    kind, principal_obj = principal
    assignment = {
        "id": _opaque_id(), "appRoleId": role_id, "createdDateTime": _now(), "deletedDateTime": None,
        "principalDisplayName": principal_obj.get("displayName"), "principalId": principal_id,
        "principalType": PRINCIPAL_TYPES[kind], "resourceDisplayName": resource.get("displayName"),
        "resourceId": resource_id,
    }
    req.tenant.appRoleAssignments[assignment["id"]] = assignment
    return assignment
