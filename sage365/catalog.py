"""The partner's catalogue of Sage apps: app ids, Graph permissions, add-ins, SKUs.

Sage's app ids are not public, so they live here, filled in once by the partner, never in
code. Entries marked `example: true` carry placeholder ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from sage365.declaration import DeclarationError, load_document
from sage365.manifest import Manifest, ManifestError, load_manifest
from sage365.yamlsafe import Document

DEFAULT_CATALOG = Path("catalog/catalog.yaml")
MICROSOFT_GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
GLOBAL_ADMINISTRATOR_ROLE = "62e90394-69f5-4237-9190-012177145e10"


@dataclass(frozen=True)
class Addin:
    manifest: Path  # resolved against the catalogue file's folder
    requires_assignment: bool = True
    # The parsed manifest (<Id>, <Version>, hosts); None only for catalogues built in code.
    info: Manifest | None = field(default=None, compare=False, repr=False)
    # How the partner names the add-in's assignment groups (`sage365 export` finds them by
    # it): a display-name prefix, by default the app's display name.
    group_prefix: str = ""


@dataclass(frozen=True)
class App:
    key: str
    display_name: str
    app_id: str
    example: bool = False
    delegated_scopes: tuple[str, ...] = ()
    app_roles: tuple[str, ...] = ()
    addin: Addin | None = None


@dataclass(frozen=True)
class SubscriptionSku:
    sku_part_number: str
    sku_id: str
    display_name: str


@dataclass(frozen=True)
class PremiumPlan:
    name: str  # P1 or P2
    service_plan_name: str
    service_plan_id: str


@dataclass(frozen=True)
class Catalog:
    apps: Mapping[str, App]
    subscriptions: tuple[SubscriptionSku, ...]
    premium_plans: Mapping[str, PremiumPlan]
    document: Document | None = field(default=None, compare=False, hash=False, repr=False)

    def compatible_skus(self, declared: tuple[str, ...] | None) -> tuple[str, ...]:
        """A tenant's compatible SKU part numbers: its own list, else the catalogue's."""
        return declared if declared is not None else tuple(s.sku_part_number for s in self.subscriptions)

    def plan_names(self, plans: tuple[str, ...]) -> frozenset[str]:
        """Service plan names (AAD_PREMIUM, ...) for plan labels (P1, P2)."""
        return frozenset(self.premium_plans[p].service_plan_name for p in plans)


def parse_catalog(document: Document) -> Catalog:
    spec = document.data["spec"]
    base = Path(document.path).parent
    apps = {}
    for key, entry in spec["apps"].items():
        addin = entry.get("addin")
        apps[key] = App(
            key=key,
            display_name=entry["displayName"],
            app_id=entry["appId"].lower(),
            example=entry.get("example", False),
            delegated_scopes=tuple(entry.get("delegatedScopes", ())),
            app_roles=tuple(entry.get("appRoles", ())),
            addin=_addin(base, addin, entry["displayName"]) if addin else None,
        )
    return Catalog(
        apps=apps,
        subscriptions=tuple(
            SubscriptionSku(s["skuPartNumber"], s["skuId"].lower(), s["displayName"]) for s in spec["subscriptions"]
        ),
        premium_plans={
            name: PremiumPlan(name, p["servicePlanName"], p["servicePlanId"].lower())
            for name, p in spec["premiumPlans"].items()
        },
        document=document,
    )


def _addin(base: Path, entry: Mapping, app_name: str) -> Addin:
    path = base / entry["manifest"]
    try:
        info = load_manifest(path)
    except ManifestError:
        info = None  # load_catalog reports it with the catalogue's line; parse_catalog stays total
    return Addin(path, entry.get("requiresAssignment", True), info, entry.get("groupNamePrefix", app_name))


def load_catalog(path: str | Path = DEFAULT_CATALOG) -> Catalog:
    """Read and schema-check the catalogue; raise DeclarationError on any problem."""
    path = Path(path)
    document, problems = load_document(path, "catalog")
    for key, entry in (document.data.get("spec", {}).get("apps", {}) or {}).items() if not problems else ():
        addin = entry.get("addin")
        where = ("spec", "apps", key, "addin", "manifest")
        if addin and not (path.parent / addin["manifest"]).is_file():
            problems.append(document.problem(where, f"spec.apps.{key}.addin.manifest: file not found: {addin['manifest']}"))
        elif addin:
            try:  # <Id>, <Version> and a Mailbox host: what Centralized Deployment needs
                load_manifest(path.parent / addin["manifest"])
            except ManifestError as exc:
                problems.append(document.problem(where, f"spec.apps.{key}.addin.manifest: {exc}"))
    if problems:
        raise DeclarationError(problems)
    return parse_catalog(document)
