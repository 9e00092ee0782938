"""A local Microsoft Graph v1.0 emulator: the subset sage365 reads and writes, over HTTP.

    from sage365.sandbox import SandboxServer, load_state
    with SandboxServer(load_state("sandbox/demo.yaml")) as sandbox:
        http = make_http_client(sandbox.base_url)        # in a coroutine; `await http.aclose()` when done
        client = graph_client(tenant_id, graph_url=sandbox.base_url, http_client=http)

See docs/sandbox.md for what it does and does not emulate.
"""

from sage365.sandbox.faults import Fault, Faults
from sage365.sandbox.server import SandboxServer
from sage365.sandbox.state import (
    State,
    StateError,
    load_state,
    save_state,
    state_from_json,
)
from sage365.sandbox.stats import Stats

__all__ = ["Fault", "Faults", "SandboxServer", "State", "StateError", "Stats", "load_state", "save_state", "state_from_json"]
