"""Directory endpoints: organization, users and their licences, SKUs, groups, roles.

Each handler reads or writes one tenant (`req.tenant`); an id of another tenant's object
is simply not found, which is what keeps tenants apart.
"""

from __future__ import annotations

import base64
import uuid

from sage365.sandbox.errors import GraphError, bad_request, existing, not_found
from sage365.sandbox.router import Request, Response, Router
from sage365.sandbox.state import Obj, Tenant, new_id

ODATA_TYPES = {"user": "#microsoft.graph.user", "group": "#microsoft.graph.group", "servicePrincipal": "#microsoft.graph.servicePrincipal"}
GROUP_EXPAND = frozenset({"members"})
ROLE_EXPAND = frozenset({"principal", "roleDefinition"})
EXPAND_LIMIT = 20  # Graph returns at most 20 objects in an expanded navigation
# Graph returns only these user properties unless $select asks for others (accountEnabled,
# usageLocation, assignedLicenses...): emulated, so a reader that forgets $select fails here too.
USER_DEFAULT = ("@odata.type", "id", "businessPhones", "displayName", "givenName", "jobTitle", "mail",
                "mobilePhone", "officeLocation", "preferredLanguage", "surname", "userPrincipalName")


def default_user(obj: Obj) -> Obj:
    return {k: obj.get(k) for k in USER_DEFAULT if k in obj or k != "@odata.type"}


def typed(tenant: Tenant, object_id: str, full: bool = False) -> Obj | None:
    """A directory object with its @odata.type, as Graph serves polymorphic collections."""
    found = tenant.directory_object(object_id)
    if found is None:
        return None
    kind, obj = found
    if kind == "user" and not full:
        obj = default_user(obj)
    return {"@odata.type": ODATA_TYPES[kind], **obj}


def register(router: Router) -> None:
    @router.route("GET", "/organization")
    def organization(req: Request) -> Response:
        return req.collection(list(req.tenant.organization.values()), "organization")

    @router.route("GET", "/organization/{id}")
    def organization_item(req: Request) -> Response:
        return req.entity(existing(req.tenant.organization, req.args["id"]), "organization/$entity")

    def user_shape(req: Request):
        return req.selected if req.query.select else default_user

    @router.route("GET", "/users")
    def users(req: Request) -> Response:
        return req.collection(list(req.tenant.users.values()), "users", user_shape(req))

    def user_of(req: Request) -> Obj:
        user = req.tenant.user(req.args["id"])
        if user is None:
            raise not_found(req.args["id"])
        return user

    @router.route("GET", "/users/{id}")
    def user(req: Request) -> Response:
        return Response(200, {"@odata.context": req.context("users/$entity"), **user_shape(req)(user_of(req))})

    @router.route("GET", "/users/{id}/licenseDetails")
    def license_details(req: Request) -> Response:
        user = user_of(req)
        details = req.tenant.license_details.get(user["id"], [])
        return req.collection(list(details), f"users('{user['id']}')/licenseDetails")

    @router.route("POST", "/users/{id}/assignLicense")
    def assign_license(req: Request) -> Response:
        user = user_of(req)
        body = req.json()
        add = body.get("addLicenses")
        remove = body.get("removeLicenses")
        if not isinstance(add, list) or not isinstance(remove, list):
            raise bad_request("addLicenses and removeLicenses are required.", "Request_BadRequest")
        _assign(req.tenant, user, add, remove)
        return Response(200, {"@odata.context": req.context("users/$entity"), **default_user(user)})

    @router.route("GET", "/subscribedSkus")
    def subscribed_skus(req: Request) -> Response:
        return req.collection(list(req.tenant.subscribedSkus.values()), "subscribedSkus")

    @router.route("GET", "/subscribedSkus/{id}")
    def subscribed_sku(req: Request) -> Response:
        return req.entity(existing(req.tenant.subscribedSkus, req.args["id"]), "subscribedSkus/$entity")

    def group_shape(req: Request):
        def shape(group: Obj) -> Obj:
            out = dict(group)
            if "members" in req.query.expand:
                ids = req.tenant.members.get(group["id"], [])[:EXPAND_LIMIT]
                out["members"] = [m for m in (typed(req.tenant, i) for i in ids) if m is not None]
            return req.selected(out)

        return shape

    @router.route("GET", "/groups", expand=GROUP_EXPAND)
    def groups(req: Request) -> Response:
        return req.collection(list(req.tenant.groups.values()), "groups", group_shape(req))

    def group_of(req: Request) -> Obj:
        return existing(req.tenant.groups, req.args["id"])

    @router.route("GET", "/groups/{id}", expand=GROUP_EXPAND)
    def group(req: Request) -> Response:
        shaped = group_shape(req)(group_of(req))
        return Response(200, {"@odata.context": req.context("groups/$entity"), **shaped})

    @router.route("POST", "/groups")
    def create_group(req: Request) -> Response:
        body = req.json()
        for prop in ("displayName", "mailEnabled", "mailNickname", "securityEnabled"):
            if prop not in body:
                raise bad_request(f"Invalid value specified for property '{prop}' of resource 'Group'.")
        group = {k: v for k, v in body.items() if "@" not in k}
        group.update(id=new_id(), createdDateTime=_now(), groupTypes=body.get("groupTypes", []))
        req.tenant.groups[group["id"]] = group
        req.tenant.members[group["id"]] = []
        return req.entity(group, "groups/$entity", status=201)

    @router.route("GET", "/groups/{id}/members")
    def members(req: Request) -> Response:
        group = group_of(req)
        full = bool(req.query.select)  # $select reaches non-default user properties
        objs = [m for m in (typed(req.tenant, i, full) for i in req.tenant.members.get(group["id"], [])) if m is not None]
        return req.collection(objs, "directoryObjects")

    @router.route("POST", "/groups/{id}/members/$ref")
    def add_member(req: Request) -> Response:
        group = group_of(req)
        ref = req.json().get("@odata.id")
        if not isinstance(ref, str) or not ref.strip("/"):
            raise bad_request("Invalid object identifier ''.", "Request_BadRequest")
        member_id = ref.rstrip("/").split("/")[-1]
        if req.tenant.directory_object(member_id) is None:
            raise not_found(member_id)
        current = req.tenant.members.setdefault(group["id"], [])
        if member_id in current:
            raise bad_request("One or more added object references already exist for the following modified properties: 'members'.")
        current.append(member_id)
        return Response(204)

    @router.route("DELETE", "/groups/{id}/members/{member}/$ref")
    def remove_member(req: Request) -> Response:
        group = group_of(req)
        current = req.tenant.members.get(group["id"], [])
        if req.args["member"] not in current:
            raise not_found(req.args["member"])
        current.remove(req.args["member"])
        return Response(204)

    def role_shape(req: Request):
        def shape(assignment: Obj) -> Obj:
            out = dict(assignment)
            if "principal" in req.query.expand:
                out["principal"] = typed(req.tenant, assignment["principalId"])
            if "roleDefinition" in req.query.expand:
                out["roleDefinition"] = req.tenant.roleDefinitions.get(assignment["roleDefinitionId"])
            return req.selected(out)

        return shape

    @router.route("GET", "/roleManagement/directory/roleAssignments", expand=ROLE_EXPAND)
    def role_assignments(req: Request) -> Response:
        items = list(req.tenant.roleAssignments.values())
        return req.collection(items, "roleManagement/directory/roleAssignments", role_shape(req))

    @router.route("GET", "/roleManagement/directory/roleAssignments/{id}", expand=ROLE_EXPAND)
    def role_assignment(req: Request) -> Response:
        shaped = role_shape(req)(existing(req.tenant.roleAssignments, req.args["id"]))
        return Response(200, {"@odata.context": req.context("roleManagement/directory/roleAssignments/$entity"), **shaped})

    @router.route("POST", "/roleManagement/directory/roleAssignments")
    def create_role_assignment(req: Request) -> Response:
        body = req.json()
        principal, role = body.get("principalId"), body.get("roleDefinitionId")
        if not isinstance(principal, str) or not isinstance(role, str):
            raise bad_request("principalId and roleDefinitionId are required.")
        if req.tenant.directory_object(principal) is None:
            raise not_found(principal)
        scope = body.get("directoryScopeId", "/")
        for other in req.tenant.roleAssignments.values():
            if (other["principalId"], other["roleDefinitionId"], other.get("directoryScopeId")) == (principal, role, scope):
                raise GraphError(409, "Conflict", "A conflicting object with one or more of the specified property values is present in the directory.")
        assignment = {"id": _opaque_id(), "principalId": principal, "roleDefinitionId": role, "directoryScopeId": scope}
        req.tenant.roleAssignments[assignment["id"]] = assignment
        return req.entity(assignment, "roleManagement/directory/roleAssignments/$entity", status=201)

    @router.route("DELETE", "/roleManagement/directory/roleAssignments/{id}")
    def delete_role_assignment(req: Request) -> Response:
        if req.tenant.roleAssignments.pop(req.args["id"], None) is None:
            raise not_found(req.args["id"])
        return Response(204)


def _assign(tenant: Tenant, user: Obj, add: list, remove: list) -> None:
    """Graph's assignLicense: validate everything first, then apply, so a failure changes nothing."""
    if not user.get("usageLocation"):
        raise bad_request("License assignment cannot be done for user with invalid usage location.")
    skus = {str(s["skuId"]).lower(): s for s in tenant.subscribedSkus.values()}
    details = tenant.license_details.setdefault(user["id"], [])
    held = {str(d["skuId"]).lower() for d in details}
    for item in add:
        sku_id = str(item.get("skuId", "")).lower() if isinstance(item, dict) else ""
        sku = skus.get(sku_id)
        if not isinstance(item.get("disabledPlans") if isinstance(item, dict) else None, (list, type(None))):
            raise bad_request("Invalid value specified for property 'disabledPlans' of resource 'AssignedLicense'.")
        if sku is None:
            raise bad_request(f"License {sku_id} does not correspond to a valid company License.")
        free = sku.get("prepaidUnits", {}).get("enabled", 0) - sku.get("consumedUnits", 0)
        if sku_id not in held and free <= 0:
            raise bad_request(f"Subscription with SKU {sku_id} does not have any available licenses.")
    for sku_id in remove:
        if not isinstance(sku_id, str) or sku_id.lower() not in held:
            raise bad_request(f"User does not have a corresponding license {sku_id}.")
    for sku_id in remove:
        lowered = str(sku_id).lower()
        details[:] = [d for d in details if str(d["skuId"]).lower() != lowered]
        skus[lowered]["consumedUnits"] = max(0, skus[lowered].get("consumedUnits", 0) - 1) if lowered in skus else 0
    for item in add:
        sku = skus[str(item["skuId"]).lower()]
        disabled = {str(p).lower() for p in item.get("disabledPlans") or []}
        plans = [
            {
                "servicePlanId": p["servicePlanId"],
                "servicePlanName": p["servicePlanName"],
                "provisioningStatus": "Disabled" if str(p["servicePlanId"]).lower() in disabled else "Success",
                "appliesTo": p.get("appliesTo", "User"),
            }
            for p in sku.get("servicePlans", [])
        ]
        entry = {"id": _opaque_id(), "skuId": sku["skuId"], "skuPartNumber": sku["skuPartNumber"], "servicePlans": plans}
        existing = [i for i, d in enumerate(details) if str(d["skuId"]).lower() == str(sku["skuId"]).lower()]
        if existing:
            entry["id"] = details[existing[0]]["id"]
            details[existing[0]] = entry
        else:
            details.append(entry)
            sku["consumedUnits"] = sku.get("consumedUnits", 0) + 1
    user["assignedLicenses"] = [
        {"disabledPlans": [p["servicePlanId"] for p in d.get("servicePlans", []) if p.get("provisioningStatus") == "Disabled"], "skuId": d["skuId"]}
        for d in details
    ]


def _opaque_id() -> str:
    """Graph's ids for grants, assignments and licence details are opaque base64 strings."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes + uuid.uuid4().bytes[:8]).decode().rstrip("=")


def _now() -> str:
    import datetime as dt

    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
