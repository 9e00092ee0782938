"""The stable check ids: used in reports, waivers and the tenant schema.

Changing an id breaks every waiver that names it, so ids are only ever added.
"""

CHECK_IDS: tuple[str, ...] = (
    "admin.exists",
    "admin.global_admin",
    "admin.premium_licence",
    "tenant.subscription",
    "tenant.free_premium_seat",
    "consent.service_principal",
    "consent.delegated_scopes",
    "consent.app_roles",
    "addin.group",
    "addin.members",
    "addin.deployment",
    "connector.status",
)
