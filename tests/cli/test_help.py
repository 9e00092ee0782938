"""The top-level group lists commands without importing them, and each listing is the command's own help."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from sage365.cli import COMMANDS, app, load_command


@pytest.mark.parametrize("name", list(COMMANDS))
def test_listed_help_is_the_commands_own(name):
    assert load_command(name).help.strip().replace("\n", " ") == COMMANDS[name][2]


def test_the_listing_names_every_command_in_order():
    result = CliRunner().invoke(app, ["--help"], terminal_width=200)
    assert result.exit_code == 0
    listed = result.stdout.split("Commands:\n", 1)[1].splitlines()
    assert [line.split()[0] for line in listed] == ["validate", "drift", "affected", "export", "stacks", "ci", "sandbox"]


@pytest.mark.parametrize(("argv", "first"), [
    (["drift", "--help"], "Usage: sage365 drift [OPTIONS] [paths]..."),
    (["ci", "render", "--help"], "Usage: sage365 ci render [OPTIONS]"),
    (["sandbox", "serve", "--help"], "Usage: sage365 sandbox serve [OPTIONS]"),
])
def test_a_command_is_loaded_when_it_runs(argv, first):
    result = CliRunner().invoke(app, argv, terminal_width=200)
    assert (result.exit_code, result.stdout.splitlines()[0]) == (0, first)


def test_an_unknown_command_is_a_usage_error():
    result = CliRunner().invoke(app, ["nope"])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == "Error: No such command 'nope'."


def test_every_command_runs_with_the_collector_thresholds_of_a_short_lived_process():
    """The console script sets them before any command's imports (why: sage365.cli.GC_THRESHOLDS)."""
    code = ("import gc, sys; sys.argv = ['sage365', 'validate', '--help']; from sage365.cli import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print(gc.get_threshold(), file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stderr == "(50000, 20, 20)\n"
