"""SageTenant: everything one tenant's declaration asks of Entra ID, as one component.

Composes a Consent per declared Sage app, the administrator's licence when allowed and a
SKU is known, and an AddinAssignment per declared add-in. Every child inherits the
tenant's explicit azuread provider from this component's `providers` option.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi

from components.addin import AddinAssignment, AddinAssignmentArgs
from components.addin_deployment import OutlookAddinDeployment, OutlookAddinDeploymentArgs
from components.adoption import Adoption
from components.consent import Consent, ConsentArgs
from components.licence import AdministratorLicence, AdministratorLicenceArgs
from sage365.catalog import Catalog
from sage365.declaration import Tenant


@dataclass(frozen=True)
class SageTenantArgs:
    tenant: Tenant
    catalog: Catalog
    # The SKU whose free seat goes to the administrator; None: no licence is assigned
    # (the preview gate reports a missing one).
    premium_sku_id: str | None = None
    # Existing objects to import instead of creating (components.adoption.plan).
    adoption: Adoption = field(default_factory=Adoption)
    # Deploy each add-in in Outlook through Exchange Online (stack config sage365:deployAddins).
    deploy_addins: bool = False
    exchange_url: str | None = None  # the sandbox; None: Exchange Online
    # The stack's public azuread sign-in settings, for the deployment's Exchange sign-in.
    auth_settings: dict[str, str] = field(default_factory=dict)


class SageTenant(pulumi.ComponentResource):
    """`sage365:tenant:SageTenant`: one customer tenant associated with Sage."""

    consents: dict[str, Consent]
    licence: AdministratorLicence | None
    addins: dict[str, AddinAssignment]
    deployments: dict[str, OutlookAddinDeployment]
    summary: pulumi.Output[dict]

    def __init__(self, name: str, args: SageTenantArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("sage365:tenant:SageTenant", name, None, opts)
        tenant, catalog, adoption = args.tenant, args.catalog, args.adoption
        child = pulumi.ResourceOptions(parent=self)

        self.consents = {
            key: Consent(f"{name}-consent-{key}", ConsentArgs(app=catalog.apps[key], adoption=adoption.consent(key)), child)
            for key in tenant.consents
        }

        self.licence = None
        licence = tenant.administrator.licence
        if licence.assign_free_seat and args.premium_sku_id:
            self.licence = AdministratorLicence(
                f"{name}-admin-licence",
                AdministratorLicenceArgs(tenant.administrator.user_principal_name, args.premium_sku_id),
                child,
            )

        self.addins = {}
        for decl in tenant.addins:
            consent = self.consents.get(decl.app)
            self.addins[decl.app] = AddinAssignment(
                f"{name}-addin-{decl.app}",
                AddinAssignmentArgs(
                    assignment=decl,
                    app=catalog.apps[decl.app],
                    service_principal_object_id=consent.service_principal.object_id if consent else None,
                    adoption=adoption.addin(decl.app),
                    user_ids=adoption.user_ids,
                ),
                child,
            )

        self.deployments = {
            decl.app: OutlookAddinDeployment(
                f"{name}-addin-{decl.app}-deployment",
                OutlookAddinDeploymentArgs(tenant.tenant_id, decl, catalog.apps[decl.app], args.exchange_url,
                                           auth=args.auth_settings),
                child,
            )
            for decl in tenant.addins if args.deploy_addins
        }

        self.summary = pulumi.Output.from_input(
            {
                "tenant": tenant.name,
                "tenantId": tenant.tenant_id,
                "administrator": tenant.administrator.user_principal_name,
                "consents": {
                    key: {
                        "appId": c.service_principal.client_id,
                        "servicePrincipalObjectId": c.service_principal.object_id,
                    }
                    for key, c in self.consents.items()
                },
                "administratorLicenceSkuId": args.premium_sku_id if self.licence else None,
                "addins": {
                    key: {"groupObjectId": a.group.object_id, "users": sorted(a.members)}
                    for key, a in self.addins.items()
                },
            }
        )
        self.register_outputs({"summary": self.summary})
