"""The analyst notebooks in notebooks/: stored clean, and each runs end to end.

Every notebook is executed top to bottom in a fresh Jupyter kernel running *this* interpreter
(a kernelspec written to a temporary folder, so no `ipykernel install` step is needed), with the
working directory set to notebooks/, ``REVSIM_FAST=1`` (few replications, short horizons),
``MPLBACKEND=Agg`` (no display) and ``TMPDIR`` in pytest's temporary folder. A cell that raises
fails the test.

Needs nbformat, nbclient and ipykernel (the ``[dev]`` extra).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
EXPECTED = [
    "01_quickstart.ipynb",
    "02_find_the_bottleneck.ipynb",
    "03_calibrate_from_data.ipynb",
    "04_plan_staffing.ipynb",
    "05_cash.ipynb",
    "06_forecast_the_quarter.ipynb",
]
KERNEL_NAME = "revsim-notebook-tests"
CELL_TIMEOUT_S = 300


def _notebooks() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def test_the_notebooks_are_all_there() -> None:
    assert [p.name for p in _notebooks()] == EXPECTED


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs(path: Path) -> None:
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert nb["nbformat"] == 4
    assert nb["metadata"].get("kernelspec", {}).get("name") == "python3"
    dirty = []
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        if cell.get("outputs"):
            dirty.append(f"cell {i}: has outputs")
        if cell.get("execution_count") is not None:
            dirty.append(f"cell {i}: execution_count {cell['execution_count']}")
        if "execution" in cell.get("metadata", {}):
            dirty.append(f"cell {i}: execution timing in metadata")
    assert not dirty, f"{path.name} is not stored stripped: " + "; ".join(dirty)
    first_code = next(c for c in nb["cells"] if c["cell_type"] == "code")
    assert 'os.environ.get("REVSIM_FAST") == "1"' in "".join(first_code["source"]), (
        f"{path.name}: the fast-mode switch must be in the first code cell"
    )


@pytest.fixture(scope="module")
def kernel_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A kernelspec for this interpreter, in a temporary folder (nothing installed)."""
    folder = tmp_path_factory.mktemp("kernels")
    scratch = tmp_path_factory.mktemp("notebook-tmp")  # the notebooks' temporary files land here
    spec = folder / KERNEL_NAME
    spec.mkdir()
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "revsim tests (this interpreter)",
        "language": "python",
        "env": {"REVSIM_FAST": "1", "MPLBACKEND": "Agg", "TMPDIR": str(scratch)},
    }), encoding="utf-8")
    return folder


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: p.stem)
def test_notebook_runs(path: Path, kernel_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        import ipykernel  # noqa: F401 - the kernel runs `python -m ipykernel_launcher`
        import nbformat
        from jupyter_client.kernelspec import KernelSpecManager
        from jupyter_client.manager import KernelManager
        from nbclient import NotebookClient
    except ImportError as err:  # pragma: no cover - a missing test dependency
        pytest.fail(f"{err}; the notebook tests need nbformat, nbclient and ipykernel: "
                    "pip install -e '.[dev]'")
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")  # silence jupyter_core's path migration notice
    nb = nbformat.read(path, as_version=4)
    manager = KernelManager(kernel_name=KERNEL_NAME,
                            kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernel_dir)]))
    client = NotebookClient(nb, km=manager, timeout=CELL_TIMEOUT_S, startup_timeout=120,
                            allow_errors=False,
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute(cwd=str(NOTEBOOKS))  # raises CellExecutionError on the first failing cell
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
    # the notebook on disk is left untouched (still stripped)
    on_disk = json.loads(path.read_text(encoding="utf-8"))
    assert not any(c.get("outputs") for c in on_disk["cells"] if c["cell_type"] == "code")
