"""Who gets a Sage add-in: an assignment security group, its members, its app assignment.

The declaration names users; the group is the unit Entra ID (and Outlook's integrated
apps) assign an add-in to. Membership is managed one `GroupMember` per user, never via
`Group.members`: mixing the two makes each fight the other on every update.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azuread as azuread

from sage365.catalog import App
from sage365.declaration import AddinAssignment as AddinDeclaration

# Entra ID's "Default Access" role: assigns an app that defines no app roles of its own.
DEFAULT_ACCESS_ROLE_ID = "00000000-0000-0000-0000-000000000000"


@dataclass(frozen=True)
class AddinAssignmentArgs:
    assignment: AddinDeclaration  # group display name and users, from the tenant YAML
    app: App  # the add-in's catalogue entry
    # The add-in's service principal object id: the Consent's SP when the app is consented,
    # else None and it is looked up (read, never managed here).
    service_principal_object_id: pulumi.Input[str] | None = None


class AddinAssignment(pulumi.ComponentResource):
    """`sage365:addin:AddinAssignment`: one add-in assigned to named users through a group."""

    group: azuread.Group
    members: dict[str, azuread.GroupMember]
    app_role_assignment: azuread.AppRoleAssignment | None

    def __init__(self, name: str, args: AddinAssignmentArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("sage365:addin:AddinAssignment", name, None, opts)
        decl, app = args.assignment, args.app
        child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOutputOptions(parent=self)

        self.group = azuread.Group(
            f"{name}-group",
            display_name=decl.group,
            description=f"Users of {app.display_name} (managed by sage365)",
            security_enabled=True,
            mail_enabled=False,
            # A second group with the same name would make "which group?" ambiguous for admins.
            prevent_duplicate_names=True,
            opts=child,
        )

        self.members = {}
        for upn in decl.users:
            user = azuread.get_user_output(user_principal_name=upn, opts=invoke)
            self.members[upn] = azuread.GroupMember(
                f"{name}-member-{upn}",
                group_object_id=self.group.object_id,
                member_object_id=user.object_id,
                opts=child,
            )

        self.app_role_assignment = None
        if app.addin is not None and app.addin.requires_assignment:
            sp_object_id = args.service_principal_object_id
            if sp_object_id is None:
                sp_object_id = azuread.get_service_principal_output(client_id=app.app_id, opts=invoke).object_id
            self.app_role_assignment = azuread.AppRoleAssignment(
                f"{name}-assignment",
                app_role_id=DEFAULT_ACCESS_ROLE_ID,
                principal_object_id=self.group.object_id,
                resource_object_id=sp_object_id,
                opts=child,
            )

        self.register_outputs(
            {
                "app": app.key,
                "groupObjectId": self.group.object_id,
                "groupDisplayName": decl.group,
                "users": list(decl.users),
            }
        )
