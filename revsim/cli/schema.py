"""``revsim schema``: the JSON Schema of scenario files."""

from __future__ import annotations

import json

import click

from revsim.cli.exits import handles_errors
from revsim.cli.output import OUT_FILE
from revsim.io import write_text
from revsim.scenario.schema import json_schema


@click.command()
@click.option("-o", "--out", "--output", "output", type=OUT_FILE, help="Write to a file.")
@handles_errors
def schema(output: str | None) -> None:
    """Print the JSON Schema of scenario files (for editor completion and checking)."""
    text = json.dumps(json_schema(), indent=2)
    if output:
        write_text(output, text + "\n")
    else:
        click.echo(text)
