"""A snapshot folder: manifest.json plus one CSV per table (items, invoices, customers, pools).

STAND-IN for the forecast branch: the `state` branch owns this module (the documented,
versioned format of docs/state-format.md, with full validation); on merge its version replaces
this one. This one reads and writes the same tables, one column per field of the records in
:mod:`revsim.state.snapshot`, so the forecast, its tests and the shipped example run meanwhile.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

from revsim.errors import Problem, StateError
from revsim.io import write_text
from revsim.state.snapshot import FORMAT, VERSION, Customer, OpenInvoice, OpenItem, PoolLoad, Snapshot

TABLES: dict[str, type] = {"items": OpenItem, "invoices": OpenInvoice, "customers": Customer,
                           "pools": PoolLoad}
MANIFEST = "manifest.json"


def _parse(kind: str, text: str) -> Any:
    optional = "None" in kind
    if text == "":
        if optional:
            return None
        if kind == "str":
            return ""
        raise ValueError("is empty")
    if "datetime" in kind:
        return dt.datetime.fromisoformat(text)
    if "date" in kind:
        return dt.date.fromisoformat(text)
    if "float" in kind:
        return float(text)
    if "int" in kind:
        return int(text)
    return text


def read_snapshot(path: str | Path) -> Snapshot:
    """Read a snapshot folder; every unreadable cell is reported (file, row, column, fix)."""
    folder = Path(path)
    manifest_path = folder / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise StateError([Problem(MANIFEST, f"cannot read it ({err}); a state folder holds a "
                                  "manifest.json and one CSV per table")], str(folder)) from None
    problems: list[Problem] = []
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        problems.append(Problem(f"{MANIFEST}.format", f"expected format {FORMAT!r} version "
                                f"{VERSION}"))
    tables: dict[str, list[Any]] = {name: [] for name in TABLES}
    for name, record in TABLES.items():
        file = manifest.get("tables", {}).get(name)
        if file is None:
            continue
        kinds = {f.name: str(f.type) for f in dataclasses.fields(record)}
        try:
            with open(folder / file, newline="", encoding="utf-8") as fh:
                rows = list(csv.DictReader(fh))
        except OSError as err:
            problems.append(Problem(file, f"cannot read it ({err.strerror})"))
            continue
        for i, row in enumerate(rows, start=2):
            values = {}
            for column, text in row.items():
                if column not in kinds:
                    continue
                try:
                    values[column] = _parse(kinds[column], (text or "").strip())
                except ValueError as err:
                    problems.append(Problem(f"{file} row {i}, column {column}",
                                            f"{text!r} {err}; write it as {kinds[column]}"))
            try:
                tables[name].append(record(**values))
            except TypeError as err:
                problems.append(Problem(f"{file} row {i}", str(err)))
    try:
        as_of = dt.datetime.fromisoformat(str(manifest.get("as_of")))
    except ValueError:
        problems.append(Problem(f"{MANIFEST}.as_of", "expected a date or timestamp"))
    if problems:
        raise StateError(problems, str(folder))
    return Snapshot(as_of, tuple(tables["items"]), tuple(tables["invoices"]),
                    tuple(tables["customers"]), tuple(tables["pools"]),
                    dict(manifest.get("dead", {})), dict(manifest.get("provenance", {})))


def write_snapshot(snapshot: Snapshot, path: str | Path) -> list[Path]:
    """Write ``snapshot`` as a folder (each file atomically, the manifest last)."""
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    files = {}
    for name, record in TABLES.items():
        rows = getattr(snapshot, name)
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        names = [f.name for f in dataclasses.fields(record)]
        writer.writerow(names)
        for r in rows:
            writer.writerow(["" if getattr(r, n) is None else
                             getattr(r, n).isoformat() if hasattr(getattr(r, n), "isoformat")
                             else getattr(r, n) for n in names])
        files[name] = f"{name}.csv"
        written.append(write_text(folder / files[name], buf.getvalue()))
    manifest = {"format": FORMAT, "version": VERSION, "as_of": snapshot.as_of.isoformat(),
                "tables": files, "dead": snapshot.dead, "provenance": snapshot.provenance}
    written.append(write_text(folder / MANIFEST, json.dumps(manifest, indent=2) + "\n"))
    return written
