"""`sage365 sandbox`: being built (issue 3)."""

import typer

app = typer.Typer(no_args_is_help=True)


@app.command("serve")
def serve() -> None:
    """Serve the sandbox (being built)."""
    typer.echo("sage365 sandbox serve: not built yet", err=True)
    raise typer.Exit(2)
