"""Centralized Deployment of an Outlook add-in, as a Pulumi dynamic resource.

Neither pulumi-azuread nor any other provider manages Exchange Online's organization apps,
so this module implements one with `pulumi.dynamic.ResourceProvider` (why this mechanism:
docs/pulumi.md). The resource is keyed by the manifest's `<Id>` in one tenant; it deploys the
catalogue's manifest to exactly the declared users (New-App, Set-App), reads it back on
refresh (Get-App), and on delete removes the app only if this resource created it: an add-in
that was already deployed when the resource was created is adopted and left in place.

The provider's methods are plain Python over sage365.exchange and are tested directly
against the sandbox. Against Exchange Online it signs in as the azuread provider and the
preview gate do (sage365.graph.identity): the stack's public sign-in settings travel as the
`auth` input, and the rest (ARM_CLIENT_ID, ARM_USE_OIDC, GitHub's ACTIONS_ID_TOKEN_REQUEST_*,
ARM_OIDC_TOKEN*) comes from the environment of the run, so a nightly refresh signs in as that
job's app, never as the one recorded by the last `up`. No token is ever stored in the state.
"""

from __future__ import annotations

import asyncio
import base64
import os
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Mapping, TypeVar

import pulumi
import pulumi.dynamic

from sage365.catalog import App
from sage365.declaration import AddinAssignment

if TYPE_CHECKING:
    from sage365.exchange.client import ExchangeClient
    from sage365.manifest import Manifest

T = TypeVar("T")
STABLE = ("tenant_id", "app_id")  # the identity of a deployment: changing either replaces it
FIELDS = ("tenant_id", "app_id", "version", "manifest", "users", "enabled", "default_state", "exchange_url", "auth")


class DeploymentError(Exception):
    """A deployment step Exchange refused; the message says which step and why."""


def exchange_credential(props: Mapping[str, Any], env: Mapping[str, str]):
    """The credential for Exchange Online: the azuread provider's identity, bound to the resource's tenant.

    `props["auth"]` holds the stack's public sign-in settings; `env` gives the rest, as the
    provider reads it. Settings the gate would refuse are refused here too, in one message.
    """
    from sage365.graph import identity

    tenant_id = props["tenant_id"]
    auth = identity.resolve(dict(props.get("auth") or {}), env)
    wrong = identity.problems(auth, env, tenant_id)
    if wrong:
        raise DeploymentError(f"tenant {tenant_id}, add-in {props['app_id']}: cannot sign in to Exchange Online as the "
                              f"azuread provider does: {'; '.join(wrong)}")
    return identity.credential(auth, tenant_id)


def _run(make: Callable[[Any], Awaitable[T]], props: dict[str, Any]) -> T:
    """Run one Exchange conversation for the resource's tenant, with a client of its own."""
    from sage365.exchange.client import ExchangeClient, ExchangeError, token_source

    async def main() -> T:
        tenant_id, base = props["tenant_id"], props.get("exchange_url") or None
        credential = None
        if base is None:  # the real Exchange Online: the provider's identity, for this tenant only
            credential = exchange_credential(props, os.environ)
        try:
            async with ExchangeClient(tenant_id, token_source(tenant_id, credential=credential, sandbox=base is not None),
                                      base_url=base) as client:
                return await make(client)
        except ExchangeError as exc:
            raise DeploymentError(f"tenant {tenant_id}, add-in {props['app_id']}: {exc.describe()}") from None
        finally:
            if credential is not None:
                await credential.close()

    return asyncio.run(main())


def _manifest(props: dict[str, Any]):
    from sage365.manifest import parse_manifest

    return parse_manifest(base64.b64decode(props["manifest"]), f"manifest of {props['app_id']}")


def _same_users(a: list[str], b: list[str]) -> bool:
    return {u.casefold() for u in a} == {u.casefold() for u in b}


def unreadable_version_message(manifest: Manifest, reported: str) -> str:
    """Why nothing was changed when Exchange reports a version sage365 cannot compare."""
    shown = repr(reported) if reported else "none (an empty AppVersion)"
    return (f"Exchange Online reports the add-in at version {shown}, which is not a dotted version of 1 to 4 "
            f"numbers, so sage365 cannot tell whether the manifest's version {manifest.version} is newer; nothing "
            "was changed. Remove the app (Microsoft 365 admin centre > Settings > Integrated apps, or "
            f"Remove-App -OrganizationApp -Identity {manifest.id}), then run `pulumi up` again to deploy the manifest")


async def _deploy(client: ExchangeClient, manifest: Manifest, props: dict[str, Any]) -> bool:
    """Bring the organization app in line with `props`, for create and update alike; True when
    it was absent and New-App created it (New-App then also set the users and states).

    Present: New-App first when the live version is older than the manifest's, then Set-App
    to the declared users and states. Present at a version that is not a dotted version
    (empty, null, "latest", "1.0.x"): nothing is sent. New-App over an installed app is
    what Exchange refuses ("already installed") unless it upgrades it, and whether the live
    app is older cannot be told, so the partner decides (DeploymentError, one line).
    """
    from sage365.exchange import apps
    from sage365.manifest import reported_version_key

    users, enabled, state = props["users"], props["enabled"], props["default_state"]
    live = (await apps.organization_apps(client)).get(manifest.id)
    if live is None:
        await apps.new_app(client, manifest, users, enabled=enabled, default_state=state)
        return True
    reported = reported_version_key(live.version)
    if not reported:
        raise DeploymentError(f"tenant {props['tenant_id']}, add-in {props['app_id']}: "
                              f"{unreadable_version_message(manifest, live.version)}")
    if reported < manifest.version_key:
        await apps.new_app(client, manifest, users, enabled=enabled, default_state=state)
    # Already deployed (by hand, another stack, or this one): bring it in line, never remove it later.
    await apps.set_app(client, manifest.id, users, enabled=enabled, default_state=state)
    return False


class OutlookAddinDeploymentProvider(pulumi.dynamic.ResourceProvider):
    """Create/read/diff/update/delete of one organization app in one tenant."""

    serialize_as_secret_always = False  # the provider holds no secret: credentials are read at run time

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.CheckResult:
        failures = []
        try:
            uuid.UUID(str(news.get("tenant_id")))
        except ValueError:
            failures.append(pulumi.dynamic.CheckFailure("tenant_id", "must be the tenant's GUID"))
        try:
            manifest = _manifest(news)
            if manifest.id != str(news.get("app_id", "")).lower() or manifest.version != news.get("version"):
                failures.append(pulumi.dynamic.CheckFailure("manifest", "does not match app_id and version"))
        except Exception as exc:  # noqa: BLE001 (any unreadable manifest is a check failure)
            failures.append(pulumi.dynamic.CheckFailure("manifest", str(exc)))
        if news.get("default_state") not in ("Enabled", "Disabled", "AlwaysEnabled"):
            failures.append(pulumi.dynamic.CheckFailure("default_state", "must be Enabled, Disabled or AlwaysEnabled"))
        return pulumi.dynamic.CheckResult(news, failures)

    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        manifest = _manifest(props)
        created = _run(lambda client: _deploy(client, manifest, props), props)
        return pulumi.dynamic.CreateResult(f"{props['tenant_id']}/{manifest.id}", {**props, "created": created})

    def read(self, id_: str, props: dict[str, Any]) -> pulumi.dynamic.ReadResult:
        from sage365.exchange import apps

        app_id = id_.rsplit("/", 1)[-1]
        live = _run(lambda client: apps.organization_apps(client), {**props, "app_id": app_id}).get(app_id)
        if live is None:
            return pulumi.dynamic.ReadResult("", {})  # gone from the tenant: the next update recreates it
        return pulumi.dynamic.ReadResult(id_, {
            **props, "version": live.version, "users": list(live.user_list), "enabled": live.enabled,
            "default_state": live.default_state, "provided_to": live.provided_to})

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.DiffResult:
        replaces = [k for k in STABLE if str(olds.get(k, "")).lower() != str(news.get(k, "")).lower()]
        changed = [k for k in ("version", "enabled", "default_state") if olds.get(k) != news.get(k)]
        if not _same_users(olds.get("users", []), news.get("users", [])):
            changed.append("users")
        if olds.get("provided_to", "SpecificUsers") != "SpecificUsers":
            changed.append("provided_to")
        return pulumi.dynamic.DiffResult(changes=bool(replaces or changed), replaces=replaces, stables=list(STABLE),
                                         delete_before_replace=True)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.UpdateResult:
        manifest = _manifest(news)
        recreated = _run(lambda client: _deploy(client, manifest, news), news)
        # Deployed again after it was removed by hand: this resource created the live app now.
        return pulumi.dynamic.UpdateResult({**news, "created": bool(olds.get("created")) or recreated})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        if not props.get("created"):
            return  # adopted, not created here: it stays deployed
        from sage365.exchange import apps
        from sage365.exchange.client import ExchangeError

        async def remove(client) -> None:
            try:
                await apps.remove_app(client, props["app_id"])
            except ExchangeError as exc:
                if exc.status != 404:  # already gone is what delete wants
                    raise

        _run(remove, props)


@dataclass(frozen=True)
class OutlookAddinDeploymentArgs:
    tenant_id: str
    assignment: AddinAssignment  # the declared users
    app: App  # its catalogue entry, with the parsed manifest
    exchange_url: str | None = None  # the sandbox's root; None: Exchange Online
    default_state: str = "Enabled"  # DefaultStateForUser: users find it on, and may turn it off
    # The stack's public azuread sign-in settings (identity.PUBLIC_SETTINGS), as in stack config.
    auth: Mapping[str, str] = field(default_factory=dict)


class OutlookAddinDeployment(pulumi.dynamic.Resource):
    """Sage Contact (or any catalogue add-in) deployed by Centralized Deployment to the declared users."""

    app_id: pulumi.Output[str]
    version: pulumi.Output[str]
    users: pulumi.Output[list]
    created: pulumi.Output[bool]

    def __init__(self, name: str, args: OutlookAddinDeploymentArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        manifest = args.app.addin.info if args.app.addin else None
        if manifest is None:
            raise ValueError(f"{args.app.key}: no readable add-in manifest in the catalogue")
        props = {
            "tenant_id": args.tenant_id,
            "app_id": manifest.id,
            "version": manifest.version,
            "manifest": base64.b64encode(manifest.data).decode("ascii"),
            "users": list(args.assignment.users),
            "enabled": True,
            "default_state": args.default_state,
            "exchange_url": args.exchange_url or "",
            "auth": dict(args.auth),
            "created": None,  # an output: set by create
            "provided_to": None,
        }
        super().__init__(OutlookAddinDeploymentProvider(), name, props, opts)
