"""A snapshot on disk: a folder with ``manifest.json`` and one CSV per table, written whole or not
at all; or, written by hand, a single CSV of open items.

The manifest holds the format and version, the as-of time, each table's file, row count and
SHA-256, the dead items' counts by reason, the rows the builder skipped, its notes and where the
snapshot came from (docs/state-format.md). Reading checks the checksums and every row, and
reports every problem of every file in one :class:`~revsim.errors.StateError`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pandas as pd

from revsim.calibrate.raw_table import LogError, read_csv_text, to_utc
from revsim.errors import Problem, StateError, suggest
from revsim.io import atomic_folder, sha256_file, write_csv, write_text
from revsim.state.checks import as_of_of, snapshot_problems
from revsim.state.snapshot import FORMAT, VERSION, Snapshot
from revsim.state.tables import DEAD_ITEMS, TABLES, Table, frame_of, parse_table, records, row_checks, text_of

MANIFEST = "manifest.json"
FIELDS = {"tables": "open_items, open_invoices, customers, pools",
          "dead_items": "the dead items' file", "as_of": "the as-of time",
          "format": FORMAT, "version": str(VERSION), "dead": "counts by reason",
          "skipped": "log rows left out, by reason", "notes": "the builder's notes",
          "provenance": "where it came from"}


def _is_state_folder(path: Path) -> bool:
    """An earlier snapshot (which may be replaced), or an empty folder."""
    if not any(path.iterdir()):
        return True
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and manifest.get("format") == FORMAT


def write_snapshot(snapshot: Snapshot, folder: str | Path) -> Path:
    """Write ``snapshot`` to ``folder`` (created, or replacing an earlier snapshot) atomically.

    The snapshot is checked first (:func:`revsim.state.checks.snapshot_problems`): a bad one
    raises StateError and nothing is written. A folder that holds anything but a snapshot is
    never replaced.
    """
    folder = Path(folder)
    problems = snapshot_problems(snapshot)
    if problems:
        raise StateError(problems, "snapshot")
    if folder.exists() and not folder.is_dir():
        raise StateError([Problem("", "is a file; give a folder to write the snapshot to")],
                         str(folder))
    if folder.exists() and not _is_state_folder(folder):
        raise StateError([Problem("", "exists and holds files that are not a revsim state "
                                      "snapshot; choose another folder or empty this one")],
                         str(folder))
    rows_of = {"open_items": snapshot.items, "open_invoices": snapshot.invoices,
               "customers": snapshot.customers, "pools": snapshot.pools}
    entries: dict[str, Any] = {}
    with atomic_folder(folder, replaceable=_is_state_folder) as tmp:
        for name, table in TABLES.items():
            written = write_csv(text_of(table, frame_of(table, rows_of[name])), tmp / table.file)
            entries[name] = {"file": table.file, "rows": len(rows_of[name]),
                             "sha256": sha256_file(written)}
        dead = pd.DataFrame(list(snapshot.dead_items), columns=["id", "reason"], dtype=object)
        dead_file = write_csv(dead, tmp / DEAD_ITEMS.file)
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "as_of": f"{as_of_of(snapshot):%Y-%m-%dT%H:%M:%S}",
            "tables": entries,
            "dead": {str(k): int(v) for k, v in snapshot.dead.items()},
            "dead_items": {"file": DEAD_ITEMS.file, "rows": len(dead),
                           "sha256": sha256_file(dead_file)},
            "skipped": {str(k): int(v) for k, v in snapshot.skipped.items()},
            "notes": list(snapshot.notes),
            "provenance": {str(k): str(v) for k, v in snapshot.provenance.items()},
        }
        write_text(tmp / MANIFEST, json.dumps(manifest, indent=2) + "\n")
    return folder


def read_snapshot(path: str | Path, *, as_of: Any = None) -> Snapshot:
    """Read a snapshot folder, or one hand-written CSV of open items (then ``as_of`` is
    required: a CSV has no manifest to say it). Every problem is raised at once as StateError.

    In a folder, each table listed in the manifest must match its row count and SHA-256 when
    the manifest gives them (remove them from a manifest you edit by hand); a manifest without
    ``tables`` takes the standard files that are there.
    """
    path = Path(path)
    if not path.exists():
        raise StateError([Problem("", "not found; give a snapshot folder (with manifest.json) "
                                      "or a CSV of open items")], str(path))
    if path.is_dir():
        return _read_folder(path, as_of)
    problems: list[Problem] = []
    when = _as_of(as_of, "as_of", problems)
    if as_of is None:
        problems.append(Problem("as_of", "a single CSV has no manifest: give the as-of time "
                                         "(--as-of) the open items were exported at"))
    table = TABLES["open_items"]
    frame = _read_table(table, path, "", when, problems)
    if problems:
        raise StateError(problems, str(path))
    assert when is not None and frame is not None
    return Snapshot(as_of=when.to_pydatetime(), items=records(table, frame),
                    provenance={"source": str(path)})


def _as_of(value: Any, where: str, problems: list[Problem]) -> pd.Timestamp | None:
    if value is None:
        return None
    try:
        return to_utc(value).tz_convert(None)
    except (ValueError, TypeError):
        problems.append(Problem(where, f"unparseable time {value!r}; write ISO 8601 such as "
                                       "2024-03-01T00:00:00 (a date alone means midnight)"))
        return None


def _read_table(table: Table, file: Path, prefix: str, as_of: pd.Timestamp | None,
                problems: list[Problem]) -> pd.DataFrame | None:
    try:
        raw = read_csv_text(file, str(file), skip_blank_lines=False)
    except LogError as err:
        problems.extend(Problem(f"{prefix}{p.path}".removesuffix(": "), p.message)
                        for p in err.problems)
        return None
    raw.index = pd.RangeIndex(2, len(raw) + 2, name="row")
    raw = raw.loc[~raw.isna().all(axis=1).to_numpy()]  # blank lines keep their numbers
    frame, found = parse_table(table, raw, prefix)
    if as_of is not None and table is not DEAD_ITEMS:
        found += row_checks(table, frame, as_of, prefix)  # on the values that could be read
    problems.extend(found)
    return None if found else frame


def _sha256(file: Path) -> str:
    return hashlib.sha256(file.read_bytes()).hexdigest()


def _read_folder(folder: Path, as_of: Any) -> Snapshot:
    problems: list[Problem] = []
    source = str(folder)
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StateError([Problem(MANIFEST, "not found: this folder is not a snapshot; write "
                                            "one with `revsim state`, add a manifest (see "
                                            "docs/state-format.md), or give the CSV of open "
                                            "items itself")], source) from None
    except (OSError, ValueError) as err:
        raise StateError([Problem(MANIFEST, f"not readable JSON ({err}); fix it or write the "
                                            "snapshot again")], source) from None
    if not isinstance(manifest, dict):
        raise StateError([Problem(MANIFEST, "must be a JSON object")], source)
    for key in manifest:
        if key not in FIELDS:
            problems.append(Problem(f"{MANIFEST}: {key}", f"unknown field; "
                                    f"{suggest(key, list(FIELDS))}"))
    if manifest.get("format") != FORMAT:
        problems.append(Problem(f"{MANIFEST}: format", f"is {manifest.get('format')!r}, not "
                                f"{FORMAT!r}; this is not a revsim state snapshot"))
    version = manifest.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        problems.append(Problem(f"{MANIFEST}: version", f"is {version!r}; write {VERSION}"))
    elif version > VERSION:
        problems.append(Problem(f"{MANIFEST}: version", f"{version} was written by a newer "
                                f"revsim (this one reads up to {VERSION}); upgrade revsim"))
    when = _as_of(manifest.get("as_of"), f"{MANIFEST}: as_of", problems)
    if manifest.get("as_of") is None:
        problems.append(Problem(f"{MANIFEST}: as_of", "missing; add the as-of time, e.g. "
                                                      '"as_of": "2024-03-01T00:00:00"'))
    given = _as_of(as_of, "as_of", problems)
    if given is not None and when is not None and given != when:
        problems.append(Problem("as_of", f"{given:%Y-%m-%dT%H:%M:%S} differs from the "
                                f"snapshot's own ({when:%Y-%m-%dT%H:%M:%S}); leave as_of out "
                                "or rebuild the snapshot at that time"))
    tables = manifest.get("tables")
    if tables is None:
        tables = {n: {"file": t.file} for n, t in TABLES.items() if (folder / t.file).exists()}
    if not isinstance(tables, dict):
        problems.append(Problem(f"{MANIFEST}: tables", "must be an object of table: {file, "
                                                       "rows, sha256}"))
        tables = {}
    frames: dict[str, pd.DataFrame] = {}
    for name, entry in tables.items():
        if name not in TABLES:
            problems.append(Problem(f"{MANIFEST}: tables.{name}", f"unknown table; "
                                    f"{suggest(name, list(TABLES))}"))
            continue
        frame = _read_entry(folder, TABLES[name], entry, f"tables.{name}", when, problems)
        if frame is not None:
            frames[name] = frame
    dead_items: tuple[tuple[str, str], ...] = ()
    if manifest.get("dead_items") is not None:
        frame = _read_entry(folder, DEAD_ITEMS, manifest["dead_items"], "dead_items", None,
                            problems)
        if frame is not None:
            dead_items = tuple(zip(frame["id"], frame["reason"], strict=True))
    dead = _counts(manifest.get("dead", {}), "dead", problems)
    skipped = _counts(manifest.get("skipped", {}), "skipped", problems)
    notes = manifest.get("notes", [])
    if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
        problems.append(Problem(f"{MANIFEST}: notes", "must be a list of strings"))
        notes = []
    provenance = manifest.get("provenance", {})
    if not isinstance(provenance, dict):
        problems.append(Problem(f"{MANIFEST}: provenance", "must be an object"))
        provenance = {}
    if problems:
        raise StateError(problems, source)
    assert when is not None

    def rows(name: str) -> tuple[Any, ...]:
        return records(TABLES[name], frames[name]) if name in frames else ()

    return Snapshot(as_of=when.to_pydatetime(), items=rows("open_items"),
                    invoices=rows("open_invoices"), customers=rows("customers"),
                    pools=rows("pools"), dead=dead, provenance={str(k): str(v) for k, v in
                                                                provenance.items()},
                    dead_items=dead_items, skipped=skipped, notes=tuple(notes))


def _read_entry(folder: Path, table: Table, entry: Any, where: str, as_of: pd.Timestamp | None,
                problems: list[Problem]) -> pd.DataFrame | None:
    """One table the manifest lists: its file, checked against the manifest, then read."""
    if not isinstance(entry, dict) or not isinstance(entry.get("file", table.file), str):
        problems.append(Problem(f"{MANIFEST}: {where}", f'must be {{"file": "{table.file}", '
                                                        '"rows": N, "sha256": "..."}'))
        return None
    name = entry.get("file", table.file)
    file = folder / name
    if not file.is_file():
        problems.append(Problem(name, f"not found (listed in {MANIFEST} {where}); restore it "
                                      "or remove its entry"))
        return None
    digest = entry.get("sha256")
    if digest is not None and digest != _sha256(file):
        problems.append(Problem(name, f"its content differs from the SHA-256 in {MANIFEST}: "
                                      "the file changed since it was written; write the "
                                      "snapshot again, or, if you edited it on purpose, delete "
                                      f"its sha256 and rows from {MANIFEST}"))
        return None
    prefix = f"{name}: "
    frame = _read_table(table, file, prefix, as_of, problems)
    expected = entry.get("rows")
    if frame is not None and expected is not None and expected != len(frame):
        problems.append(Problem(name, f"has {len(frame)} rows, the manifest says {expected}; "
                                      f"write the snapshot again or fix rows in {MANIFEST}"))
    if as_of is None and table is not DEAD_ITEMS:
        return None  # the manifest's as-of is bad: reported already, rows read for problems
    return frame


def _counts(value: Any, key: str, problems: list[Problem]) -> dict[str, int]:
    ok = isinstance(value, dict) and all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value.values())
    if not ok:
        problems.append(Problem(f"{MANIFEST}: {key}", "must be an object of reason: count "
                                                      "(whole numbers >= 0)"))
        return {}
    return {str(k): int(v) for k, v in value.items()}


__all__ = ["MANIFEST", "read_snapshot", "write_snapshot"]
