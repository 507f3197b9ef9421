"""The project stands alone: no file in it points outside the repository (a sibling folder of
the checkout, such as the workplace's shared material, does not exist in a user's clone), and
every relative link of its Markdown documents resolves to a file inside it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIP_DIRS = {".git", ".venv", "build", "dist", "__pycache__", ".pytest_cache", ".ruff_cache",
             ".mypy_cache", ".hypothesis", ".ipynb_checkpoints"}
TEXT_SUFFIXES = {".py", ".md", ".toml", ".csv", ".json", ".ipynb", ".txt", ".cfg", ".ini",
                 ".yaml", ".yml", ".sh", ""}
# built from parts, so that this file does not match itself
OUTSIDE = re.compile(r"\.\./" + "shared" + r"|/work/" + "shared")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def project_files() -> list[Path]:
    out = []
    for path in ROOT.rglob("*"):
        rel = path.relative_to(ROOT)
        if any(part in SKIP_DIRS or part.endswith(".egg-info") for part in rel.parts):
            continue
        if path.is_file() and path.suffix in TEXT_SUFFIXES and path.stat().st_size < 5_000_000:
            out.append(path)
    return out


def test_the_walk_sees_the_project() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in project_files()}
    assert {"README.md", "pyproject.toml", "revsim/api.py", "docs/forecast.md"} <= names


def test_no_file_points_outside_the_repository() -> None:
    hits = []
    for path in project_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        hits += [f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, m.start()) + 1}: "
                 f"{m.group(0)}" for m in OUTSIDE.finditer(text)]
    assert hits == [], "copy what the project needs into it instead:\n" + "\n".join(hits)


def test_relative_markdown_links_resolve_inside_the_repository() -> None:
    broken = []
    for path in project_files():
        if path.suffix != ".md":
            continue
        for target in LINK.findall(path.read_text(encoding="utf-8")):
            if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
                continue  # a URL (https:, mailto:) or an anchor in the same page
            file = (path.parent / target.split("#")[0]).resolve()
            if not file.exists() or ROOT not in file.parents and file != ROOT:
                broken.append(f"{path.relative_to(ROOT)}: ({target})")
    assert broken == [], "\n".join(broken)
