"""Snapshot folders and hand-written CSVs: a round trip is exact, and each kind of bad input is
one StateError naming the file, the row and the fix, with nothing written."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

import revsim
from revsim.errors import StateError
from revsim.io import atomic_folder
from revsim.state.checks import validate_against
from revsim.state.files import read_snapshot, write_snapshot
from revsim.state.snapshot import (
    IN_WORK,
    WAITING,
    Customer,
    OpenInvoice,
    OpenItem,
    PoolLoad,
    Snapshot,
)

AS_OF = dt.datetime(2027, 3, 1)
SCENARIO = {
    "scenario": {"name": "state", "start": dt.date(2027, 1, 4), "horizon": "8 w"},
    "segments": {"smb": {"value": 1000}, "mid": {"value": 5000}},
    "sources": {"web": {"rate": "20/w", "to": "qualify"}},
    "pools": {"sdr": {"headcount": 2}, "ae": {"headcount": 2}},
    "stages": {
        "qualify": {"pool": "sdr", "work": "1 h", "routes": {"demo": 0.5, "lost": 0.5}},
        "demo": {"pool": "ae", "work": "2 h", "routes": {"proposal": 1.0}},
        "proposal": {"delay": "5 d", "routes": {"won": 0.5, "lost": 0.5}},
    },
    "deals": {"contract": {"type": "subscription", "term": "12 mo"}},
    "payment": {"on_time": 1.0, "late": 0.0},
}


@pytest.fixture(scope="module")
def model() -> object:
    return revsim.Scenario(SCENARIO).model


def snapshot() -> Snapshot:
    return Snapshot(
        as_of=AS_OF,
        items=(
            OpenItem("D1", "demo", dt.datetime(2027, 2, 20, 9), dt.datetime(2027, 2, 1, 10, 30),
                     amount=1234.5, source="web", segment="mid", score=0.7, pool="ae",
                     status=IN_WORK, started_work=dt.datetime(2027, 2, 21, 9, 15)),
            OpenItem("L7", "qualify", dt.datetime(2027, 2, 28, 16), dt.datetime(2027, 2, 28, 16),
                     status=WAITING, pool="sdr"),
            OpenItem("D2", "proposal", dt.datetime(2027, 2, 25), dt.datetime(2027, 1, 30)),
        ),
        invoices=(OpenInvoice("I1", dt.date(2027, 1, 15), dt.date(2027, 2, 14), 999.99, 2,
                              "smb"),),
        customers=(Customer("C1", dt.date(2026, 6, 1), 12, dt.date(2027, 6, 1), 12000.0, "mid"),),
        pools=(PoolLoad("ae", 1, 0), PoolLoad("sdr", 0, 1)),
        dead={"waited past the stage's patience without being worked": 1},
        dead_items=(("L1", "waited past the stage's patience without being worked"),),
        skipped={"after as-of": 3}, notes=("a note",),
        provenance={"log": "log.csv", "scenario": "state"},
    )


def test_a_snapshot_reads_back_exactly(tmp_path: Path, model: object) -> None:
    snap = snapshot()
    folder = write_snapshot(snap, tmp_path / "state")
    assert sorted(p.name for p in folder.iterdir()) == [
        "customers.csv", "dead_items.csv", "manifest.json", "open_invoices.csv",
        "open_items.csv", "pools.csv"]
    assert read_snapshot(folder) == snap
    assert revsim.read_state(folder, scenario=revsim.Scenario(SCENARIO)) == snap
    validate_against(snap, model)  # type: ignore[arg-type]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["format"] == "revsim-state" and manifest["version"] == 1
    assert manifest["as_of"] == "2027-03-01T00:00:00"
    assert {k: v["rows"] for k, v in manifest["tables"].items()} == {
        "open_items": 3, "open_invoices": 1, "customers": 1, "pools": 2}
    assert manifest["dead"] == snap.dead


def test_writing_again_replaces_the_snapshot_and_is_byte_identical(tmp_path: Path) -> None:
    first = write_snapshot(snapshot(), tmp_path / "a")
    before = {p.name: p.read_bytes() for p in first.iterdir()}
    write_snapshot(snapshot(), first)
    assert {p.name: p.read_bytes() for p in first.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["a"]  # no temporary folder left


def test_a_folder_of_other_files_is_never_replaced(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    with pytest.raises(StateError, match="not a revsim state snapshot"):
        write_snapshot(snapshot(), folder)
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]


def test_a_bad_snapshot_is_not_written_at_all(tmp_path: Path) -> None:
    snap = snapshot()
    bad = Snapshot(as_of=AS_OF, items=(*snap.items, OpenItem(
        "D1", "demo", dt.datetime(2027, 3, 2), dt.datetime(2027, 3, 5))))
    with pytest.raises(StateError) as err:
        write_snapshot(bad, tmp_path / "state")
    text = "\n".join(err.value.lines())
    assert "open_items.csv: id: rows 2, 5: duplicate id" in text
    assert "open_items.csv: entered_stage: row 5: after the as-of time" in text
    assert "open_items.csv: created: row 5: after the as-of time" in text
    assert "open_items.csv: entered_stage: row 5: before the item was created" in text
    assert not (tmp_path / "state").exists()


def test_a_failure_while_writing_leaves_the_old_snapshot(tmp_path: Path) -> None:
    folder = write_snapshot(snapshot(), tmp_path / "state")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    with pytest.raises(RuntimeError), atomic_folder(folder, replaceable=lambda p: True) as tmp:
        (tmp / "open_items.csv").write_text("half")
        raise RuntimeError("disk full")
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["state"]


HEADER = "id,stage,entered_stage,created,amount,segment,status\n"


def hand_csv(tmp_path: Path, body: str, header: str = HEADER) -> Path:
    path = tmp_path / "deals.csv"
    path.write_text(header + body, encoding="utf-8")
    return path


def test_a_hand_written_csv_of_open_deals_reads_with_its_as_of(tmp_path: Path) -> None:
    path = hand_csv(tmp_path, "D1,demo,2027-02-20,2027-02-01,1200,smb,\n\n"
                              "D2,proposal,2027-02-25T10:00:00,,,,\n")
    snap = revsim.read_state(path, as_of="2027-03-01", scenario=SCENARIO_PATH(tmp_path))
    assert snap.as_of == AS_OF
    assert [(i.id, i.stage, i.amount, i.segment) for i in snap.items] == [
        ("D1", "demo", 1200.0, "smb"), ("D2", "proposal", None, None)]
    assert snap.items[1].created == snap.items[1].entered_stage  # blank created: the entry


def SCENARIO_PATH(tmp_path: Path) -> Path:  # noqa: N802 - reads like the constant it stands for
    import tomli_w

    path = tmp_path / "scenario.toml"
    path.write_text(tomli_w.dumps(SCENARIO), encoding="utf-8")
    return path


def errors_of(call: object, *args: object, **kwargs: object) -> str:
    with pytest.raises(StateError) as err:
        call(*args, **kwargs)  # type: ignore[operator]
    return "\n".join(err.value.lines())


def test_a_csv_needs_its_as_of(tmp_path: Path) -> None:
    path = hand_csv(tmp_path, "D1,demo,2027-02-20,,,,\n")
    text = errors_of(read_snapshot, path)
    assert f"{path}: as_of: a single CSV has no manifest: give the as-of time" in text


def test_every_problem_of_a_hand_written_csv_at_once(tmp_path: Path) -> None:
    path = hand_csv(tmp_path, "".join([
        "D1,demo,2027-02-20,2027-02-01,1200,smb,,ana\n",
        "D3,demo,next week,2027-02-01,12k,smb,busy,ana\n",   # bad time, number, status
        "D4,,2027-02-20,2027-02-01,,,,ana\n",                 # blank stage
    ]), header=HEADER.replace("\n", ",owner\n"))
    text = errors_of(read_snapshot, path, as_of="2027-03-01")
    assert f"{path}: owner: unknown column" in text
    assert "stage: row 4: blank stage; fill in the stage or delete the row" in text
    assert 'entered_stage: row 3: unparseable time "next week"' in text
    assert 'amount: row 3: not a number "12k"' in text
    assert 'status: row 3: unknown status "busy"; use waiting, in_work or leave it blank' in text


def test_ages_order_and_duplicates_are_checked_against_the_as_of(tmp_path: Path) -> None:
    path = hand_csv(tmp_path, "".join([
        "D1,demo,2027-03-05,2027-02-01,,,\n",                  # entered after as-of
        "D2,demo,2027-02-01,2027-02-10,,,\n",                  # entered before created
        "D3,demo,2027-02-01,,,,\n",
        "D3,proposal,2027-02-02,,,,\n",                         # duplicate id
    ]))
    text = errors_of(read_snapshot, path, as_of="2027-03-01")
    assert ("entered_stage: row 2: after the as-of time 2027-03-01T00:00:00 (a negative age); "
            "check the time") in text
    assert "entered_stage: row 3: before the item was created" in text
    assert 'id: rows 4, 5: duplicate id "D3"; give each row its own id' in text


def test_stages_pools_and_segments_the_scenario_does_not_know(tmp_path: Path) -> None:
    path = hand_csv(tmp_path, "D1,dmeo,2027-02-20,,,smb,\nD2,proposal,2027-02-20,,,big,"
                              "waiting\n")
    text = errors_of(revsim.read_state, path, as_of="2027-03-01",
                     scenario=SCENARIO_PATH(tmp_path))
    assert ('open_items.csv: stage: row 2: stage not in the scenario: "dmeo"; use the '
            "scenario's stage names") in text
    assert "did you mean 'demo'? valid: demo, proposal, qualify" in text
    assert 'segment: row 3: segment not in the scenario: "big"' in text
    assert "status: row 3: waiting or in_work on a stage without staff (no pool)" in text


def test_a_changed_table_fails_its_checksum(tmp_path: Path) -> None:
    folder = write_snapshot(snapshot(), tmp_path / "state")
    items = folder / "open_items.csv"
    items.write_text(items.read_text().replace("1234.5", "1234.6"))
    text = errors_of(read_snapshot, folder)
    assert "open_items.csv: its content differs from the SHA-256 in manifest.json" in text
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["tables"]["open_items"]["sha256"]  # the documented way to edit by hand
    (folder / "manifest.json").write_text(json.dumps(manifest))
    assert read_snapshot(folder).items[0].amount == 1234.6


def test_a_bad_manifest_says_what_to_fix(tmp_path: Path) -> None:
    folder = write_snapshot(snapshot(), tmp_path / "state")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest.update(version=7, as_of="soon", extra=1)
    manifest["tables"]["pool"] = manifest["tables"].pop("pools")
    (folder / "manifest.json").write_text(json.dumps(manifest))
    text = errors_of(read_snapshot, folder)
    assert "manifest.json: version: 7 was written by a newer revsim" in text
    assert "manifest.json: as_of: unparseable time 'soon'" in text
    assert "manifest.json: extra: unknown field" in text
    assert "manifest.json: tables.pool: unknown table; did you mean 'pools'?" in text
    (folder / "manifest.json").unlink()
    assert "manifest.json: not found: this folder is not a snapshot" in errors_of(
        read_snapshot, folder)


def test_a_hand_made_folder_needs_only_a_manifest_and_its_tables(tmp_path: Path) -> None:
    folder = tmp_path / "hand"
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps(
        {"format": "revsim-state", "version": 1, "as_of": "2027-03-01"}))
    (folder / "open_items.csv").write_text("id,stage,entered_stage\nD1,demo,2027-02-20\n")
    (folder / "pools.csv").write_text("pool,wip,queue\nae,1,-2\n")
    text = errors_of(read_snapshot, folder)
    assert "pools.csv: queue: row 2: not a whole number >= 0" in text
    (folder / "pools.csv").write_text("pool,wip,queue\nae,1,2\n")
    snap = read_snapshot(folder)
    assert [i.id for i in snap.items] == ["D1"] and snap.pools == (PoolLoad("ae", 1, 2),)


def test_the_format_doc_lists_every_column_and_dead_reason() -> None:
    from revsim.state import build, build_cash
    from revsim.state.tables import markdown

    doc = (Path(__file__).parent.parent / "docs" / "state-format.md").read_text(encoding="utf-8")
    assert markdown() in doc, "docs/state-format.md: paste revsim.state.tables.markdown() in"
    reasons = [build.DEAD_PATIENCE, build.DEAD_STALE, build.IN_NURTURE, build.NO_STAGE,
               build_cash.WRITTEN_OFF, build_cash.DEAL_NO_AMOUNT, build_cash.CONTRACT_ENDED]
    for reason in reasons:
        assert f"| {reason} |" in doc, reason
    assert f"| {build_cash.NO_AMOUNT} / without a due date |" in doc
