"""The page around the report: inline CSS and the HTML5 skeleton (no scripts, fonts or links).

The Content-Security-Policy forbids every fetch except inline styles and ``data:`` images, so
a browser opening the file never touches the network even if a value in it looked like a URL.
"""

from __future__ import annotations

from html import escape

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"

CSS = """
:root { color-scheme: light; --ink: #1d2430; --muted: #5b6472; --line: #d9dde3;
        --soft: #f4f6f8; --accent: #3b6fb6; --good: #2f7d49; --bad: #b3361f; --warn: #9a5b00; }
* { box-sizing: border-box; }
html { font-size: 16px; -webkit-text-size-adjust: 100%; }
body { margin: 0; color: var(--ink); background: #fff; line-height: 1.5;
       font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
                    "Liberation Sans", "DejaVu Sans", sans-serif; }
.page { max-width: 62rem; margin: 0 auto; padding: 2rem 1.5rem 4rem; }
header.top { border-bottom: 3px solid var(--accent); margin-bottom: 1.5rem; padding-bottom: 1rem; }
.kicker { margin: 0; color: var(--muted); font-size: .9rem; letter-spacing: .04em;
          text-transform: uppercase; }
h1 { font-size: 1.9rem; line-height: 1.2; margin: .2rem 0 .4rem; }
h2 { font-size: 1.4rem; margin: 2.6rem 0 .6rem; padding-bottom: .25rem;
     border-bottom: 1px solid var(--line); }
h3 { font-size: 1.1rem; margin: 1.6rem 0 .4rem; }
p { margin: .5rem 0; }
.lede { font-size: 1.08rem; color: #333b47; margin: .3rem 0 .8rem; }
.muted, .note { color: var(--muted); }
.note { font-size: .9rem; }
code, pre, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "Liberation Mono",
                   "DejaVu Sans Mono", monospace; font-size: .88em; }
nav.toc { background: var(--soft); border: 1px solid var(--line); border-radius: 6px;
          padding: .6rem 1rem; margin: 1rem 0; font-size: .95rem; }
nav.toc h2 { font-size: 1rem; margin: 0 0 .3rem; border: 0; padding: 0; }
nav.toc ol { margin: 0; padding-left: 1.3rem; columns: 2; column-gap: 2rem; }
a { color: var(--accent); }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1.2rem;
           margin: .6rem 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(11.5rem, 1fr));
         gap: .7rem; margin: .8rem 0; padding: 0; list-style: none; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: .55rem .75rem;
        background: #fff; }
.card .label { display: block; color: var(--muted); font-size: .85rem; }
.card .value { display: block; font-size: 1.35rem; font-weight: 600;
               font-variant-numeric: tabular-nums; }
.card .ci { display: block; color: var(--muted); font-size: .8rem;
            font-variant-numeric: tabular-nums; }
.answer { border-left: 4px solid var(--accent); background: #eef3fa; padding: .7rem 1rem;
          margin: .8rem 0; border-radius: 0 6px 6px 0; }
.warning { border-left: 4px solid var(--warn); background: #fdf5e6; padding: .6rem 1rem;
           margin: .8rem 0; border-radius: 0 6px 6px 0; }
.reproduce { background: #1f2630; color: #e9edf2; border-radius: 6px; padding: .8rem 1rem;
             overflow-x: auto; white-space: pre-wrap; overflow-wrap: anywhere; margin: .5rem 0; }
.reproduce code { font-size: .92rem; }
.table-wrap { overflow-x: auto; margin: .5rem 0 1rem; }
table { border-collapse: collapse; width: 100%; font-size: .92rem; }
caption { caption-side: top; text-align: left; color: var(--muted); font-size: .88rem;
          padding: 0 0 .3rem; }
th, td { padding: .3rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
thead th { background: var(--soft); text-align: left; font-weight: 600;
           border-bottom: 2px solid #c4cad3; }
tbody th { text-align: left; font-weight: 500; white-space: nowrap; }
tr.group th { background: #e8eef7; font-weight: 600; padding-top: .45rem; }
tbody tr:nth-child(even) { background: #fafbfc; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.ns { color: #8a919c; }
td .hw { font-size: .8rem; color: var(--muted); font-weight: 400; }
td.sig { font-weight: 600; }
.flag { color: var(--bad); font-weight: 600; }
.yes { color: var(--good); font-weight: 600; }
figure { margin: 1rem 0 1.6rem; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid var(--line);
             border-radius: 4px; background: #fff; }
figcaption { color: var(--muted); font-size: .88rem; margin-top: .35rem; }
details { margin: .6rem 0; }
summary { cursor: pointer; color: var(--accent); }
pre.source { background: var(--soft); border: 1px solid var(--line); border-radius: 6px;
             padding: .8rem 1rem; overflow-x: auto; max-height: 36rem; font-size: .8rem; }
footer { margin-top: 3rem; padding-top: .8rem; border-top: 1px solid var(--line);
         color: var(--muted); font-size: .85rem; }
@media print {
  .page { max-width: none; padding: 0; }
  nav.toc { display: none; }
  figure, table, .card, .reproduce { break-inside: avoid; }
  h2, h3 { break-after: avoid; }
  details > pre.source { max-height: none; }
}
""".strip()


def page(title: str, body: str, generator: str) -> str:
    """A complete HTML5 document: ``body`` is trusted markup, ``title`` plain text."""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n'
        "<head>\n"
        '<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        f'<meta name="generator" content="{escape(generator)}">\n'
        f"<title>{escape(title)}</title>\n"
        f"<style>\n{CSS}\n</style>\n"
        "</head>\n"
        "<body>\n"
        f'<div class="page">\n{body}\n</div>\n'
        "</body>\n"
        "</html>\n"
    )
