"""Run the real Pulumi program (components.program.main) under Pulumi's mock runtime.

Each run gets a fresh contextvars.Context and a fresh event loop, so Pulumi's ambient
settings, config, root stack and outstanding RPCs never leak between tests. Runs are
never in preview mode: unknown outputs would hide failures. The monitor records what
the mock runtime alone does not expose: each resource's parent, provider and options.
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime.settings import SETTINGS, get_root_resource
from pulumi.runtime.stack import run_pulumi_func

from sage365.catalog import MICROSOFT_GRAPH_APP_ID

# Microsoft Graph's real application permission ids.
GRAPH_APP_ROLE_IDS = {
    "User.Read.All": "df021288-bdef-4463-88db-98f22de89214",
    "Group.Read.All": "5b567255-7703-4780-807c-7be8301ae99b",
}
GRAPH_SP_OBJECT_ID = "graph-sp-object-id"
# The example tenants' spec.tenantId (tenants/*.yaml), as pinned in stacks/Pulumi.<name>.yaml.
TENANT_IDS = {
    "contoso": "11111111-1111-4111-8111-111111111111",
    "fabrikam": "22222222-2222-4222-8222-222222222222",
    "northwind": "33333333-3333-4333-8333-333333333333",
}


def sp_object_id(app_id: str) -> str:
    return f"sp-{app_id}"


def user_object_id(upn: str) -> str:
    return f"user-{upn}"


def group_object_id(display_name: str) -> str:
    return f"group-{display_name}"


class TenantMocks(pulumi_mocks.Mocks):
    """Answers like azuread would, camelCase keys as the provider returns them."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict, str]] = []

    def new_resource(self, args: pulumi_mocks.MockResourceArgs) -> tuple[str, dict]:
        inputs = dict(args.inputs)
        if args.typ == "azuread:index/servicePrincipal:ServicePrincipal":
            return sp_object_id(inputs["clientId"]), {**inputs, "objectId": sp_object_id(inputs["clientId"])}
        if args.typ == "azuread:index/group:Group":
            oid = group_object_id(inputs["displayName"])
            return oid, {**inputs, "objectId": oid}
        return f"{args.name}-id", inputs

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict, list | None]:
        self.calls.append((args.token, dict(args.args), args.provider))
        if args.token == "azuread:index/getServicePrincipal:getServicePrincipal":
            client_id = args.args["clientId"]
            if client_id == MICROSOFT_GRAPH_APP_ID:
                return {"objectId": GRAPH_SP_OBJECT_ID, "clientId": client_id, "appRoleIds": GRAPH_APP_ROLE_IDS}, []
            return {"objectId": sp_object_id(client_id), "clientId": client_id, "appRoleIds": {}}, []
        if args.token == "azuread:index/getUser:getUser":
            upn = args.args["userPrincipalName"]
            return {"objectId": user_object_id(upn), "userPrincipalName": upn}, []
        raise AssertionError(f"unexpected invoke {args.token}")


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


def run_program(program: Callable[[], None], *, stack: str, config: dict[str, str]) -> ProgramRun:
    """Run `program` as stack `stack` with `config` (keys like "azuread:tenantId")."""
    return contextvars.Context().run(_run, program, stack, config)


def _run(program: Callable[[], None], stack: str, config: dict[str, str]) -> ProgramRun:
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
    # The azuread provider's SDK fills unset inputs from ARM_* variables: keep the machine's out.
    saved_env = {key: os.environ.pop(key) for key in list(os.environ) if key.startswith("ARM_")}
    mocks = TenantMocks()
    monitor = RecordingMonitor(mocks)
    handler = _ListHandler()
    logger = logging.Logger(f"pulumi-mock-{stack}")
    logger.addHandler(handler)
    try:
        pulumi.runtime.set_mocks(mocks, project="sage365", stack=stack, preview=False, monitor=monitor, logger=logger)
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
        error=error,
    )
