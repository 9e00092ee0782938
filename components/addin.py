"""Who gets a Sage add-in: an assignment security group, its members, its app assignment.

The declaration names users; the group is the unit Entra ID (and Outlook's integrated
apps) assign an add-in to. Membership is managed one `GroupMember` per user, never via
`Group.members`: mixing the two makes each fight the other on every update. A member
resource is named by the user's object id, so renaming a user's UPN changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import pulumi
import pulumi_azuread as azuread

from components.adoption import DEFAULT_ACCESS_ROLE_ID, AddinAdoption
from sage365.catalog import App
from sage365.declaration import AddinAssignment as AddinDeclaration

__all__ = ["DEFAULT_ACCESS_ROLE_ID", "AddinAssignment", "AddinAssignmentArgs", "member_name"]


@dataclass(frozen=True)
class AddinAssignmentArgs:
    assignment: AddinDeclaration  # group display name and users, from the tenant YAML
    app: App  # the add-in's catalogue entry
    # The add-in's service principal object id: the Consent's SP when the app is consented,
    # else None and it is looked up (read, never managed here).
    service_principal_object_id: pulumi.Input[str] | None = None
    # What already exists (components.adoption), and the users' object ids the gate read.
    adoption: AddinAdoption = field(default_factory=AddinAdoption)
    user_ids: Mapping[str, str] = field(default_factory=dict)  # lower-case UPN -> object id


def member_name(component: str, upn: str, object_id: str | None) -> str:
    """A member keyed by the user's object id; by UPN only while the id is unknown (gate skipped)."""
    return f"{component}-member-{object_id or upn}"


class AddinAssignment(pulumi.ComponentResource):
    """`sage365:addin:AddinAssignment`: one add-in assigned to named users through a group."""

    group: azuread.Group
    members: dict[str, azuread.GroupMember]
    app_role_assignment: azuread.AppRoleAssignment | None

    def __init__(self, name: str, args: AddinAssignmentArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("sage365:addin:AddinAssignment", name, None, opts)
        decl, app, adopt = args.assignment, args.app, args.adoption
        invoke = pulumi.InvokeOutputOptions(parent=self)

        # An adopted group keeps its live spelling when it differs from the declaration only in
        # case: display_name updates in place, so declaring ours would rename the customer's group.
        live_name = adopt.group_name
        display_name = live_name if live_name and live_name.casefold() == decl.group.casefold() else decl.group
        self.group = azuread.Group(
            f"{name}-group",
            display_name=display_name,
            description=f"Users of {app.display_name} (managed by sage365)",
            security_enabled=True,
            mail_enabled=False,
            # A second group with the same name would make "which group?" ambiguous for admins.
            prevent_duplicate_names=True,
            # A group made by hand keeps its own description; prevent_duplicate_names is the
            # provider's create-time check, which an import cannot read back.
            opts=pulumi.ResourceOptions(parent=self, import_=adopt.group,
                                        ignore_changes=["description", "prevent_duplicate_names"]),
        )

        self.members = {}
        for upn in decl.users:
            object_id = args.user_ids.get(upn.lower())
            member: pulumi.Input[str]
            if object_id is not None:
                member = object_id
            else:  # the gate did not read this user: the provider resolves it
                member = azuread.get_user_output(user_principal_name=upn, opts=invoke).object_id
            # Aliased from the old UPN-keyed name, so existing stacks keep their members.
            aliases = [pulumi.Alias(name=member_name(name, upn, None))] if object_id else None
            self.members[upn] = azuread.GroupMember(
                member_name(name, upn, object_id),
                group_object_id=self.group.object_id,
                member_object_id=member,
                opts=pulumi.ResourceOptions(parent=self, aliases=aliases,
                                            import_=adopt.members.get(object_id) if object_id else None),
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
                opts=pulumi.ResourceOptions(parent=self, import_=adopt.assignment),
            )

        self.register_outputs(
            {
                "app": app.key,
                "groupObjectId": self.group.object_id,
                "groupDisplayName": display_name,
                "users": list(decl.users),
            }
        )
