"""`sage365 sandbox serve`: run the local Microsoft Graph sandbox until SIGINT/SIGTERM.

The base URL is the first line of stdout (flushed), so scripts and tests can read it
and point `SAGE365_GRAPH_URL` at it. Only the sandbox (stdlib asyncio, PyYAML) is
imported: never msgraph, so `sage365 --help` stays fast.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer

from sage365.files import OutputError, check_output

app = typer.Typer(no_args_is_help=True)


def _tenant_every(values: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for value in values:
        tenant, _, every = value.partition("=")
        if not tenant or not (every or "1").isdigit():
            raise typer.BadParameter(f"expected TENANT_ID[=N], got {value!r}", param_hint="--fault-429-tenant")
        out[tenant.lower()] = int(every or "1")
    return out


@app.command("serve")
def serve(
    state: Path = typer.Option(..., "--state", exists=True, dir_okay=False, help="State file (YAML or JSON), schema schemas/sandbox-state.schema.json."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(0, "--port", help="Port (0: a free port)."),
    page_size: int = typer.Option(100, "--page-size", min=1, max=999, help="Default page size of collections."),
    latency_ms: float = typer.Option(0.0, "--latency-ms", min=0, help="Latency added to every Graph request."),
    fault_429_every: int = typer.Option(0, "--fault-429-every", min=0, help="Answer every Nth request 429 with Retry-After."),
    fault_429_tenant: list[str] = typer.Option([], "--fault-429-tenant", help="TENANT_ID[=N]: throttle every Nth request of that tenant (default every one). Repeatable."),
    retry_after: int = typer.Option(1, "--retry-after", min=0, help="Retry-After seconds sent with 429 and 503."),
    fault_503_every: int = typer.Option(0, "--fault-503-every", min=0, help="Answer every Nth request 503."),
    fault_504_every: int = typer.Option(0, "--fault-504-every", min=0, help="Answer every Nth request 504."),
    fault_malformed_every: int = typer.Option(0, "--fault-malformed-every", min=0, help="Truncate the JSON body of every Nth response."),
    fault_drop_every: int = typer.Option(0, "--fault-drop-every", min=0, help="Close the connection instead of answering every Nth request."),
    fault_batch_429_every: int = typer.Option(0, "--fault-batch-429-every", min=0, help="Answer every Nth $batch item 429."),
    save: Optional[Path] = typer.Option(None, "--save", dir_okay=False, help="On exit, write the (changed) state to this file."),
) -> None:
    """Serve the sandbox; print its base URL first, then run until SIGINT or SIGTERM."""
    import asyncio
    import signal

    from sage365.sandbox import (
        Faults,
        SandboxServer,
        StateError,
        load_state,
        save_state,
    )

    if save is not None and not (save.parent.is_dir() and os.access(save.parent, os.W_OK)):
        # Refuse now rather than lose every change when saving fails at exit.
        typer.echo(f"error: --save {save}: folder {save.parent} does not exist or is not writable", err=True)
        raise typer.Exit(2)
    if save is not None:
        try:
            check_output(save)  # a FIFO or a device would block or swallow the state at exit
        except OutputError as exc:
            typer.echo(f"error: --save {exc}", err=True)
            raise typer.Exit(2) from None
    try:
        loaded = load_state(state)
    except StateError as exc:
        typer.echo(str(exc), err=True)  # PATH:LINE:COL: message, a line per problem
        raise typer.Exit(2) from None
    faults = Faults(
        latency_ms=latency_ms, throttle_every=fault_429_every, throttle_tenants=_tenant_every(fault_429_tenant),
        retry_after=retry_after, unavailable_every=fault_503_every, gateway_timeout_every=fault_504_every,
        malformed_every=fault_malformed_every, drop_every=fault_drop_every, batch_item_throttle_every=fault_batch_429_every,
    )
    server = SandboxServer(loaded, host=host, port=port, faults=faults, page_size=page_size)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await server.open()
        except OSError as exc:
            typer.echo(f"error: cannot listen on {host}:{port}: {exc.strerror}", err=True)
            raise typer.Exit(2) from None
        typer.echo(server.base_url)
        typer.echo(f"sandbox: {len(loaded.tenants)} tenants from {state}; stats at {server.url}/_sandbox/stats", err=True)
        await server.serve(stop)

    from sage365 import runner

    runner.run(run())  # uvloop where it exists: the sandbox answers a fleet's requests for less CPU
    if save is not None:
        try:
            save_state(server.state, save)
        except OutputError as exc:
            typer.echo(f"error: --save {exc}: the changed state was not saved", err=True)
            raise typer.Exit(1) from None
        typer.echo(f"sandbox: state saved to {save}", err=True)
