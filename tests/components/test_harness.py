"""The mock-runtime harness itself: a run leaves nothing behind for a later test to trip on."""

from __future__ import annotations

import asyncio
import gc
import os

from components.program import main
from tests.components.harness import TENANT_IDS, run_program

CONFIG = {"azuread:tenantId": TENANT_IDS["fabrikam"], "sage365:skipGate": "true"}


def open_event_loops() -> list[asyncio.AbstractEventLoop]:
    gc.collect()
    return [o for o in gc.get_objects() if isinstance(o, asyncio.AbstractEventLoop) and not o.is_closed()]


def test_a_run_closes_every_event_loop_it_created():
    # The mock monitor answers from executor threads, each given a loop by Pulumi's
    # _sync_await; left open, one fails in __del__ during a later test's collection.
    before = open_event_loops()
    run = run_program(main, stack="fabrikam", config=CONFIG)
    assert run.error is None
    assert open_event_loops() == before


def test_arm_variables_of_the_machine_do_not_reach_the_provider(monkeypatch):
    monkeypatch.setenv("ARM_USE_MSI", "true")
    monkeypatch.setenv("ARM_ENVIRONMENT", "china")
    run = run_program(main, stack="fabrikam", config=CONFIG)
    assert run.state[run.by_name["fabrikam-azuread"].urn] == {
        "tenantId": TENANT_IDS["fabrikam"], "useOidc": "true", "useMsi": "false", "environment": "public",
    }
    assert {key: value for key, value in os.environ.items() if key.startswith("ARM_")} == {
        "ARM_USE_MSI": "true", "ARM_ENVIRONMENT": "china",
    }
