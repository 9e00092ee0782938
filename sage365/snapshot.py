"""What sage365 read from one live tenant, as small frozen dataclasses.

sage365.graph builds a Snapshot from Microsoft Graph; checks read only these types, never
msgraph-sdk's. A part that could not be read is recorded in `Snapshot.errors` under its
Part name (or, when only one item of it failed, in `Snapshot.item_errors` under that
item's key), and the checks that need it report `error`, never `pass`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Mapping


class Part(str, Enum):
    """The parts of a snapshot, each read by one or a few Graph requests."""

    ORGANIZATION = "organization"
    ADMINISTRATOR = "administrator"
    ADMINISTRATOR_LICENCES = "administratorLicences"
    GLOBAL_ADMINS = "globalAdministrators"
    SUBSCRIBED_SKUS = "subscribedSkus"
    SERVICE_PRINCIPALS = "servicePrincipals"
    GRANTS = "oauth2PermissionGrants"
    APP_ROLE_ASSIGNMENTS = "appRoleAssignments"
    GROUPS = "groups"
    USERS = "users"  # the declared add-in users, by UPN
    APP_ROLE_ASSIGNED_TO = "appRoleAssignedTo"  # who is assigned to each add-in that requires it
    # Read only for tenants that need them, apart from the two Graph v1.0 round trips:
    ORGANIZATION_APPS = "organizationApps"  # Exchange Online: Get-App -OrganizationApp
    CONNECTORS = "connectors"  # Graph beta: application proxy connectors


@dataclass(frozen=True)
class User:
    id: str
    user_principal_name: str
    display_name: str = ""
    account_enabled: bool = True
    # Graph refuses assignLicense without it; None: not read (group members) or not set.
    usage_location: str | None = None
    # mail and the SMTP proxy addresses (read for the declared add-in users only): the forms
    # in which Exchange may list the user, e.g. in an add-in deployment's UserList.
    addresses: tuple[str, ...] = ()


@dataclass(frozen=True)
class ServicePlan:
    service_plan_id: str
    service_plan_name: str
    provisioning_status: str  # Success, Disabled, PendingInput, ...


@dataclass(frozen=True)
class LicenceDetail:
    """One SKU assigned to a user (GET /users/{id}/licenseDetails)."""

    sku_id: str
    sku_part_number: str
    service_plans: tuple[ServicePlan, ...] = ()


@dataclass(frozen=True)
class SubscribedSku:
    """One SKU the tenant has bought (GET /subscribedSkus)."""

    sku_id: str
    sku_part_number: str
    capability_status: str  # Enabled, Warning, Suspended, Deleted, LockedOut
    enabled_units: int
    consumed_units: int
    service_plans: tuple[ServicePlan, ...] = ()


@dataclass(frozen=True)
class AppRole:
    id: str
    value: str
    allowed_member_types: tuple[str, ...] = ()


@dataclass(frozen=True)
class ServicePrincipal:
    id: str
    app_id: str
    display_name: str
    account_enabled: bool = True
    app_role_assignment_required: bool = False
    app_roles: tuple[AppRole, ...] = ()


@dataclass(frozen=True)
class PermissionGrant:
    """An oauth2PermissionGrant: delegated scopes of a client on a resource."""

    id: str
    client_id: str  # service principal id of the client (the Sage app)
    resource_id: str  # service principal id of the API (Microsoft Graph)
    consent_type: str  # AllPrincipals or Principal
    principal_id: str | None
    scopes: frozenset[str]


@dataclass(frozen=True)
class AppRoleAssignment:
    id: str
    principal_id: str
    principal_type: str  # ServicePrincipal, User, Group
    resource_id: str
    app_role_id: str


@dataclass(frozen=True)
class Group:
    id: str
    display_name: str
    security_enabled: bool = True
    members: tuple[User, ...] = ()  # direct user members
    nested_groups: tuple[str, ...] = ()  # display names of groups among the direct members


@dataclass(frozen=True)
class OrganizationApp:
    """An add-in deployed by Centralized Deployment (Exchange's Get-App -OrganizationApp)."""

    app_id: str  # the manifest's <Id>, lower-case
    display_name: str = ""
    version: str = ""  # AppVersion
    enabled: bool = True
    default_state: str = ""  # DefaultStateForUser: Enabled, Disabled, AlwaysEnabled
    provided_to: str = ""  # ProvidedTo: Everyone, SpecificUsers
    user_list: tuple[str, ...] = ()  # UserList, as Exchange returns it
    # Why Get-App's object cannot be trusted (a missing or odd Enabled, ProvidedTo or
    # UserList), "" when it can: addin.deployment reports `error` then, never a guess.
    problem: str = ""


@dataclass(frozen=True)
class Connector:
    """An Entra application proxy connector (Graph beta)."""

    id: str
    machine_name: str
    status: str  # active, inactive
    version: str = ""
    external_ip: str = ""
    group: str | None = None  # the declared connector group's name when it is a member of it (read only then)


@dataclass(frozen=True)
class SignInActivity:
    """The last sign-in of an app (Graph beta servicePrincipalSignInActivities), the fallback
    signal when connectors cannot be read; None last_sign_in: listed, never signed in."""

    app_id: str
    last_sign_in: str | None


@dataclass(frozen=True)
class Snapshot:
    """Everything the checks need about one tenant, read once.

    Maps are keyed for the checks: service principals by appId, grants and app role
    assignments by the client service principal's id, groups by display name, the
    administrator's licences as a tuple. The ids are Graph's: the Pulumi program adopts
    existing objects by them (components/adoption.py). Microsoft Graph's own service principal is
    `graph_service_principal`.
    """

    tenant_id: str
    organization_name: str = ""
    verified_domains: tuple[str, ...] = ()
    administrator: User | None = None  # None: read, and does not exist
    administrator_licences: tuple[LicenceDetail, ...] = ()
    global_administrator_ids: frozenset[str] = frozenset()
    subscribed_skus: tuple[SubscribedSku, ...] = ()
    graph_service_principal: ServicePrincipal | None = None
    service_principals: Mapping[str, ServicePrincipal] = field(default_factory=dict)
    grants: Mapping[str, tuple[PermissionGrant, ...]] = field(default_factory=dict)
    app_role_assignments: Mapping[str, tuple[AppRoleAssignment, ...]] = field(default_factory=dict)
    groups: Mapping[str, Group] = field(default_factory=dict)
    # Declared add-in group names Graph found several groups for (its displayName filter
    # ignores case; Entra allows duplicate names): all of them, never one picked, so the checks
    # report an error and the preview gate stops (sage365.checks.base.group_matches).
    ambiguous_groups: Mapping[str, tuple[Group, ...]] = field(default_factory=dict)
    # The declared add-in users found in the tenant, keyed by lower-case UPN (absent: not found).
    users: Mapping[str, User] = field(default_factory=dict)
    # Assignments *to* each add-in's service principal (its appRoleAssignedTo), keyed by that SP's id.
    app_role_assigned_to: Mapping[str, tuple[AppRoleAssignment, ...]] = field(default_factory=dict)
    # Service principals of catalogue apps the declaration does not consent, by catalogue key.
    undeclared_service_principals: Mapping[str, ServicePrincipal] = field(default_factory=dict)
    # None: not read (a Graph-only read): the checks that need them say so, never pass or fail.
    organization_apps: Mapping[str, OrganizationApp] | None = None  # by app id
    connectors: tuple[Connector, ...] | None = None
    # Set only when the connectors could not be read and the fallback could: see CONNECTORS.
    connector_sign_in: SignInActivity | None = None
    errors: Mapping[Part, str] = field(default_factory=dict)  # parts that could not be read at all
    # Reads that failed for one item of a part only, by part then item key (a catalogue app
    # key; an add-in group's declared display name): only that item's checks are errors.
    item_errors: Mapping[Part, Mapping[str, str]] = field(default_factory=dict)
    # Parts in `errors` refused for a missing permission (401/403, or known from the token).
    denied: frozenset[Part] = frozenset()

    def error(self, *parts: Part) -> str | None:
        """The first error among `parts` that stops the whole part, or None."""
        for part in parts:
            if part in self.errors:
                return self.errors[part]
        return None

    def error_for(self, part: Part, item: str) -> str | None:
        """What stops judging `item` in `part`: the whole part's error, else that item's own, else None."""
        return self.errors.get(part) or self.item_errors.get(part, {}).get(item)
