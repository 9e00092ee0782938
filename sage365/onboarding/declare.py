"""A Discovery -> the tenant declaration that declares what is there now.

Pure functions of (discovery, catalogue, options) -> text, byte-stable: the same tenant
gives the same bytes (everything is sorted; no date is written). What the tenant holds
that a declaration cannot, or that differs from the catalogue, is written as a comment
ending "drift will report <check ids>", never silently accepted or dropped.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Iterable

from sage365.catalog import Catalog
from sage365.graph.mapping import is_user_json
from sage365.onboarding.connector import declare_connector
from sage365.onboarding.discovery import GROUP_TYPE, Candidate, Discovery, GroupFound, addin_group_filter
from sage365.onboarding.yamltext import comment, flow_list, quoted, scalar

Obj = dict[str, Any]
ACTIVE = "Success"
SCHEMA_LINE = "# yaml-language-server: $schema=../schemas/tenant.schema.json"
PLACEHOLDER_DOMAIN = "example.invalid"  # RFC 2606: can never be a real tenant's domain
# The tenant schema's UPN and domain shapes: a member whose UPN does not fit (a guest's
# `#EXT#` UPN) cannot be declared and is named in a comment instead.
UPN = re.compile(r"[A-Za-z0-9._%+'-]{1,64}@([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,63}")
DOMAIN = re.compile(r"(?=.{1,253}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,63}")


def slug(text: str) -> str:
    """A tenant slug (file name, stack name) from a display name: ASCII, lower case, dashes."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    value = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:63].strip("-")
    return value


def default_name(discovery: Discovery) -> str:
    """The organization's display name as a slug, else the initial domain's label, else the tenant id's start."""
    org_name = str(discovery.organization.get("displayName") or "")
    initial = next((d.split(".")[0] for d in _verified(discovery) if d.endswith(".onmicrosoft.com")), "")
    return slug(org_name) or slug(initial) or f"tenant-{discovery.tenant_id[:8]}"


def _verified(discovery: Discovery) -> list[str]:
    names = [str(d.get("name") or "").lower() for d in discovery.organization.get("verifiedDomains") or ()]
    return sorted({n for n in names if DOMAIN.fullmatch(n)})


def domains(discovery: Discovery) -> tuple[str | None, list[str]]:
    """(primary, others): the initial (*.onmicrosoft.com) domain first, as the shipped examples do."""
    listed = [d for d in discovery.organization.get("verifiedDomains") or () if DOMAIN.fullmatch(str(d.get("name") or ""))]
    verified = _verified(discovery)
    initial = sorted(str(d["name"]).lower() for d in listed if d.get("isInitial"))
    default = sorted(str(d["name"]).lower() for d in listed if d.get("isDefault"))
    primary = (initial or default or verified or [None])[0]
    return primary, [d for d in verified if d != primary]


def _plan_names(catalog: Catalog) -> frozenset[str]:
    return catalog.plan_names(tuple(catalog.premium_plans))


def holds_premium(licences: Iterable[Obj], plan_names: frozenset[str]) -> bool:
    return any(
        p.get("servicePlanName") in plan_names and p.get("provisioningStatus") == ACTIVE
        for licence in licences for p in licence.get("servicePlans") or ()
    )


def free_seat_skus(discovery: Discovery, plan_names: frozenset[str]) -> list[str]:
    """Enabled SKUs carrying a P1/P2 plan with an unassigned seat (as tenant.free_premium_seat counts them)."""
    return sorted(
        str(s.get("skuPartNumber"))
        for s in discovery.subscribed_skus
        if s.get("capabilityStatus") == "Enabled"
        and int((s.get("prepaidUnits") or {}).get("enabled") or 0) > int(s.get("consumedUnits") or 0)
        and any(p.get("servicePlanName") in plan_names for p in s.get("servicePlans") or ())
    )


def _upn(candidate: Candidate) -> str:
    return str(candidate.user.get("userPrincipalName") or "")


def _enabled(candidate: Candidate) -> bool:
    return candidate.user.get("accountEnabled") is not False


def choose_administrator(discovery: Discovery, catalog: Catalog) -> Candidate | None:
    """The enabled Global Administrator with an active P1/P2 plan, preferring a verified custom
    domain; when none qualifies, the best candidate (enabled first, then licensed). Only a UPN
    the declaration can hold is chosen."""
    names = _plan_names(catalog)
    verified = set(_verified(discovery))

    def rank(c: Candidate) -> tuple:
        domain = _upn(c).rsplit("@", 1)[-1].lower()
        premium = holds_premium(c.licences, names)
        custom = domain in verified and not domain.endswith(".onmicrosoft.com")
        return (not (_enabled(c) and premium), not _enabled(c), not premium, not custom,
                c.via_group is not None, _upn(c).casefold())

    declarable = [c for c in discovery.candidates if UPN.fullmatch(_upn(c))]
    return min(declarable, key=rank) if declarable else None


@dataclass(frozen=True)
class Declared:
    """The declaration of one exported tenant, and the check ids its comments name."""

    name: str
    tenant_yaml: str
    expected_findings: frozenset[str]  # check ids drift will report non-pass, as the comments say


class _Lines:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.named: set[str] = set()

    def add(self, line: str) -> None:
        self.lines.append(line)

    def note(self, text: str, indent: int, checks: Iterable[str] = ()) -> None:
        checks = list(checks)
        self.named.update(checks)
        suffix = f": drift will report {', '.join(checks)}" if checks else ""
        self.lines.append(comment(text + suffix, indent))


def declare(discovery: Discovery, catalog: Catalog, *, name: str, environment: str = "production",
            addin_group_names: dict[str, str] | None = None) -> Declared:
    """The declaration of what `discovery` found, with comments for everything it cannot say."""
    out = _Lines()
    primary, others = domains(discovery)
    org_name = str(discovery.organization.get("displayName") or "")
    admin = choose_administrator(discovery, catalog)
    if primary is None and admin is not None:
        primary = _upn(admin).rsplit("@", 1)[-1].lower()
    declared_domains = {d for d in (primary, *others) if d}

    out.add(SCHEMA_LINE)
    out.note(f"Exported by `sage365 export` from tenant {discovery.tenant_id} ({quoted(org_name)}): what it holds now.", 0)
    out.note("Review every comment below before committing it.", 0)
    out.add("apiVersion: sage365/v1")
    out.add("kind: Tenant")
    out.add("metadata:")
    out.add(f"  name: {name}")
    out.add(f"  environment: {environment}")
    out.add("spec:")
    out.add(f"  tenantId: {discovery.tenant_id}")
    if primary is None:
        out.note("The organization lists no verified domain: replace this placeholder", 2)
    out.add(f"  primaryDomain: {scalar(primary or PLACEHOLDER_DOMAIN)}")
    if others:
        out.add(f"  domains: {flow_list(others)}")
    _administrator(out, discovery, catalog, admin, primary or PLACEHOLDER_DOMAIN)
    _subscription(out, discovery, catalog)
    consented = _consents(out, discovery, catalog)
    _addins(out, discovery, catalog, consented, declared_domains, addin_group_names or {})
    declare_connector(out, discovery)
    text = "\n".join(out.lines) + "\n"
    return Declared(name, text, frozenset(out.named))


def _administrator(out: _Lines, discovery: Discovery, catalog: Catalog, admin: Candidate | None, primary: str) -> None:
    names = _plan_names(catalog)
    out.add("  administrator:")
    count = len(discovery.candidates)
    if admin is None:
        upn = f"administrator@{primary}"
        out.note("No user holds Global Administrator tenant-wide (or none has a UPN a declaration can hold): "
                 "replace this placeholder with the administrator who consents to Sage",
                 4, ["admin.exists", "admin.global_admin", "admin.premium_licence"])
    else:
        upn = _upn(admin)
        premium = holds_premium(admin.licences, names)
        if _enabled(admin) and premium:
            out.note(f"Global Administrator with an active Entra ID P1/P2 plan ({count} Global Administrator(s) found)", 4)
        if admin.via_group is not None:
            out.note(f"Holds Global Administrator through the role-assignable group "
                     f"{quoted(str(admin.via_group.get('displayName') or admin.via_group.get('id')))}", 4)
        if not _enabled(admin):
            out.note("Sign-in is blocked for this administrator (accountEnabled false)", 4, ["admin.exists"])
        if not premium:
            out.note(f"No Global Administrator holds an active Entra ID P1/P2 plan ({count} found)", 4,
                     ["admin.premium_licence"])
            free = free_seat_skus(discovery, names)
            if free:
                out.note(f"A free P1/P2 seat exists in {', '.join(free)}: set licence.assignFreeSeat: true "
                         "to let `pulumi up` assign it", 4)
            if not admin.user.get("usageLocation"):
                out.note("This administrator has no usageLocation, which assigning a licence needs", 4)
    out.add(f"    userPrincipalName: {scalar(upn)}")


def _subscription(out: _Lines, discovery: Discovery, catalog: Catalog) -> None:
    by_part = {str(s.get("skuPartNumber")): s for s in discovery.subscribed_skus}
    found = [s.sku_part_number for s in catalog.subscriptions if s.sku_part_number in by_part]
    usable = [p for p in found if by_part[p].get("capabilityStatus") == "Enabled"
              and int((by_part[p].get("prepaidUnits") or {}).get("enabled") or 0) > 0]
    if not free_seat_skus(discovery, _plan_names(catalog)):
        out.note("No Entra ID P1/P2 seat is free to assign (informational)", 2, ["tenant.free_premium_seat"])
    if not found:
        held = ", ".join(sorted(by_part)) or "none"
        out.note(f"No compatible Microsoft 365 subscription (the tenant has: {held})", 2, ["tenant.subscription"])
        return
    if not usable:
        states = ", ".join(f"{p} {by_part[p].get('capabilityStatus')}" for p in found)
        out.note(f"No compatible subscription is enabled with seats ({states})", 2, ["tenant.subscription"])
    out.add("  subscription:")
    out.add(f"    skus: {flow_list(found)}")


def _granted_scopes(found: Any, graph_id: str) -> set[str]:
    return {scope for g in found.grants if g.get("consentType") == "AllPrincipals" and str(g.get("resourceId")) == graph_id
            for scope in str(g.get("scope") or "").split()}


def _difference(expected: Iterable[str], actual: Iterable[str]) -> str:
    want = {v.casefold(): v for v in expected}
    have = {v.casefold(): v for v in actual}
    missing = sorted((want[k] for k in want.keys() - have.keys()), key=str.casefold)
    extra = sorted((have[k] for k in have.keys() - want.keys()), key=str.casefold)
    parts = ([f"missing {' '.join(missing)}"] if missing else []) + ([f"extra {' '.join(extra)}"] if extra else [])
    return "; ".join(parts)


def _consents(out: _Lines, discovery: Discovery, catalog: Catalog) -> list[str]:
    consented = [key for key in catalog.apps if discovery.apps.get(key) and discovery.apps[key].service_principal]
    absent = [key for key in catalog.apps if key not in consented]
    graph = discovery.graph_service_principal
    graph_id = str((graph or {}).get("id") or "")
    role_values = {str(r.get("id")).lower(): str(r.get("value")) for r in (graph or {}).get("appRoles") or ()}
    for key in consented:
        app, found = catalog.apps[key], discovery.apps[key]
        if found.service_principal.get("accountEnabled") is False:
            out.note(f"{key}: its service principal is disabled", 2, ["consent.service_principal"])
        if graph is None:
            out.note(f"{key}: Microsoft Graph's service principal was not found", 2,
                     ["consent.delegated_scopes", "consent.app_roles"])
            continue
        scopes = _difference(app.delegated_scopes, _granted_scopes(found, graph_id))
        if scopes:
            out.note(f"{key}: delegated scopes differ from the catalogue ({scopes})", 2, ["consent.delegated_scopes"])
        roles = {role_values.get(str(a.get("appRoleId")).lower(), str(a.get("appRoleId")))
                 for a in found.app_role_assignments if str(a.get("resourceId")) == graph_id}
        difference = _difference(app.app_roles, roles)
        if difference:
            out.note(f"{key}: application permissions differ from the catalogue ({difference})", 2, ["consent.app_roles"])
    if absent:
        out.note(f"Not consented in this tenant (no service principal): {', '.join(absent)}", 2)
    out.add(f"  consents: {flow_list(consented)}")
    return consented


def _addins(out: _Lines, discovery: Discovery, catalog: Catalog, consented: list[str], declared_domains: set[str],
            names: dict[str, str]) -> None:
    entries: list[list[str]] = []
    used: set[str] = set()
    for key, groups in discovery.addin_groups.items():
        how = addin_group_filter(catalog, key, names)
        if not groups:
            out.note(f"{key}: no group found ($filter={quoted(how)})", 2)
            continue
        if key not in consented:
            listed = ", ".join(quoted(str(g.group.get("displayName"))) for g in groups)
            out.note(f"{key}: group(s) {listed} found, but {key} is not consented: not declared", 2)
            continue
        counts: dict[str, int] = {}
        for g in groups:
            counts[str(g.group.get("displayName")).casefold()] = counts.get(str(g.group.get("displayName")).casefold(), 0) + 1
        for g in groups:
            display = str(g.group.get("displayName") or "")
            folded = display.casefold()
            if counts[folded] > 1:
                if folded not in used:
                    out.note(f"{key}: {counts[folded]} groups are named {quoted(display)}; drift cannot tell which "
                             "assigns the add-in, so none is declared: rename all but one", 2)
                used.add(folded)
                continue
            if folded in used:
                out.note(f"{key}: group {quoted(display)} is already declared for another add-in", 2)
                continue
            used.add(folded)
            entries.append(_addin_entry(out, key, g, declared_domains, _deployment(discovery, catalog, key), catalog))
    if not entries:
        return
    out.add("  addins:")
    for entry in entries:
        out.lines.extend(entry)


def _deployment(discovery: Discovery, catalog: Catalog, key: str) -> tuple[str | None, Any]:
    """(why the deployment cannot be compared, or None; Get-App's entry for the catalogue's manifest, or None)."""
    addin = catalog.apps[key].addin
    if addin is None or addin.info is None:
        return f"the catalogue's manifest for {key} cannot be read", None
    if discovery.exchange_denied:
        return "Exchange Online refused the identity (no Exchange rights)", None
    wanted = addin.info.id.lower()
    return None, next((a for a in discovery.organization_apps if str(a.get("AppId") or "").lower() == wanted), None)


def _deployment_notes(notes: _Lines, key: str, catalog: Catalog, deployment: tuple[str | None, Any],
                      users: list[str]) -> None:
    """Comments for what addin.deployment will report on the declared users."""
    from sage365.exchange.apps import app_from_json
    from sage365.manifest import version_key

    reason, raw = deployment
    check = ["addin.deployment"]
    if reason is not None:
        notes.note(f"Centralized Deployment not compared: {quoted(reason)}", 6, check)
        return
    if raw is None:
        notes.note(f"{key}'s add-in is not deployed through Centralized Deployment (Exchange organization apps)", 6, check)
        return
    deployed = app_from_json(raw)
    if deployed.problem:
        notes.note(f"Centralized Deployment not compared: Get-App's answer cannot be read ({quoted(deployed.problem)})", 6, check)
        return
    manifest = catalog.apps[key].addin.info
    problems = []
    if not deployed.enabled:
        problems.append("disabled")
    try:
        same_version = version_key(deployed.version) == version_key(manifest.version)
    except ValueError:
        same_version = False
    if not same_version:
        problems.append(f"version {quoted(deployed.version or 'unknown')}, the catalogue's manifest is {manifest.version}")
    if deployed.provided_to.casefold() == "everyone":
        problems.append("provided to everyone")
    else:
        provided = {u.casefold() for u in deployed.user_list}
        declared = {u.casefold() for u in users}
        if provided != declared:
            missing = sorted(u for u in users if u.casefold() not in provided)
            extra = sorted(u for u in deployed.user_list if u.casefold() not in declared)
            problems.append("its users differ from the group's" + (f": not provided {', '.join(map(quoted, missing))}"
                                                                     if missing else "")
                            + (f"; provided but not members {', '.join(map(quoted, extra))}" if extra else ""))
    if problems:
        notes.note(f"{key}'s Centralized Deployment: {'; '.join(problems)}", 6, check)


def _addin_entry(out: _Lines, key: str, found: GroupFound, declared_domains: set[str],
                 deployment: tuple[str | None, Any], catalog: Catalog) -> list[str]:
    display = str(found.group.get("displayName") or "")
    notes = _Lines()
    users: list[str] = []
    for member in sorted(found.members, key=lambda m: (str(m.get("userPrincipalName") or ""), str(m.get("id")))):
        kind = str(member.get("@odata.type") or "").lower()
        upn = str(member.get("userPrincipalName") or "")
        if is_user_json(member):  # drift's rule (sage365.graph.mapping): an untyped member with a UPN, even "", is a user
            domain = upn.rsplit("@", 1)[-1].lower()
            if UPN.fullmatch(upn) and domain in declared_domains:
                users.append(upn)
            else:
                notes.note(f"Member {quoted(upn)} cannot be declared (not a UPN on the tenant's verified domains, "
                           "such as a guest)", 6, ["addin.members"])
        elif kind == GROUP_TYPE:
            notes.note(f"Nested group {quoted(str(member.get('displayName') or member.get('id')))} is a member: "
                       "its members are not declared (add-in members are direct members only; informational)", 6,
                       ["addin.members"])
        else:
            notes.note(f"Member {quoted(str(member.get('id')))} ({quoted(kind or 'unknown type')}) is not a user: "
                       "not declared", 6)
    _deployment_notes(notes, key, catalog, deployment, users)
    out.named |= notes.named
    lines = [f"    - app: {key}", "      group:", f"        displayName: {scalar(display)}"]
    lines += notes.lines
    users = sorted(users, key=str.casefold)
    lines += ["      users:"] + [f"        - {scalar(u)}" for u in users] if users else ["      users: []"]
    return lines

