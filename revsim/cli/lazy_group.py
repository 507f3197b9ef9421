"""A click group that imports a command's module only when that command runs.

Each command's module imports the API (and so numpy, scipy, pandas...) at its top; the group
knows each command by name, module and one-line summary, so ``revsim --help`` lists them all
without importing any.
"""

from __future__ import annotations

from importlib import import_module
from typing import NamedTuple

import click

from revsim.cli.exits import clean_errors
from revsim.limits import MAX_ECHO, clip

#: ``revsim --help`` lists the commands by what they are for, in the order a user meets them.
COMMAND_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Model", ("run", "validate", "schema")),
    ("Analyse", ("compare", "bottlenecks")),
    ("Calibrate and forecast", ("fit", "backtest", "state", "forecast")),
    ("Scale out", ("sweep", "optimize")),
    ("Report", ("report",)),
)


class LazyCommand(NamedTuple):
    module: str
    """The module that defines the command, as an attribute named like it."""
    summary: str
    """The first paragraph of the command's help, on one line (tests keep the two equal)."""


class LazyGroup(click.Group):
    def __init__(self, *args: object, lazy_commands: dict[str, LazyCommand],
                 **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.lazy_commands = lazy_commands

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands or cmd_name not in self.lazy_commands:
            return super().get_command(ctx, cmd_name)
        # Under load the import takes seconds: Ctrl-C then ends as it does during the command
        # (exit 130, one clean line), not as click's "Aborted!" (exit 1).
        with clean_errors():
            command = import_command(cmd_name, self.lazy_commands[cmd_name])
        self.add_command(command, cmd_name)
        return command

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except click.ClickException as err:
            # click quotes a bad value whole (a 5,000-digit --seed): keep the message short
            err.message = clip(err.message, MAX_ECHO + 100)
            raise

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """As click's, but a command not imported yet is listed from its summary."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            command = self.commands.get(name)
            if command is None:
                # a stand-in shortens the summary exactly as the command itself would
                stand_in = click.Command(name, help=self.lazy_commands[name].summary)
                rows.append((name, stand_in.get_short_help_str(limit)))
            elif not command.hidden:
                rows.append((name, command.get_short_help_str(limit)))
        by_name = dict(rows)
        for title, members in COMMAND_GROUPS:
            shown = [(n, by_name.pop(n)) for n in members if n in by_name]
            if shown:
                with formatter.section(title):
                    formatter.write_dl(shown)
        if by_name:  # a command no group names yet still shows
            with formatter.section("Other commands"):
                formatter.write_dl(sorted(by_name.items()))


def import_command(name: str, lazy: LazyCommand) -> click.Command:
    """The command ``name`` from its module."""
    command = getattr(import_module(lazy.module), name.replace("-", "_"))
    if not isinstance(command, click.Command):
        raise TypeError(f"{lazy.module}.{name} is not a click command")
    return command
