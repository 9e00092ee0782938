"""Admin consent for one Sage app in one tenant, as Pulumi resources.

What the manual "accept: Sage ... may access your data" step leaves in Entra ID: the
app's service principal, a delegated grant to Microsoft Graph for all users with exactly
the catalogue's scopes, and one app role assignment per application permission.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_azuread as azuread

from components.adoption import ConsentAdoption
from sage365.catalog import MICROSOFT_GRAPH_APP_ID, App
from sage365.checks.consent_common import permission_key


@dataclass(frozen=True)
class ConsentArgs:
    app: App  # the catalogue entry: appId, delegated scopes, application roles
    # What already exists in the tenant (components.adoption): imported, never created again.
    adoption: ConsentAdoption = field(default_factory=ConsentAdoption)


class Consent(pulumi.ComponentResource):
    """`sage365:consent:Consent`: one Sage app consented in the tenant."""

    service_principal: azuread.ServicePrincipal
    grant: azuread.ServicePrincipalDelegatedPermissionGrant | None
    app_role_assignments: dict[str, azuread.AppRoleAssignment]

    def __init__(self, name: str, args: ConsentArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("sage365:consent:Consent", name, None, opts)
        app, adopt = args.app, args.adoption

        def child(import_id: str | None) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(parent=self, import_=import_id)

        # The provider sends every settable property on each create and update, defaults
        # included (use_existing's create runs the update): left unset, "assignment required"
        # would go back to false and open an add-in to every user. So each one is declared
        # from the catalogue. Tags are not declared: the attribute is computed, the provider
        # keeps the live ones (Entra's WindowsAzureActiveDirectoryIntegratedApp included).
        # protect: deleting the SP would revoke every user's access to the Sage app at once.
        # import_: an existing SP is adopted under its id. use_existing stays for the SP
        # created between the gate's read and `up`; ignored in diffs, since an import
        # reads no value for it and must not plan an update for it.
        self.service_principal = azuread.ServicePrincipal(
            f"{name}-sp",
            client_id=app.app_id,
            use_existing=True,
            account_enabled=True,
            app_role_assignment_required=bool(app.addin is not None and app.addin.requires_assignment),
            opts=pulumi.ResourceOptions(parent=self, protect=True, import_=adopt.service_principal,
                                        ignore_changes=["use_existing"]),
        )
        # Read, never managed: Microsoft Graph's SP belongs to Microsoft.
        graph = azuread.get_service_principal_output(
            client_id=MICROSOFT_GRAPH_APP_ID, opts=pulumi.InvokeOutputOptions(parent=self)
        )

        self.grant = None
        if app.delegated_scopes:
            # No user_object_id: admin consent for all users (consentType AllPrincipals).
            self.grant = azuread.ServicePrincipalDelegatedPermissionGrant(
                f"{name}-grant",
                service_principal_object_id=self.service_principal.object_id,
                resource_service_principal_object_id=graph.object_id,
                claim_values=list(app.delegated_scopes),
                opts=child(adopt.grant),
            )

        self.app_role_assignments = {}
        for role in app.app_roles:
            self.app_role_assignments[role] = azuread.AppRoleAssignment(
                f"{name}-role-{role}",
                app_role_id=graph.app_role_ids.apply(lambda ids, role=role: _role_id(ids, role)),
                principal_object_id=self.service_principal.object_id,
                resource_object_id=graph.object_id,
                opts=child(adopt.app_roles.get(role)),
            )

        self.register_outputs(
            {
                "appId": app.app_id,
                "servicePrincipalObjectId": self.service_principal.object_id,
                "delegatedScopes": list(app.delegated_scopes),
                "appRoles": list(app.app_roles),
            }
        )


def _role_id(app_role_ids: dict[str, str] | None, role: str) -> str:
    """Graph's id for an application permission, its value compared as the checks and adoption
    compare it (permission_key); a catalogue typo must fail, not assign nothing."""
    found = {permission_key(value): role_id for value, role_id in (app_role_ids or {}).items()}
    if permission_key(role) not in found:
        raise ValueError(f"Microsoft Graph has no application permission named {role!r}")
    return found[permission_key(role)]
