"""The package's shape (issue 13): its layers and cycles (the import-linter contracts in
pyproject.toml), module size, private helpers kept inside their package, and function-level
imports only where they keep start-up fast."""

from __future__ import annotations

import ast
import contextlib
import io
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "revsim"
MAX_LINES = 500


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_of(path: Path) -> str:
    """The package a module belongs to (a package's ``__init__`` belongs to itself)."""
    name = module_name(path)
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


MODULES = sorted(PACKAGE.rglob("*.py"))


def resolved(node: ast.ImportFrom, path: Path) -> str:
    if not node.level:
        return node.module or ""
    base = package_of(path).split(".")
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def test_import_contracts_hold() -> None:
    from importlinter import configuration
    from importlinter.application.use_cases import lint_imports

    configuration.configure()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        kept = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_logo=True,
                            cache_dir=None)
    assert kept, out.getvalue()


@pytest.mark.parametrize("path", MODULES, ids=module_name)
def test_module_is_short(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{module_name(path)} has {lines} lines; split it along a real boundary"


def cross_package_private_imports(path: Path) -> list[str]:
    here = package_of(path)
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            target = resolved(node, path)
            names = [(f"{target}.{a.name}", a.name) for a in node.names]
        elif isinstance(node, ast.Import):
            target, names = "", [(a.name, "") for a in node.names]
        else:
            continue
        for full, name in names:
            if not full.startswith("revsim."):
                continue
            parts = full.split(".")
            # the package that owns the private part: the parent of its first private segment
            private = next((i for i, part in enumerate(parts) if is_private(part)), None)
            if private is None:
                continue
            owner = ".".join(parts[:private])
            if isinstance(node, ast.ImportFrom) and private == len(parts) - 1 and name:
                # a private name from a module: it belongs to that module's package
                module = ".".join(parts[:-1])
                is_package = (PACKAGE.parent / module.replace(".", "/") / "__init__.py").exists()
                owner = module if is_package else module.rpartition(".")[0]
            if owner != here:
                found.append(f"{module_name(path)}:{node.lineno} imports {full}")
    return found


def test_private_helpers_stay_in_their_package() -> None:
    found = [hit for path in MODULES for hit in cross_package_private_imports(path)]
    assert not found, "private names imported across packages (give them a public home):\n" + \
        "\n".join(found)


def function_level_imports(path: Path) -> list[str]:
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    tree = ast.parse(source)
    found = []
    for func in ast.walk(tree):
        if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(func):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            # the comment may sit on the import's own lines or in the comment block just above
            # the run of imports it belongs to
            first = node.lineno - 1
            while first > 0 and lines[first - 1].lstrip().startswith(("import ", "from ")):
                first -= 1
            while first > 0 and lines[first - 1].lstrip().startswith("#"):
                first -= 1
            nearby = lines[first: node.end_lineno or node.lineno]
            if not any("#" in line and "lazy" in line.partition("#")[2].lower() for line in nearby):
                found.append(f"{module_name(path)}:{node.lineno}")
    return sorted(set(found))


def test_function_level_imports_say_why() -> None:
    found = [hit for path in MODULES for hit in function_level_imports(path)]
    assert not found, ("imports inside functions without a 'lazy: ...' comment saying why "
                       "(move them to the top unless they keep start-up fast):\n" + "\n".join(found))
