"""The administrator's Entra ID P1/P2 licence, assigned from a free seat when allowed.

Only built when the declaration says `assignFreeSeat: true` and a SKU is known (chosen
from the live tenant by sage365.gate.premium_sku_to_assign, or pinned in stack config).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azuread as azuread


@dataclass(frozen=True)
class AdministratorLicenceArgs:
    user_principal_name: str
    sku_id: str  # a subscribed SKU carrying AAD_PREMIUM or AAD_PREMIUM_P2


class AdministratorLicence(pulumi.ComponentResource):
    """`sage365:licence:AdministratorLicence`: one UserLicense on the Global Administrator."""

    user_licence: azuread.UserLicense

    def __init__(self, name: str, args: AdministratorLicenceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("sage365:licence:AdministratorLicence", name, None, opts)
        user = azuread.get_user_output(
            user_principal_name=args.user_principal_name, opts=pulumi.InvokeOutputOptions(parent=self)
        )
        # retain_on_delete: once the seat is assigned, the next preview sees the admin
        # licensed and stops declaring it; dropping it from the program must never strip
        # the administrator's licence (Sage's apps stop working without it).
        self.user_licence = azuread.UserLicense(
            f"{name}-user-licence",
            user_object_id=user.object_id,
            sku_id=args.sku_id,
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
        )
        self.register_outputs({"userPrincipalName": args.user_principal_name, "skuId": args.sku_id})
