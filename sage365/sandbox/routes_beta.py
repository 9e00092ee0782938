"""Graph beta, the two endpoints sage365 reads there: application proxy connectors and
service principal sign-in activity (the connectors' fallback signal).

Served under `/beta`, beside `/v1.0`, with the same tokens, OData paging and errors;
`connectorsDenied: true` in the state answers the connectors 403, as Graph does for an
identity with read permissions only (Microsoft documents ReadWrite ones for them).
"""

from __future__ import annotations

from sage365.sandbox.errors import denied
from sage365.sandbox.router import Request, Response, Router


def register(router: Router) -> None:
    router.add("GET", "/onPremisesPublishingProfiles/applicationProxy/connectors", list_connectors)
    router.add("GET", "/reports/servicePrincipalSignInActivities", list_sign_ins)


def list_connectors(req: Request) -> Response:
    if req.tenant.connectorsDenied:
        raise denied()
    return req.collection(list(req.tenant.connectors.values()), "onPremisesPublishingProfiles('applicationProxy')/connectors")


def list_sign_ins(req: Request) -> Response:
    return req.collection(list(req.tenant.servicePrincipalSignInActivities.values()), "reports/servicePrincipalSignInActivities")
