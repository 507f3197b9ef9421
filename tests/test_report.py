"""``revsim report``: one self-contained, valid HTML5 file from a results folder.

The report is parsed with the standard library's html.parser into a small element tree; every
check reads that tree (or the files the report was made from), never the report's own code.
"""
# ruff: noqa: E402  (the Agg backend is chosen before anything imports pyplot)

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import base64
import json
import math
import re
import shlex
import shutil
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import SAAS

import revsim
from revsim import kpi_registry
from revsim.cli import main
from revsim.io import unguard_formulas
from revsim.kpi_registry import format_value
from revsim.report import ReportError, read_results, render_html, write_report

SEED, REPS, HORIZON, WARMUP = 7, 3, "12 w", "2 w"
RUN_KW: dict[str, Any] = dict(replications=REPS, seed=SEED, horizon=HORIZON, warmup=WARMUP, jobs=1,
              progress=False)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}
# Elements that may close implicitly in HTML5; the report closes them all explicitly anyway.
URL_ATTRS = {"src", "href", "srcset", "action", "formaction", "poster", "data", "cite",
             "background", "ping", "manifest", "longdesc", "xlink:href", "codebase"}
HIDE_IF_ZERO = kpi_registry.hidden_if_zero()
RUN_SECTIONS = ["At a glance", "Scenario and run settings", "Reproduce",
                "Key performance indicators", "Funnel", "Time in stage", "Staff utilisation",
                "Cash", "Scenario file"]


# -- a small element tree -------------------------------------------------------------------------
@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)
    parent: Node | None = None

    def iter(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.iter()

    def find_all(self, tag: str, **attrs: str) -> list[Node]:
        wanted = {k.rstrip("_").replace("_", "-"): v for k, v in attrs.items()}
        return [n for n in self.iter() if n.tag == tag
                and all(n.attrs.get(k) == v for k, v in wanted.items())]

    def find(self, tag: str, **attrs: str) -> Node:
        found = self.find_all(tag, **attrs)
        assert found, f"no <{tag}> with {attrs}"
        return found[0]

    def text(self) -> str:
        parts = [c if isinstance(c, str) else c.text() for c in self.children]
        return "".join(parts)

    def clean_text(self) -> str:
        return " ".join(self.text().split())

    def ancestors(self) -> Iterator[Node]:
        node = self.parent
        while node is not None:
            yield node
            node = node.parent


class TreeBuilder(HTMLParser):
    """Builds a tree and records every nesting error (an end tag that closes nothing open)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]
        self.doctype: str | None = None
        self.errors: list[str] = []
        self.first_item: str | None = None

    def _first(self, what: str) -> None:
        if self.first_item is None:
            self.first_item = what

    def handle_decl(self, decl: str) -> None:
        self._first("decl")
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._first(tag)
        names = [k for k, _ in attrs]
        if len(names) != len(set(names)):
            self.errors.append(f"duplicate attribute in <{tag}>")
        node = Node(tag, {k: v if v is not None else "" for k, v in attrs}, parent=self.stack[-1])
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.errors.append(f"self-closing non-void <{tag}/>")
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            self.errors.append(f"end tag for void element </{tag}>")
            return
        if self.stack[-1].tag != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1].tag}>")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if data.strip():
            self._first("text")
        self.stack[-1].children.append(data)


def parse(html: str) -> TreeBuilder:
    builder = TreeBuilder()
    builder.feed(html)
    builder.close()
    if len(builder.stack) != 1:
        builder.errors.append(f"unclosed: {[n.tag for n in builder.stack[1:]]}")
    return builder


def headings(doc: Node) -> list[tuple[int, str]]:
    return [(int(n.tag[1]), n.clean_text()) for n in doc.iter()
            if re.fullmatch(r"h[1-6]", n.tag)]


def section_titles(doc: Node) -> list[str]:
    return [text for level, text in headings(doc) if level == 2]


def check_png(data: bytes) -> tuple[int, int]:
    """A complete, valid PNG: signature, chunk CRCs, IHDR first, IEND last, image data that
    inflates to exactly the size IHDR promises. Returns (width, height)."""
    assert data[:8] == PNG_MAGIC, "not a PNG signature"
    pos, chunks, idat = 8, [], b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert zlib.crc32(kind + body) == crc, f"bad CRC in {kind!r}"
        chunks.append(kind)
        if kind == b"IDAT":
            idat += body
        pos += 12 + length
    assert chunks[0] == b"IHDR" and chunks[-1] == b"IEND" and b"IDAT" in chunks
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    assert width > 0 and height > 0
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour]
    row = math.ceil(width * channels * depth / 8)
    assert len(zlib.decompress(idat)) == height * (1 + row), "image data has the wrong size"
    return width, height


# -- inputs ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def scenario() -> revsim.Scenario:
    return revsim.load(SAAS)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory, scenario: revsim.Scenario) -> Path:
    """A results folder as `revsim run -o` writes it (no extras)."""
    out = tmp_path_factory.mktemp("report") / "plain"
    scenario.run(**RUN_KW).to_dir(out, scenario_text=SAAS.read_text(encoding="utf-8"))
    return out


@pytest.fixture(scope="module")
def full_dir(run_dir: Path, scenario: revsim.Scenario) -> Path:
    """The run plus the files of `revsim bottlenecks -o` and `revsim compare -o`."""
    out = run_dir.parent / "full"
    shutil.copytree(run_dir, out)
    scenario.bottlenecks(**RUN_KW).to_dir(out)
    scenario.compare(("net 15", {"deals.contract.terms": "net 15"}),
                     ("+1 ae", {"pools.ae.headcount": 11}), **RUN_KW).to_dir(out)
    return out


@pytest.fixture(scope="module")
def sweep_dir(run_dir: Path, scenario: revsim.Scenario) -> Path:
    out = run_dir.parent / "sweep"
    result = scenario.sweep(out, ["pools.sdr.headcount=6,7"], replications=2, seed=1,
                            horizon=HORIZON, warmup=WARMUP, jobs=1, progress=False)
    result.write()
    return out


@pytest.fixture(scope="module")
def plain_html(run_dir: Path) -> str:
    return render_html(run_dir)


@pytest.fixture(scope="module")
def full_html(full_dir: Path) -> str:
    return render_html(full_dir)


@pytest.fixture(scope="module")
def sweep_html(sweep_dir: Path) -> str:
    return render_html(sweep_dir)


@pytest.fixture(params=["plain", "full", "sweep"])
def any_html(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(f"{request.param}_html"))


def kpis_csv(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "kpis.csv", keep_default_na=False, dtype={"name": str})


# -- valid, self-contained HTML5 --------------------------------------------------------------------
def test_document_is_valid_html5(any_html: str) -> None:
    tree = parse(any_html)
    assert tree.errors == []
    assert tree.first_item == "decl" and tree.doctype is not None
    assert tree.doctype.lower() == "doctype html"
    doc = tree.root
    html = doc.find("html")
    assert html.attrs.get("lang") == "en"
    head = html.find("head")
    assert head.children and [c for c in head.children if isinstance(c, Node)][0].tag == "meta"
    assert head.find("meta").attrs.get("charset", "").lower() == "utf-8"
    assert any_html.index('charset="utf-8"') < 1024  # within the first 1024 bytes
    assert len(doc.find_all("title")) == 1 and doc.find("title").clean_text()
    assert doc.find_all("meta", name="viewport")
    ids = [n.attrs["id"] for n in doc.iter() if "id" in n.attrs]
    assert len(ids) == len(set(ids)), "duplicate ids"
    for a in doc.find_all("a"):
        href = a.attrs.get("href", "")
        assert href.startswith("#") and href[1:] in ids, f"link to nowhere: {href}"
    for table in doc.find_all("table"):
        assert table.find_all("thead") and table.find_all("th")


def test_headings_are_in_order(any_html: str) -> None:
    levels = headings(parse(any_html).root)
    assert [lvl for lvl, _ in levels].count(1) == 1 and levels[0][0] == 1
    for (before, _), (after, text) in zip(levels, levels[1:], strict=False):
        assert after <= before + 1, f"heading level jumps to h{after} at {text!r}"
    assert all(text for _, text in levels)


def test_no_external_references(any_html: str) -> None:
    doc = parse(any_html).root
    for banned in ("script", "link", "iframe", "object", "embed", "base", "frame", "audio",
                   "video", "form", "svg"):
        assert doc.find_all(banned) == [], f"<{banned}> in the report"
    for node in doc.iter():
        for name, value in node.attrs.items():
            assert not name.startswith("on"), f"event handler {name} on <{node.tag}>"
            if name in URL_ATTRS:
                assert value.startswith(("data:image/png;base64,", "#")), \
                    f"<{node.tag} {name}={value[:60]!r}>"
            assert "url(" not in value.lower() or node.tag == "meta"
    style = "".join(n.text() for n in doc.find_all("style"))
    assert "url(" not in style and "@import" not in style and "@font-face" not in style
    csp = doc.find("meta", http_equiv="Content-Security-Policy").attrs["content"]
    assert "default-src 'none'" in csp and "img-src data:" in csp
    # URLs may appear only as text of the scenario file (its source comments), never as links
    outside = re.sub(r'<pre[^>]*id="scenario-source"[^>]*>.*?</pre>', "", any_html, flags=re.S)
    outside = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", outside)
    assert not re.search(r"https?:|ftp:|//[a-z0-9.-]+\.[a-z]{2,}", outside, re.I)


def test_every_image_is_an_embedded_png_with_alt_text(any_html: str) -> None:
    images = parse(any_html).root.find_all("img")
    assert images
    for img in images:
        alt = img.attrs.get("alt", "")
        assert len(alt) > 30 and alt.strip() == alt, f"poor alt text: {alt!r}"
        src = img.attrs["src"]
        prefix = "data:image/png;base64,"
        assert src.startswith(prefix)
        width, height = check_png(base64.b64decode(src[len(prefix):], validate=True))
        assert int(img.attrs["width"]) > 0 and int(img.attrs["height"]) > 0
        assert abs(int(img.attrs["width"]) / int(img.attrs["height"]) - width / height) < 0.02
        assert any(a.tag == "figure" for a in img.ancestors())


# -- contents of a run's report --------------------------------------------------------------------
def test_run_report_sections(plain_html: str, run_dir: Path) -> None:
    doc = parse(plain_html).root
    titles = section_titles(doc)
    assert titles[0] == "Contents"
    for title in RUN_SECTIONS:
        assert title in titles
    for absent in ("Bottlenecks", "Comparison with variants", "Sweep results", "Sweep settings"):
        assert absent not in titles
    assert [h for lvl, h in headings(doc) if lvl == 3][:3] == [
        "Whole cycle", "Cash (deals, invoices, payments)", "Leads in, by source"]
    toc = [a.clean_text() for a in doc.find("nav").find_all("a")]
    assert toc == titles[1:]
    assert doc.find("h1").clean_text() == "Sales-led B2B SaaS"
    assert "Sales-led B2B SaaS" in doc.find("title").clean_text()
    alts = " ".join(img.attrs["alt"] for img in doc.find_all("img"))
    for what in ("funnel", "time in each stage", "utilisation", "cumulative bookings",
                 "receivable"):
        assert what in alts


def test_scenario_summary(plain_html: str, run_dir: Path, scenario: revsim.Scenario) -> None:
    doc = parse(plain_html).root
    settings = doc.find("section", id="run")
    facts = dict(zip([dt.clean_text() for dt in settings.find_all("dt")],
                     [dd.clean_text() for dd in settings.find_all("dd")], strict=True))
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert facts["Scenario"] == "Sales-led B2B SaaS"
    assert facts["Scenario file"] == str(SAAS)
    assert facts["Scenario hash"].startswith(scenario.hash)
    assert "matches scenario.toml" in facts["Scenario hash"]
    assert facts["Description"] == scenario.raw["scenario"]["description"]
    assert facts["Replications"] == str(REPS) and facts["Seed"] == str(SEED)
    assert facts["Horizon"].startswith("12 w") and facts["Warm-up"].startswith("2 w")
    assert facts["Window"] == manifest["window"]
    assert facts["revsim version"] == revsim.__version__ == manifest["revsim_version"]
    header = doc.find("header").clean_text()
    assert f"{REPS} replications" in header and f"seed {SEED}" in header
    assert f"revsim {revsim.__version__}" in header


def test_reproduce_box_has_the_exact_command(plain_html: str, run_dir: Path) -> None:
    doc = parse(plain_html).root
    command = doc.find("pre", id="reproduce-command").clean_text()
    assert shlex.split(command) == ["revsim", "run", str(SAAS), "-n", str(REPS), "--seed",
                                    str(SEED), "--horizon", HORIZON, "--warmup", WARMUP,
                                    "-o", run_dir.name]
    assert doc.find("section", id="reproduce").find("h2").clean_text() == "Reproduce"


def _table_rows(table: Node) -> list[Node]:
    return [tr for tr in table.find("tbody").find_all("tr")]


def test_kpi_tables_have_the_right_rows(plain_html: str, run_dir: Path) -> None:
    doc = parse(plain_html).root
    kpis = kpis_csv(run_dir)
    currency = "USD"
    for scope in ("total", "cash", "source"):
        part = kpis[kpis.scope == scope]
        expected = [(r.metric, r["name"]) for _, r in part.iterrows()
                    if not (r.metric in HIDE_IF_ZERO and r["mean"] == 0 and r.ci_high == 0)]
        table = doc.find("table", data_scope=scope)
        rows = _table_rows(table)
        assert [(tr.attrs["data-metric"], tr.attrs["data-name"]) for tr in rows] == expected
        index = {(r.metric, r["name"]): r for _, r in part.iterrows()}
        for tr in rows:
            r = index[(tr.attrs["data-metric"], tr.attrs["data-name"])]
            label = tr.find("th").clean_text()
            want = r["name"] if scope == "source" else kpi_registry.label(r.metric)
            assert label.replace("→", "->") == want
            mean, ci, n = [td.clean_text() for td in tr.find_all("td")]
            assert mean == format_value(r["mean"], r.unit, currency)
            assert n == str(r.n)
            assert ci == (f"{format_value(r.ci_low, r.unit, currency)} to "
                          f"{format_value(r.ci_high, r.unit, currency)}")
    for scope in ("stage", "pool"):
        names = list(dict.fromkeys(kpis.loc[kpis.scope == scope, "name"]))
        table = doc.find("table", data_scope=scope)
        assert [tr.attrs["data-name"] for tr in _table_rows(table)] == names
        assert f"n = {REPS} replications" in table.find("caption").clean_text()
    won = kpis[(kpis.metric == "bookings") & (kpis.scope == "total")].iloc[0]
    cards = doc.find("section", id="at-a-glance").clean_text()
    assert format_value(won["mean"], "USD") in cards


# -- extras -----------------------------------------------------------------------------------------
def test_bottleneck_and_comparison_sections(full_html: str, full_dir: Path) -> None:
    doc = parse(full_html).root
    titles = section_titles(doc)
    for title in (*RUN_SECTIONS, "Bottlenecks", "Comparison with variants"):
        assert title in titles
    h3 = [text for level, text in headings(doc) if level == 3]
    for title in ("Pools ranked as the bottleneck", "Week by week", "Where leads wait",
                  "Value of one more head", "Headline differences"):
        assert title in h3
    sentence = (full_dir / "bottlenecks.txt").read_text().strip().splitlines()[-1]
    assert doc.find("p", id="bottleneck-answer").clean_text() == " ".join(sentence.split())
    assert " ".join(sentence.split()) in doc.find("section", id="at-a-glance").clean_text()
    pools = pd.read_csv(full_dir / "bottleneck_pools.csv")
    ranking = _table_rows(doc.find("table", id="bottleneck-ranking"))
    assert [tr.attrs["data-pool"] for tr in ranking] == list(pools["pool"])
    marginal = pd.read_csv(full_dir / "marginal_values.csv")
    rows = _table_rows(doc.find("table", id="marginal-table"))
    assert [tr.attrs["data-pool"] for tr in rows] == list(dict.fromkeys(marginal["pool"]))
    comparison = pd.read_csv(full_dir / "comparison.csv", keep_default_na=False)
    table = doc.find("table", id="comparison-headline")
    variants = [tr.attrs["data-variant"] for tr in table.find_all("tr") if "data-variant"
                in tr.attrs]
    assert list(dict.fromkeys(variants)) == list(dict.fromkeys(
        unguard_formulas(comparison["variant"])))  # the CSV quotes "+1 ae" for spreadsheets
    assert {"bookings", "cash_collected", "dso"} <= {
        tr.attrs["data-metric"] for tr in table.find_all("tr") if "data-metric" in tr.attrs}
    alts = [img.attrs["alt"] for img in doc.find_all("img")]
    assert any(a.startswith("Forest plot") for a in alts)
    assert any("one more head" in a for a in alts)
    assert any("week" in a for a in alts)
    reproduce = doc.find("section", id="reproduce").clean_text()
    assert "revsim bottlenecks" in reproduce and "revsim compare" in reproduce


def test_sweep_report(sweep_html: str, sweep_dir: Path) -> None:
    doc = parse(sweep_html).root
    assert section_titles(doc) == ["Contents", "Sweep settings", "Reproduce", "Sweep results"]
    manifest = json.loads((sweep_dir / "manifest.json").read_text())
    rows = _table_rows(doc.find("table", id="sweep-table"))
    assert [tr.attrs["data-point"] for tr in rows] == [p["id"] for p in manifest["points"]]
    assert [tr.find("th").clean_text() for tr in rows] == ["6", "7"]
    command = doc.find("pre", id="reproduce-command").clean_text()
    assert shlex.split(command) == ["revsim", "sweep", "BASE_SCENARIO.toml", "--param",
                                    "pools.sdr.headcount=6,7", "-n", "2", "--seed", "1",
                                    "--horizon", HORIZON, "--warmup", WARMUP, "-o",
                                    sweep_dir.name]
    facts = doc.find("section", id="run").clean_text()
    assert manifest["spec_hash"] in facts and revsim.__version__ in facts
    assert doc.find_all("img") and "sdr" in doc.find("img").attrs["alt"]


# -- not a results folder ---------------------------------------------------------------------------
def test_not_a_results_folder(tmp_path: Path) -> None:
    with pytest.raises(ReportError) as err:
        read_results(tmp_path)
    assert "kpis.csv" in str(err.value) and "manifest.json" in str(err.value)
    result = CliRunner().invoke(main, ["report", str(tmp_path), "-o", str(tmp_path / "r.html")])
    assert result.exit_code == 2
    assert "missing kpis.csv, manifest.json" in result.stderr
    assert str(tmp_path) in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "r.html").exists()


@pytest.mark.parametrize("case", ["missing", "file", "only_extras", "bad_kpis", "altered_kpis",
                                  "bad_manifest", "unfinished_sweep"])
def test_broken_folders_fail_cleanly(case: str, tmp_path: Path, full_dir: Path) -> None:
    target = tmp_path / "results"
    expect = {"missing": "no such folder", "file": "not a folder",
              "only_extras": "also write the base run", "bad_kpis": "missing column(s) mean",
              "altered_kpis": "kpis.csv: does not match its checksum in manifest.json",
              "bad_manifest": "manifest.json: cannot read it",
              "unfinished_sweep": "summary.parquet"}[case]
    if case == "file":
        target.write_text("x")
    elif case == "only_extras":
        target.mkdir()
        for name in ("bottleneck_pools.csv", "comparison.csv"):
            shutil.copy(full_dir / name, target / name)
    elif case in ("bad_kpis", "altered_kpis", "bad_manifest"):
        shutil.copytree(full_dir, target)
        if case in ("bad_kpis", "altered_kpis"):
            kpis_csv(full_dir).drop(columns="mean").to_csv(target / "kpis.csv", index=False)
        if case == "bad_kpis":  # a manifest without checksums (older revsim): the table is read
            manifest = json.loads((target / "manifest.json").read_text())
            del manifest["files"]
            (target / "manifest.json").write_text(json.dumps(manifest))
        elif case == "bad_manifest":
            (target / "manifest.json").write_text("{not json")
    elif case == "unfinished_sweep":
        target.mkdir()
        (target / "manifest.json").write_text(json.dumps({"spec_hash": "abc", "points": []}))
    result = CliRunner().invoke(main, ["report", str(target), "-o", str(tmp_path / "r.html")])
    assert result.exit_code == 2, result.output
    assert expect in result.stderr and result.stderr.startswith("error: ")
    assert "Traceback" not in result.output


# -- the command --------------------------------------------------------------------------------------
def test_cli_writes_the_report(full_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "nested" / "report.html"
    result = CliRunner().invoke(main, ["report", str(full_dir), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert f"wrote the report to {out}" in result.stderr
    text = out.read_text(encoding="utf-8")
    assert parse(text).errors == [] and "Bottlenecks" in section_titles(parse(text).root)
    assert [p.name for p in out.parent.iterdir()] == ["report.html"]  # no temporary file left


def test_cli_default_output_and_api(run_dir: Path, plain_html: str, tmp_path: Path) -> None:
    """Without -o the report goes into the folder; the same inputs give the same bytes."""
    folder = tmp_path / run_dir.name
    shutil.copytree(run_dir, folder)
    result = CliRunner().invoke(main, ["report", str(folder)])
    assert result.exit_code == 0, result.output
    assert (folder / "report.html").read_text(encoding="utf-8") == plain_html
    with pytest.raises(ReportError, match="missing kpis.csv"):
        write_report(tmp_path, tmp_path / "x.html")


def test_reproduce_command_reproduces_the_run(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Run with an override through the CLI, report, run the report's command: same KPIs."""
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    first = runner.invoke(main, ["run", str(SAAS), "-n", "2", "--seed", "3", "--horizon", "6 w",
                                 "--warmup", "1 w", "--set", "pools.sdr.headcount=6", "-q",
                                 "-o", "original"])
    assert first.exit_code == 0, first.output
    assert runner.invoke(main, ["report", "original", "-o", "r.html"]).exit_code == 0
    doc = parse(Path("r.html").read_text(encoding="utf-8")).root
    args = shlex.split(doc.find("pre", id="reproduce-command").clean_text())
    assert args[:2] == ["revsim", "run"] and "--set" in args
    assert args[args.index("--set") + 1] == "pools.sdr.headcount=6"
    args[args.index("-o") + 1] = "again"
    second = runner.invoke(main, [*args[1:], "-q"])
    assert second.exit_code == 0, second.output
    assert Path("again/kpis.csv").read_bytes() == Path("original/kpis.csv").read_bytes()
    assert Path("again/series.csv").read_bytes() == Path("original/series.csv").read_bytes()


def test_run_without_cash_or_scenario_file(tmp_path: Path) -> None:
    """A run made from Python (no file, no scenario.toml) of a model without cash or extras."""
    from conftest import scenario_dict

    sc = revsim.Scenario(scenario_dict({"sources": {"web": {"rate": "60/w"}}, "stages": {
        "work": {"work": {"dist": "exponential", "mean": "1 h"},
                 "routes": {"won": 0.3, "lost": 0.7}}}}))
    sc.run(replications=2, seed=1, horizon="4 w").to_dir(tmp_path / "run")
    html = render_html(tmp_path / "run")
    tree = parse(html)
    assert tree.errors == []
    titles = section_titles(tree.root)
    for title in ("At a glance", "Reproduce", "Key performance indicators", "Funnel"):
        assert title in titles
    for absent in ("Cash", "Scenario file", "Bottlenecks"):
        assert absent not in titles
    command = tree.root.find("pre", id="reproduce-command").clean_text()
    assert shlex.split(command) == ["revsim", "run", "SCENARIO.toml", "-n", "2", "--seed", "1",
                                    "--horizon", "4 w", "--warmup", "0 h", "-o", "run"]
    assert sc.hash in tree.root.find("section", id="reproduce").clean_text()
    for img in tree.root.find_all("img"):
        check_png(base64.b64decode(img.attrs["src"].split(",", 1)[1]))
