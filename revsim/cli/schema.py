"""``revsim schema``: the JSON Schema of scenario files."""

from __future__ import annotations

import json
from pathlib import Path

import click

from revsim.cli.exits import handles_errors
from revsim.cli.output import OUT_FILE
from revsim.scenario.schema import json_schema


@click.command()
@click.option("-o", "--output", type=OUT_FILE, help="Write to a file.")
@handles_errors
def schema(output: str | None) -> None:
    """Print the JSON Schema of scenario files (for editor completion and checking)."""
    text = json.dumps(json_schema(), indent=2)
    if output:
        Path(output).write_text(text + "\n", encoding="utf-8")
    else:
        click.echo(text)
