"""Start-up loads no heavy library: ``import revsim``, ``revsim --help`` and ``revsim --version``
each run in a fresh interpreter, which then reports what is in ``sys.modules``.

The times themselves are measured by benchmarks/startup.py (whole process), not here. The
lazy command group lists commands from the summaries in ``revsim.cli.COMMANDS``; the last tests
keep those equal to the commands' own help.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import revsim
import revsim.engine
from revsim.cli import COMMANDS, main
from revsim.cli.lazy_group import COMMAND_GROUPS, LazyGroup, import_command

REPO = Path(__file__).resolve().parents[1]

HEAVY = ("numpy", "scipy", "scipy.stats", "pandas", "matplotlib", "dask", "distributed",
         "pyarrow", "lifelines", "simpy", "pydantic", "tqdm")

CHILD = """
import json, sys
{body}
print("\\nMODULES " + json.dumps(sorted(sys.modules)))
"""

BODIES = {
    "import revsim": "import revsim",
    "revsim --help": ("from revsim.cli import main\n"
                      "main(['--help'], prog_name='revsim', standalone_mode=False)"),
    "revsim --version": ("from revsim.cli import main\n"
                         "main(['--version'], prog_name='revsim', standalone_mode=False)"),
}


def child_modules(body: str, tmp_path: Path) -> tuple[str, set[str]]:
    """Run ``body`` in a fresh interpreter (in an empty folder); its output and sys.modules."""
    proc = subprocess.run([sys.executable, "-c", CHILD.format(body=body)], cwd=tmp_path,
                          env={"PYTHONPATH": str(REPO), "PATH": ""}, capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    output, _, modules = proc.stdout.rpartition("\nMODULES ")
    return output, set(json.loads(modules))


@pytest.mark.parametrize("what", list(BODIES))
def test_start_up_loads_no_heavy_library(what: str, tmp_path: Path) -> None:
    output, modules = child_modules(BODIES[what], tmp_path)
    loaded = sorted(m for m in modules if m.partition(".")[0] in HEAVY or m in HEAVY)
    assert loaded == [], f"{what} loaded {loaded[:10]}"
    engine_code = sorted(m for m in modules if m.startswith("revsim.engine."))
    assert engine_code == [], f"{what} imported the engine itself: {engine_code}"
    if what == "revsim --help":
        assert all(name in output for name in COMMANDS)
        commands = {m for m in modules if m.startswith("revsim.cli.")} - {
            "revsim.cli.lazy_group", "revsim.cli.options", "revsim.cli.output",
            "revsim.cli.exits", "revsim.cli.terminal"}
        assert commands == set(), f"--help imported command modules {sorted(commands)}"
    if what == "revsim --version":
        engine = "compiled" if revsim.engine.COMPILED else "interpreted"
        assert output.strip() == f"revsim {revsim.__version__} ({engine} engine)"


def test_a_lazy_name_loads_its_module_on_first_use(tmp_path: Path) -> None:
    body = ("import revsim\n"
            "assert 'revsim.api' not in sys.modules\n"
            "assert {'Scenario', 'load', 'RunResult'} <= set(dir(revsim))\n"
            "from revsim import Scenario\n"
            "assert Scenario is sys.modules['revsim.api'].Scenario\n"
            "assert revsim.RunResult is sys.modules['revsim.results'].RunResult")
    child_modules(body, tmp_path)


def test_every_public_name_resolves() -> None:
    for name in revsim.__all__:
        assert getattr(revsim, name) is not None
    with pytest.raises(AttributeError, match="no_such_name"):
        revsim.no_such_name  # noqa: B018


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_listed_summary_is_the_commands_own_help(name: str) -> None:
    command = import_command(name, COMMANDS[name])
    assert command.name == name
    first_paragraph = (command.help or "").split("\n\n")[0]
    assert COMMANDS[name].summary == " ".join(first_paragraph.split())


def test_help_lists_what_an_eager_group_would() -> None:
    """The lazy listing shows what the imported commands show of themselves: the same rows as
    the same group once every command is imported."""
    def group() -> LazyGroup:
        return LazyGroup("revsim", lazy_commands=COMMANDS, help=main.help, params=main.params,
                         context_settings=main.context_settings)

    lazy = group()  # none imported yet, unlike main
    eager = group()
    for name, lazy_command in COMMANDS.items():
        eager.add_command(import_command(name, lazy_command), name)
    lazy_text = click.Context(lazy, info_name="revsim").get_help()
    eager_text = click.Context(eager, info_name="revsim").get_help()
    assert lazy_text == eager_text


def test_help_groups_every_command_once() -> None:
    grouped = [name for _title, names in COMMAND_GROUPS for name in names]
    assert sorted(grouped) == sorted(COMMANDS)
    text = click.Context(main, info_name="revsim").get_help()
    titles = [title for title, _ in COMMAND_GROUPS]
    assert [line[:-1] for line in text.splitlines() if line[:-1] in titles] == titles
    assert "Other commands" not in text


def test_ctrl_c_while_a_command_is_imported_exits_130(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under load the import of a command's module takes seconds; Ctrl-C then is a clean exit."""
    def interrupted(module: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("revsim.cli.lazy_group.import_module", interrupted)
    result = CliRunner().invoke(LazyGroup("revsim", lazy_commands=COMMANDS), ["run", "x.toml"])
    assert result.exit_code == 130
    assert "interrupted" in result.output and "Aborted" not in result.output
