"""Graph beta, what sage365 reads there: application proxy connectors, connector groups and
their members, and service principal sign-in activity (the connectors' fallback signal).

Served under `/beta`, beside `/v1.0`, with the same tokens, OData paging and errors.
`connectorsDenied: true` in a tenant's state answers its connector reads with Graph's 403
(`Authorization_RequestDenied`): Microsoft's beta pages for them list Application: Not
supported, and every sandbox token is app-only. Without it the reads answer, which is what
some tools report (Microsoft365DSC declares application Directory.Read.All) but is
unverified here. The sign-in activity report is documented for app-only (AuditLog.Read.All).
"""

from __future__ import annotations

from sage365.sandbox.errors import denied, existing
from sage365.sandbox.router import Request, Response, Router


def register(router: Router) -> None:
    router.add("GET", "/onPremisesPublishingProfiles/applicationProxy/connectors", list_connectors)
    router.add("GET", "/onPremisesPublishingProfiles/applicationProxy/connectorGroups", list_connector_groups)
    router.add("GET", "/onPremisesPublishingProfiles/applicationProxy/connectorGroups/{id}/members", list_group_members)
    router.add("GET", "/reports/servicePrincipalSignInActivities", list_sign_ins)


def list_connectors(req: Request) -> Response:
    if req.tenant.connectorsDenied:
        raise denied()
    return req.collection(list(req.tenant.connectors.values()), "onPremisesPublishingProfiles('applicationProxy')/connectors")


def list_connector_groups(req: Request) -> Response:
    if req.tenant.connectorsDenied:
        raise denied()
    groups = [{k: v for k, v in g.items() if k != "members"} for g in req.tenant.connectorGroups.values()]
    return req.collection(groups, "onPremisesPublishingProfiles('applicationProxy')/connectorGroups")


def list_group_members(req: Request) -> Response:
    if req.tenant.connectorsDenied:
        raise denied()
    group = existing(req.tenant.connectorGroups, req.args["id"])
    members = [req.tenant.connectors[c] for c in group.get("members", ()) if c in req.tenant.connectors]
    return req.collection(members, f"onPremisesPublishingProfiles('applicationProxy')/connectorGroups('{group['id']}')/members")


def list_sign_ins(req: Request) -> Response:
    return req.collection(list(req.tenant.servicePrincipalSignInActivities.values()), "reports/servicePrincipalSignInActivities")
