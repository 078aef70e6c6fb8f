"""HTML for the static site: page shell, chart slots, tables; every upstream string is escaped here.

Chart specs travel inside ``<script type="application/json">`` with ``<``, ``>`` and ``&`` written as
JSON escapes, so no text (a repository description holding ``</script>``) can end the script early.
"""
from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

SITE_CSS = """
:root { --ink:#1d2330; --muted:#5b6475; --line:#e3e6ec; --bg:#f7f8fa; --accent:#1f77b4; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       color:var(--ink); background:var(--bg); }
header { background:#fff; border-bottom:1px solid var(--line); padding:10px 24px; display:flex;
         flex-wrap:wrap; gap:6px 24px; align-items:baseline; }
header .brand { font-weight:700; font-size:18px; }
header nav { display:flex; flex-wrap:wrap; gap:2px 14px; min-width:0; }
header nav a { color:var(--accent); text-decoration:none; white-space:nowrap; }
header nav a.here { color:var(--ink); font-weight:600; border-bottom:2px solid var(--ink); }
header .asof { margin-left:auto; color:var(--muted); font-size:13px; }
.banner { background:#fff3cd; border-bottom:2px solid #e0b400; color:#5c4500; padding:10px 24px;
          font-weight:600; font-size:16px; }
main { max-width:1180px; margin:0 auto; padding:16px 24px 40px; }
h1 { font-size:24px; margin:8px 0 4px; }
.headline { font-size:19px; background:#fff; border-left:5px solid var(--accent); padding:12px 16px;
            margin:12px 0 16px; }
.howto { color:var(--muted); font-size:13px; margin:0 0 16px; }
.card { background:#fff; border:1px solid var(--line); border-radius:6px; padding:12px 16px 8px;
        margin:0 0 16px; }
.card h2 { font-size:17px; margin:0 0 2px; }
.card p.note { color:var(--muted); font-size:13px; margin:0 0 6px; }
.card .links { font-size:12px; margin:4px 0 0; color:var(--muted); }
.card.empty { border-style:dashed; background:#fbfbfc; }
.card.empty p { margin:4px 0 8px; }
.grid { display:grid; grid-template-columns:repeat(auto-fit, minmax(min(520px, 100%), 1fr)); gap:0 16px; }
.chart { width:100%; min-height:120px; overflow-x:auto; }
.chart .vega-embed { width:100%; }
.scroll { overflow-x:auto; max-width:100%; }
button.save { font:inherit; font-size:12px; color:var(--accent); background:none; border:0; padding:0;
              cursor:pointer; text-decoration:underline; }
.leads { margin:0 0 16px; padding-left:20px; }
@media (max-width: 640px) {
  header { padding:8px 12px; } .banner { padding:8px 12px; font-size:14px; }
  main { padding:10px 8px 32px; } .card { padding:10px 8px 6px; }
  h1 { font-size:20px; } .headline { font-size:16px; padding:10px 12px; }
  header .asof { margin-left:0; }
}
code { background:#eef1f5; padding:1px 5px; border-radius:3px; font-size:13px; overflow-wrap:anywhere; }
table { border-collapse:collapse; font-size:13px; width:100%; }
th, td { text-align:left; padding:4px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
.bad { color:#b00020; font-weight:600; }
.ok { color:#17733a; }
.controls { margin:0 0 12px; font-size:14px; }
footer { color:var(--muted); font-size:12px; text-align:center; padding:16px; }
.swatch { display:inline-block; width:12px; height:12px; border-radius:2px; margin-right:6px; }
"""

SITE_JS = r"""
(function () {
  'use strict';
  var state = window.ecotrendCharts = { done: false, errors: [], views: {}, exported: [] };
  var node = document.getElementById('chart-specs');
  if (!node) { state.done = true; return; }  // a page of tables and empty states only
  var specs = JSON.parse(node.textContent);
  var opts = { renderer: 'svg', actions: false };
  function walk(obj, fn) {
    if (Array.isArray(obj)) { obj.forEach(function (o) { walk(o, fn); }); return obj; }
    if (obj && typeof obj === 'object') { fn(obj); Object.keys(obj).forEach(function (k) { walk(obj[k], fn); }); }
    return obj;
  }
  // The log switch: a true log axis with a few round ticks; zeros cannot be drawn and are left out.
  function logify(obj) {
    var y = obj.encoding && obj.encoding.y;
    if (y && y.field === 'value' && y.type === 'quantitative') {
      var scale = Object.assign({}, y.scale || {}, { type: 'log', nice: true });
      delete scale.zero; delete scale.domain;
      y.scale = scale;
      y.axis = Object.assign({}, y.axis || {}, { format: '~s', tickCount: 5, labelOverlap: 'greedy' });
    }
    if (obj.transform === undefined && obj.mark && y && y.field === 'value') {
      obj.transform = [{ filter: 'datum.value === null || datum.value > 0' }];
    }
  }
  // Fit to the container: legends wrap into as many columns as fit; side-by-side panels stack.
  function fit(spec, width) {
    walk(spec, function (obj) {
      var legend = obj.encoding && obj.encoding.color && obj.encoding.color.legend;
      if (legend && typeof legend === 'object') {
        legend.labelLimit = Math.max(80, Math.min(legend.labelLimit || 260, width - 70));
        legend.columns = Math.max(1, Math.min(legend.columns || 1, Math.floor(width / 190)));
      }
    });
    if (spec.hconcat && width < 760) {
      spec.vconcat = spec.hconcat; delete spec.hconcat;
      walk(spec.vconcat, function (obj) {
        if (obj.spec && obj.spec.width) { obj.spec.width = Math.max(120, width - 150); }
      });
    }
    return spec;
  }
  function embedAll(log) {
    state.done = false;
    var jobs = Object.keys(specs).map(function (id) {
      var el = document.getElementById(id);
      if (!el) { state.errors.push(id + ': no container'); return Promise.resolve(); }
      var spec = fit(JSON.parse(JSON.stringify(specs[id])), el.clientWidth || 600);
      if (log && el.getAttribute('data-logable')) { walk(spec, logify); }
      if (state.views[id]) { state.views[id].finalize(); delete state.views[id]; }
      return vegaEmbed(el, spec, opts).then(function (res) { state.views[id] = res.view; })
        .catch(function (err) { state.errors.push(id + ': ' + err); console.error('chart ' + id, err); });
    });
    return Promise.all(jobs).then(function () { state.done = true; });
  }
  // Save as PNG or SVG: the chart at a fixed width with its title, data-as-of, source and (for
  // simulated data) banner lines written on it, saved under the chart's own file name.
  function exportSpec(id) {
    var spec = JSON.parse(JSON.stringify(specs[id]));
    var meta = (spec.usermeta && spec.usermeta.export) || { file: id, title: id, lines: [] };
    delete spec.usermeta;
    if (spec.width === 'container') { spec.width = 900; }
    spec.title = { text: meta.title, subtitle: meta.lines, anchor: 'start', fontSize: 15, subtitleFontSize: 11,
                   subtitleColor: '#444444', offset: 12 };
    return { spec: spec, file: meta.file };
  }
  function save(id, format) {
    var ex = exportSpec(id);
    var box = document.createElement('div');
    box.style.cssText = 'position:absolute;left:-10000px;top:0;width:1000px';
    document.body.appendChild(box);
    return vegaEmbed(box, ex.spec, opts).then(function (res) {
      var made = format === 'svg' ? res.view.toSVG() : res.view.toImageURL('png', 2);
      return made.then(function (out) {
        var href = format === 'svg' ? URL.createObjectURL(new Blob([out], { type: 'image/svg+xml' })) : out;
        var a = document.createElement('a');
        a.href = href; a.download = ex.file + '.' + format;
        document.body.appendChild(a); a.click(); a.remove();
        state.exported.push(a.download);
        res.view.finalize(); box.remove();
      });
    }).catch(function (err) { state.errors.push(id + ' export: ' + err); console.error('export ' + id, err); });
  }
  if (typeof vegaEmbed !== 'function') {
    state.errors.push('assets/vega.js did not load');
    console.error('ecotrend: assets/vega.js did not load; charts cannot be drawn');
    state.done = true;
    return;
  }
  document.addEventListener('click', function (ev) {
    var b = ev.target.closest && ev.target.closest('button.save');
    if (b) { save(b.getAttribute('data-chart'), b.getAttribute('data-format')); }
  });
  embedAll(false);
  var box = document.getElementById('log-scale');
  if (box) { box.addEventListener('change', function () { embedAll(box.checked); }); }
  var lastWidth = window.innerWidth;
  window.addEventListener('resize', function () {
    if (Math.abs(window.innerWidth - lastWidth) > 80) { lastWidth = window.innerWidth; embedAll(box && box.checked); }
  });
})();
"""

HOWTO = ("How to read: solid line = measured that day (snapshot); dashed = reconstructed later (backfill); "
         "dotted = derived from other measurements; ◆ = figure quoted by the 2023 analysis (reference); "
         "grey dotted rules = release events. Hover for exact values and provenance, click a legend entry "
         "to pick a series, drag or scroll on a chart to pan and zoom its time axis, double-click to reset.")


OG_IMAGE = "assets/og-card.png"  # written once by the site; a page with a --png chart names that instead


def esc(value: Any) -> str:
    """Escape any text for HTML (element content and quoted attributes)."""
    return html.escape("" if value is None else str(value), quote=True)


def script_json(obj: Any) -> str:
    """JSON safe to place inside a <script> element."""
    text = json.dumps(obj, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def fmt_num(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:,.0f}" if abs(v) >= 100 or v == int(v) else f"{v:,.2f}"
    if isinstance(v, int):
        return f"{v:,}"
    return esc(v)


def table(columns: Sequence[str], rows: Sequence[Sequence[Any]], numeric: Sequence[int] = (),
          classes: Sequence[Sequence[str]] | None = None) -> str:
    """A plain HTML table; cells escaped, numeric columns right-aligned and formatted."""
    head = "".join(f'<th class="num">{esc(c)}</th>' if i in numeric else f"<th>{esc(c)}</th>"
                   for i, c in enumerate(columns))
    body = []
    for r_i, row in enumerate(rows):
        cells = []
        for i, v in enumerate(row):
            cls = ["num"] if i in numeric else []
            if classes and classes[r_i][i]:
                cls.append(classes[r_i][i])
            attr = f' class="{" ".join(cls)}"' if cls else ""
            cells.append(f"<td{attr}>{fmt_num(v) if i in numeric else esc(v)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


@dataclass
class Page:
    """One HTML page being assembled: HTML blocks in order plus the chart specs to embed."""

    file: str
    title: str
    blocks: list[str] = field(default_factory=list)
    specs: dict[str, dict[str, Any]] = field(default_factory=dict)
    logable: bool = False
    description: str = ""  # og:description (the page's headline, else its first line)
    image: str = ""  # og:image: the first chart's PNG when built with --png

    def add(self, block: str) -> None:
        self.blocks.append(block)

    def chart_slot(self, chart_id: str, spec: dict[str, Any], title: str, note: str, links: list[tuple[str, str]],
                   logable: bool = False) -> None:
        self.specs[chart_id] = spec
        link_html = " · ".join(f'<a href="{esc(href)}">{esc(text)}</a>' for text, href in links)
        link_html += "".join(f' · <button type="button" class="save" data-chart="{esc(chart_id)}" '
                             f'data-format="{fmt}">save as {fmt.upper()}</button>' for fmt in ("png", "svg"))
        attr = ' data-logable="1"' if logable else ""
        self.add(f'<section class="card"><h2>{esc(title)}</h2><p class="note">{esc(note)}</p>'
                 f'<div class="chart" id="{esc(chart_id)}" data-chart="1"{attr}></div>'
                 f'<p class="links">{link_html}</p></section>')

    def empty_slot(self, title: str, what: str, command: str) -> None:
        self.add(f'<section class="card empty"><h2>{esc(title)}</h2><p>No data yet for {esc(what)}. '
                 f'Fill it with <code>{esc(command)}</code>.</p></section>')


def shell(page: Page, *, site_title: str, nav: list[tuple[str, str]], as_of_line: str, banner: str,
          bundle: str, footer: str) -> str:
    """The whole HTML document for a page; assets are referenced relatively (works from file://)."""
    nav_html = "".join(
        f'<a href="{esc(href)}"{" class=" + chr(34) + "here" + chr(34) if href == page.file else ""}>'
        f"{esc(text)}</a>" for text, href in nav)
    banner_html = f'<div class="banner" role="note">{esc(banner)}</div>' if banner else ""
    description = " ".join(filter(None, [f"Simulated data: {banner}" if banner else "",
                                         page.description or page.title, as_of_line]))
    scripts = '<script src="assets/site.js"></script>'
    if page.specs:
        scripts = (f'<script src="assets/{esc(bundle)}"></script>\n'
                   f'<script type="application/json" id="chart-specs">{script_json(page.specs)}</script>\n'
                   + scripts)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(page.title)} · {esc(site_title)}</title>
<meta name="description" content="{esc(description)}">
<meta property="og:type" content="website">
<meta property="og:title" content="{esc(page.title)} · {esc(site_title)}">
<meta property="og:description" content="{esc(description)}">
<meta property="og:image" content="{esc(page.image or OG_IMAGE)}">
<link rel="stylesheet" href="assets/site.css">
</head><body>
{banner_html}
<header><span class="brand">{esc(site_title)}</span><nav>{nav_html}</nav>
<span class="asof">{esc(as_of_line)}</span></header>
<main>
{''.join(page.blocks)}
</main>
<footer>{esc(footer)}</footer>
{scripts}
</body></html>
"""
