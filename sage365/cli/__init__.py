"""The sage365 command line: the only place that prints or exits.

Each command lives in its own module here. Heavy libraries (msgraph, azure-identity,
pulumi) are imported inside the commands, so `sage365 --help` stays fast.
"""

from __future__ import annotations

import typer

from sage365.cli import affected, ci, drift, export, sandbox, stacks, validate

app = typer.Typer(
    name="sage365",
    help="Associate customers' Microsoft 365 tenants with Sage 100, from Git.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("validate")(validate.validate)
app.command("drift")(drift.drift)
app.command("affected")(affected.affected)
app.add_typer(stacks.app, name="stacks", help="Pulumi stack files kept in line with tenant files.")
app.add_typer(ci.app, name="ci", help="Steps of the GitHub workflows (docs/ci.md).")
app.command("export")(export.export)
app.add_typer(sandbox.app, name="sandbox", help="The local Microsoft Graph sandbox.")


def main() -> None:
    app()
