"""spec.connector (step 7) of an exported declaration, from Graph beta's application proxy connectors.

Part of sage365.onboarding.declare (kept apart for size): same rules, every comment that
predicts a finding ends "drift will report connector.status".
"""

from __future__ import annotations

from typing import Any, Iterable

from sage365.onboarding.discovery import Discovery
from sage365.onboarding.yamltext import quoted, scalar

Obj = dict[str, Any]


def _short(machine_name: str) -> str:
    """A connector's machine name as connector.status matches it: the FQDN's first label."""
    return machine_name.split(".", 1)[0]


def _listed(connectors: Iterable[Obj]) -> str:
    return ", ".join(f"{quoted(str(c.get('machineName') or ''))} ({str(c.get('status') or 'unknown')}, "
                     f"version {quoted(str(c.get('version') or 'unknown'))})" for c in connectors)


def declare_connector(out: Any, discovery: Discovery) -> None:
    """spec.connector (step 7): the active connector's machine (its FQDN's first label, as
    connector.status matches it); the inactive one's when none is active, with a comment;
    no machineName (any connector counts) when several machines qualify."""
    if discovery.connectors_denied is not None:
        out.note(f"The application proxy connectors could not be read (Graph beta answered "
                 f"{quoted(discovery.connectors_denied)}; see docs/exchange.md, Connectors): connector not declared, "
                 "declare spec.connector by hand", 2)
        return
    found = sorted(discovery.connectors, key=lambda c: (str(c.get("machineName") or "").casefold(), str(c["id"])))
    if not found:
        out.note("No application proxy connector is registered (the Microsoft 365 connector of step 7 is not "
                 "installed): connector not declared", 2)
        return
    active = [c for c in found if str(c.get("status") or "").casefold() == "active"]
    inactive = [c for c in found if c not in active]
    named = active or inactive
    machines = sorted({_short(str(c.get("machineName") or "")).casefold(): _short(str(c.get("machineName") or ""))
                       for c in named}.items())
    # (text, check ids) of each comment, written inside the block, or above it when it has no machineName
    notes = [(f"Active application proxy connector(s): {_listed(active)}", [])] if active else [
        (f"Only inactive application proxy connector(s): {_listed(inactive)}", ["connector.status"])]
    if active and inactive:
        notes.append((f"Also registered, inactive: {_listed(inactive)}", []))
    if len(machines) == 1 and machines[0][1] and len(machines[0][1]) <= 256:
        out.add("  connector:")
        for text, checks in notes:
            out.note(text, 4, checks)
        out.add(f"    machineName: {scalar(machines[0][1])}")
        return
    # Several machines (or one without a usable name): which is the Sage 100 server's cannot be told.
    for text, checks in notes:
        out.note(text, 2, checks)
    why = "Several machines qualify" if len(machines) > 1 else "The connector reports no usable machine name"
    out.note(f"{why}: declared without machineName (any connector counts); set machineName to the Sage 100 "
             "server's", 2)
    out.add("  connector: {}")
