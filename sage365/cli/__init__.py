"""The sage365 command line: the only place that prints or exits.

Each command lives in its own module here. The top-level group knows the commands by
name and one-line help only: a command's module (and what it imports: jsonschema, PyYAML,
msgraph, httpx...) is imported when that command is the one being run, so `sage365 --help`
imports typer and nothing of ours beyond this file.
"""

from __future__ import annotations

import gc
import importlib
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

# name -> (module, attribute, one-line help shown by `sage365 --help`). A function attribute
# is a command, a typer.Typer attribute a group of commands. tests/cli/test_help.py checks each
# line against the loaded command's own help, so the two cannot drift apart.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "validate": ("sage365.cli.validate", "validate",
                 "Validate tenant declarations: schema, then meaning. Exit 0 valid, 1 invalid, 2 usage error."),
    "drift": ("sage365.cli.drift", "drift",
              "Report drift between live tenants and their declarations. Exit 0 compliant, 1 drift, 2 error."),
    "affected": ("sage365.cli.affected", "affected",
                 "List the tenants a git change touches (tenant or stack file, or every tenant for shared files). "
                 "Exit 0, or 2 on a git error."),
    "export": ("sage365.cli.export", "export",
               "Write tenants/<name>.yaml and stacks/Pulumi.<name>.yaml for what live tenants hold now. "
               "Exit 0 all exported, 2 any failed."),
    "stacks": ("sage365.cli.stacks", "app", "Pulumi stack files kept in line with tenant files."),
    "ci": ("sage365.cli.ci", "app", "Steps of the GitHub workflows (docs/ci.md)."),
    "sandbox": ("sage365.cli.sandbox", "app", "The local Microsoft Graph sandbox."),
}


class _Placeholder(TyperCommand):
    """A command's name and help for the listing, before its module is imported."""


def load_command(name: str) -> Any:
    """The click command `name`, built by typer from its module exactly as eager registration would."""
    module, attribute, summary = COMMANDS[name]
    target = getattr(importlib.import_module(module), attribute)
    holder = typer.Typer(rich_markup_mode=None)
    if isinstance(target, typer.Typer):
        holder.add_typer(target, name=name, help=summary)
    else:
        holder.command(name)(target)
    return typer.main.get_group(holder).commands[name]


_LISTING = "sage365.listing"  # ctx.meta key: set while the group's own help is written


class LazyGroup(TyperGroup):
    """The top-level group: placeholders while its help lists the commands, else the real command."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        for name, (_module, _attribute, summary) in COMMANDS.items():
            self.commands.setdefault(name, _Placeholder(name=name, help=summary, callback=None))

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = self.commands.get(cmd_name)
        if isinstance(command, _Placeholder) and not ctx.meta.get(_LISTING):
            command = self.commands[cmd_name] = load_command(cmd_name)
        return command

    def format_help(self, ctx: Any, formatter: Any) -> None:
        ctx.meta[_LISTING] = True
        try:
            super().format_help(ctx, formatter)
        finally:
            ctx.meta[_LISTING] = False


app = typer.Typer(
    name="sage365",
    cls=LazyGroup,
    help="Associate customers' Microsoft 365 tenants with Sage 100, from Git.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Click's plain help and one-line errors: typer's rich panels import rich and markdown-it
    # on every --help and usage error (about half of `sage365 --help`'s time, measured in
    # /work/brief/notes/issue-11-help.md), and a boxed error is several lines, not one.
    rich_markup_mode=None,
)


@app.callback()
def _root() -> None:
    """Associate customers' Microsoft 365 tenants with Sage 100, from Git."""


# Python's default (700, 10, 10) collects the young generation every 700 new objects and the
# whole heap every 70,000: the imports of msgraph, kiota and httpx and each tenant's requests
# create millions, and a 300-tenant `sage365 drift` spent ~185 ms of its 1.6 s of CPU in the
# collector (gc.callbacks). At (50,000, 20, 20), on top of sage365.runner's gc.freeze before
# the read: 1,000 tenants at 50 ms latency 3.08-3.21 -> 2.78-2.87 ms of CPU per tenant, same
# peak memory (README, Benchmarks). Cycles are still collected, in fewer, larger passes.
GC_THRESHOLDS = (50_000, 20, 20)


def main() -> None:
    gc.set_threshold(*GC_THRESHOLDS)
    app()
