"""Run the real Pulumi program (components.program.main) under Pulumi's mock runtime.

Each run gets a fresh contextvars.Context and a fresh event loop, so Pulumi's ambient
settings, config, root stack and outstanding RPCs never leak between tests. A run is an
update by default, or a preview (`preview=True`), where what is created has an unknown id
and unknown computed outputs, as the engine gives them. The mocks answer as pulumi-azuread
6.x does (UUID object ids, its resource id formats) and refuse a non-UUID object-id input,
so `.id` used where an object id belongs fails a test. The monitor records what the mock
runtime alone does not expose: each resource's parent, provider and options (import id,
ignore_changes, aliases).
"""

from __future__ import annotations

import asyncio
import base64
import contextvars
import gc
import logging
import os
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

import pulumi
from pulumi.output import Unknown
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.settings import SETTINGS, get_root_resource
from pulumi.runtime.stack import run_pulumi_func

from sage365.catalog import MICROSOFT_GRAPH_APP_ID
from sage365.checks.consent_common import graph_service_principal, service_principal
from sage365.snapshot import Snapshot

# Microsoft Graph's real application permission ids.
GRAPH_APP_ROLE_IDS = {
    "User.Read.All": "df021288-bdef-4463-88db-98f22de89214",
    "Group.Read.All": "5b567255-7703-4780-807c-7be8301ae99b",
}
# The example tenants' spec.tenantId (tenants/*.yaml), as pinned in stacks/Pulumi.<name>.yaml.
TENANT_IDS = {
    "contoso": "11111111-1111-4111-8111-111111111111",
    "fabrikam": "22222222-2222-4222-8222-222222222222",
    "northwind": "33333333-3333-4333-8333-333333333333",
}
_NAMESPACE = uuid.UUID("5a6e0000-0000-4000-8000-000000000365")
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

# Inputs the provider validates as UUIDs (terraform-provider-azuread: validation.IsUUID).
UUID_INPUTS = ("clientId", "appRoleId", "skuId")


def _uuid(kind: str, key: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{kind}:{key}"))


def sp_object_id(app_id: str) -> str:
    """The object id a synthetic tenant gives an app's service principal (a UUID, as Graph's)."""
    return _uuid("sp", app_id.lower())


def user_object_id(upn: str) -> str:
    return _uuid("user", upn.lower())


def group_object_id(display_name: str) -> str:
    return _uuid("group", display_name)


GRAPH_SP_OBJECT_ID = sp_object_id(MICROSOFT_GRAPH_APP_ID)


ISOLATED_ENV = ("ARM_", "AZURE_", "ACTIONS_ID_TOKEN_", "SAGE365_CREDENTIAL")


class ProviderError(Exception):
    """What the real provider would refuse (its Check), raised from the mock."""


def _check_uuids(typ: str, name: str, inputs: dict) -> None:
    """*ObjectId inputs (and client, role, SKU ids) must be UUIDs, as the provider checks them.

    Unknown values (preview) cannot be checked, as in the real Check.
    """
    for key, value in inputs.items():
        if not (key.endswith("ObjectId") or key in UUID_INPUTS) or isinstance(value, Unknown) or value is None:
            continue
        if not isinstance(value, str) or not UUID_RE.match(value):
            raise ProviderError(f"{typ} {name}: expected {key!r} to be a valid UUID, got {value!r}")


class TenantMocks(pulumi_mocks.Mocks):
    """Answers like pulumi-azuread 6.x would: UUID object ids, the provider's own resource ids,
    camelCase output names, UUID checks on object-id inputs; in preview, a created resource's
    id and computed outputs are unknown, an imported one's are read from the live object.

    live: the tenant as the gate read it; invoke answers then carry its ids.
    """

    def __init__(self, *, preview: bool = False, live: Snapshot | None = None) -> None:
        self.preview = preview
        self.live = live
        self.calls: list[tuple[str, dict, str]] = []
        self.imports: dict[str, tuple[str, str, dict]] = {}  # name -> (type, import id, inputs)

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str, dict]:
        inputs = dict(args.inputs)
        if not args.custom:  # a component: no provider behind it
            return "", inputs
        if args.typ.startswith("pulumi:providers:"):
            return ("" if self.preview else _uuid("provider", args.name)), inputs
        _check_uuids(args.typ, args.name, inputs)
        if args.resource_id:  # an import: the provider reads the existing object by this id
            self.imports[args.name] = (args.typ, args.resource_id, inputs)
            return args.resource_id, {**inputs, **_read_ids(args.typ, args.resource_id)}
        if self.preview:  # a create, planned: what the provider computes is unknown
            return "", {**inputs, **{key: rpc.UNKNOWN for key in _computed(args.typ)}}
        return _created(args.typ, args.name, inputs)

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict, list | None]:
        self.calls.append((args.token, dict(args.args), args.provider))
        if args.token == "azuread:index/getServicePrincipal:getServicePrincipal":
            client_id = args.args["clientId"]
            object_id = self._live_sp(client_id) or sp_object_id(client_id)
            roles = GRAPH_APP_ROLE_IDS if client_id == MICROSOFT_GRAPH_APP_ID else {}
            return {"id": object_id, "objectId": object_id, "clientId": client_id, "appRoleIds": roles}, []
        if args.token == "azuread:index/getUser:getUser":
            upn = args.args["userPrincipalName"]
            object_id = user_object_id(upn)
            return {"id": object_id, "objectId": object_id, "userPrincipalName": upn}, []
        raise AssertionError(f"unexpected invoke {args.token}")

    def _live_sp(self, client_id: str) -> str | None:
        """The live service principal of `client_id`: Graph filters appId case-insensitively."""
        if self.live is None:
            return None
        if client_id.lower() == MICROSOFT_GRAPH_APP_ID:
            sp = graph_service_principal(self.live)
        else:
            sp = service_principal(self.live, client_id)
        return sp.id if sp is not None else None


def _computed(typ: str) -> tuple[str, ...]:
    return ("objectId",) if typ in (SERVICE_PRINCIPAL, GROUP) else ()


def _read_ids(typ: str, import_id: str) -> dict:
    """The object id an import reads back, from the provider-format id it was given."""
    if typ in (SERVICE_PRINCIPAL, GROUP):
        return {"objectId": import_id.rsplit("/", 1)[-1]}
    return {}


def _created(typ: str, name: str, inputs: dict) -> tuple[str, dict]:
    """A create's id in the provider's format (pulumi-azuread 6.x) and its computed outputs."""
    if typ == SERVICE_PRINCIPAL:
        oid = sp_object_id(inputs["clientId"])
        return f"/servicePrincipals/{oid}", {**inputs, "objectId": oid}
    if typ == GROUP:
        oid = group_object_id(inputs["displayName"])
        return f"/groups/{oid}", {**inputs, "objectId": oid}
    if typ == GROUP_MEMBER:
        return f"{inputs['groupObjectId']}/member/{inputs['memberObjectId']}", inputs
    if typ == APP_ROLE_ASSIGNMENT:
        return f"/servicePrincipals/{inputs['resourceObjectId']}/appRoleAssignedTo/{_opaque(name)}", inputs
    if typ == GRANT:
        return f"/oauth2PermissionGrants/{_opaque(name)}", inputs
    if typ == USER_LICENCE:
        return f"{inputs['userObjectId']}/license/{inputs['skuId']}", inputs
    if typ == DYNAMIC:  # components.addin_deployment: its provider's create answers "<tenant>/<AppId>"
        return f"{inputs['tenant_id']}/{inputs['app_id']}", {**inputs, "created": True}
    raise AssertionError(f"unexpected resource type {typ}")


def _opaque(name: str) -> str:
    """Graph's grant and assignment ids are opaque base64url strings, not UUIDs."""
    return base64.urlsafe_b64encode(uuid.uuid5(_NAMESPACE, name).bytes * 2).decode().rstrip("=")


SERVICE_PRINCIPAL = "azuread:index/servicePrincipal:ServicePrincipal"
GRANT = "azuread:index/servicePrincipalDelegatedPermissionGrant:ServicePrincipalDelegatedPermissionGrant"
APP_ROLE_ASSIGNMENT = "azuread:index/appRoleAssignment:AppRoleAssignment"
GROUP = "azuread:index/group:Group"
GROUP_MEMBER = "azuread:index/groupMember:GroupMember"
USER_LICENCE = "azuread:index/userLicense:UserLicense"
DYNAMIC = "pulumi-python:dynamic:Resource"


@dataclass(frozen=True)
class Registered:
    type: str
    name: str
    parent: str  # parent URN; "" for the stack itself
    provider: str  # provider reference "urn::id"; "" for components
    protect: bool
    retain_on_delete: bool
    custom: bool
    urn: str
    import_id: str = ""
    ignore_changes: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()  # the old names a resource is aliased from
    # input name -> URNs of the resources its value came from (the engine's propertyDependencies)
    property_dependencies: tuple[tuple[str, tuple[str, ...]], ...] = ()


class RecordingMonitor(pulumi_mocks.MockMonitor):
    def __init__(self, mocks: pulumi_mocks.Mocks) -> None:
        super().__init__(mocks)
        self.registered: list[Registered] = []
        self.component_outputs: dict[str, dict] = {}

    def RegisterResource(self, request):  # noqa: N802 (gRPC's name)
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.registered.append(
                Registered(
                    type=request.type,
                    name=request.name,
                    parent=request.parent,
                    provider=request.provider,
                    protect=request.protect,
                    retain_on_delete=request.retainOnDelete,
                    custom=request.custom,
                    urn=response.urn,
                    import_id=request.importId,
                    ignore_changes=tuple(request.ignoreChanges),
                    aliases=tuple(a.spec.name for a in request.aliases if a.HasField("spec")),
                    property_dependencies=tuple(sorted(
                        (key, tuple(deps.urns)) for key, deps in request.propertyDependencies.items())),
                )
            )
        return response

    def RegisterResourceOutputs(self, request):  # noqa: N802
        from pulumi.runtime import rpc

        self.component_outputs[request.urn] = rpc.deserialize_properties(request.outputs)
        return super().RegisterResourceOutputs(request)


class _ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.levelname, record.getMessage()))


@dataclass
class ProgramRun:
    resources: list[Registered]
    state: dict[str, dict]  # urn -> the resource's inputs/state as the mock saw them
    component_outputs: dict[str, dict]
    stack_outputs: dict[str, Any]
    calls: list[tuple[str, dict, str]]
    logs: list[tuple[str, str]]
    imports: dict[str, tuple[str, str, dict]]  # name -> (type, import id, inputs)
    error: BaseException | None = None
    by_name: dict[str, Registered] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_name = {r.name: r for r in self.resources}

    def messages(self, level: str) -> list[str]:
        return [m for lvl, m in self.logs if lvl == level]


def _give_thread_a_loop(loops: list[asyncio.AbstractEventLoop]) -> None:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    loops.append(loop)


def run_program(program: Callable[[], None], *, stack: str, config: dict[str, str], preview: bool = False,
                live: Snapshot | None = None, env: dict[str, str] | None = None) -> ProgramRun:
    """Run `program` as stack `stack` with `config` (keys like "azuread:tenantId").

    preview: as `pulumi preview` would, with unknown ids and outputs for what is created.
    live: the tenant the invokes answer from (its object ids).
    env: variables the run sees (the machine's ARM_*, AZURE_*, ACTIONS_ID_TOKEN_* are hidden).
    """
    return contextvars.Context().run(_run, program, stack, config, preview, live, env or {})


def _run(program: Callable[[], None], stack: str, config: dict[str, str], preview: bool,
         live: Snapshot | None, env: dict[str, str]) -> ProgramRun:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    # Pulumi sends each RPC to the monitor from the loop's default executor, and the mock
    # monitor's _sync_await gives every worker thread an event loop of its own that nobody
    # closes; collected later, under another test, such a loop's __del__ fails. Own the
    # executor and its threads' loops, and close them all below.
    thread_loops: list[asyncio.AbstractEventLoop] = []
    executor = ThreadPoolExecutor(thread_name_prefix=f"pulumi-mock-{stack}", initializer=_give_thread_a_loop,
                                  initargs=(thread_loops,))
    loop.set_default_executor(executor)
    # The azuread provider's SDK fills unset inputs from ARM_* variables, and the gate's sign-in
    # reads those and azure-identity's and GitHub's: keep the machine's out.
    saved_env = {key: os.environ.pop(key) for key in list(os.environ) if key.startswith(ISOLATED_ENV)}
    os.environ.update(env)
    mocks = TenantMocks(preview=preview, live=live)
    monitor = RecordingMonitor(mocks)
    handler = _ListHandler()
    logger = logging.Logger(f"pulumi-mock-{stack}")
    logger.addHandler(handler)
    try:
        pulumi.runtime.set_mocks(mocks, project="sage365", stack=stack, preview=preview, monitor=monitor, logger=logger)
        pulumi.runtime.set_all_config(dict(config))
        # MockSettings does not reset the set of pending outputs, whose context default is
        # shared: a failed run leaves tasks of its closed loop there (pulumi.runtime.test
        # clears it for the same reason). A set of this context's own keeps runs apart.
        SETTINGS.outputs = set()
        error: BaseException | None = None
        try:
            loop.run_until_complete(run_pulumi_func(program))
        except Exception as exc:  # noqa: BLE001 (the test asserts on it)
            error = exc
        root = get_root_resource()
        stack_outputs = {
            key: loop.run_until_complete(pulumi.Output.from_input(value).future())
            for key, value in (root.outputs.items() if error is None else ())
        }
    finally:
        # A failed run leaves tasks pending: finish them on this loop rather than leave
        # their coroutines to be destroyed later, under another test.
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
        executor.shutdown(wait=True)
        for thread_loop in thread_loops:
            thread_loop.close()
        asyncio.set_event_loop(None)
        for key in env:
            os.environ.pop(key, None)
        os.environ.update(saved_env)
        # Collect the run's garbage (coroutine frames, tracebacks) now: a later collection
        # that happens to fall inside ast.parse trips CPython 3.11's recursion-depth check.
        gc.collect()
    return ProgramRun(
        resources=list(monitor.registered),
        state={urn: dict(reg.state) for urn, reg in monitor.resources.items()},
        component_outputs=dict(monitor.component_outputs),
        stack_outputs=stack_outputs,
        calls=list(mocks.calls),
        logs=list(handler.records),
        imports=dict(mocks.imports),
        error=error,
    )

