"""The report in real headless Chromium with every network request blocked.

Uses Debian's chromium (``apt-get install chromium``) driven by pip ``playwright`` with
``executable_path`` (no ``playwright install``). Skips, saying why, only when no chromium
binary is found ($LANDKIT_CHROMIUM, /usr/bin/chromium, chromium, chromium-headless-shell).
Screenshots and PDFs are written to $LANDKIT_ARTIFACTS (default: the test's tmp folder).
"""
from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

import landkit as lk
from landkit.render.export import write_json
from landkit.render.report import build_report, pct
from landkit.pipeline.run import analyse

from test_maps import PAYLOAD, build_county_dir
from test_report import get, with_inventory

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "sample_data" / "420704_鄂城区"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


def chromium_binary() -> str | None:
    cands = [os.environ.get("LANDKIT_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"),
             "/usr/lib/chromium/chromium-headless-shell", shutil.which("chromium-headless-shell"),
             shutil.which("chromium-browser")]
    return next((c for c in cands if c and os.path.exists(c)), None)


BINARY = chromium_binary()
pytestmark = pytest.mark.skipif(BINARY is None, reason="没有找到 chromium 浏览器（apt-get install chromium），跳过浏览器测试")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=BINARY, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    d = os.environ.get("LANDKIT_ARTIFACTS")
    out = Path(d) if d else tmp_path_factory.mktemp("browser")
    out.mkdir(parents=True, exist_ok=True)
    return out


class Page:
    """A page opened offline: every http(s) request is aborted and recorded."""

    def __init__(self, browser, path: Path, viewport=(1200, 900)):
        self.ctx = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
        self.blocked, self.failed, self.errors, self.dialogs = [], [], [], []

        def route(r):
            if r.request.url.startswith(("http:", "https:")):
                self.blocked.append(r.request.url)
                r.abort()
            else:
                r.continue_()
        self.ctx.route("**/*", route)
        self.page = self.ctx.new_page()
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(f"console: {m.text}"))
        self.page.on("requestfailed", lambda r: self.failed.append(r.url))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.goto(path.resolve().as_uri())
        self.page.wait_for_function("() => window.L && Object.values(window).some(v => v instanceof L.Map)",
                                    timeout=30_000)
        self.page.wait_for_timeout(300)

    def stats(self) -> dict:
        return self.page.evaluate("""() => {
            const ms = Object.values(window).filter(v => v instanceof L.Map);
            let paths = 0, popups = 0, images = 0, labels = 0;
            ms.forEach(m => m.eachLayer(l => {
                if (l instanceof L.Path) { paths++; if (l.getPopup()) popups++; }
                if (l instanceof L.ImageOverlay) images++;
                if (l instanceof L.Marker) labels++;
            }));
            return {maps: ms.length, paths, popups, images, labels,
                    svg: document.querySelectorAll('path.leaflet-interactive').length,
                    jquery: typeof window.$ !== 'undefined' || typeof window.jQuery !== 'undefined'};
        }""")

    def kpis(self) -> list:
        return self.page.evaluate("""() => Array.from(document.querySelectorAll('[data-kpi]')).map(
            e => [e.dataset.kpi, e.dataset.value, e.textContent.trim()])""")

    def close(self):
        self.ctx.close()


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    d = tmp_path_factory.mktemp("bro")
    c = lk.read_county(build_county_dir(d))
    r = with_inventory(c, analyse(c))
    out = d / "out"
    build_report(c, r, out / "report.html")
    write_json(r["summary"], out / "summary.json")
    return out


def _check_open(pg: Page, out: Path, artifacts: Path, name: str):
    assert pg.blocked == [], f"network requests: {pg.blocked[:5]}"
    assert pg.failed == [] and pg.errors == [] and pg.dialogs == []
    st = pg.stats()
    assert st["maps"] == 1 and not st["jquery"]
    html = (out / "report.html").read_text(encoding="utf-8")
    expected = int(re.search(r'data-vector-features="(\d+)"', html).group(1))
    assert st["paths"] == expected > 0
    assert st["popups"] > 0 and st["labels"] > 0
    sj = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    items = pg.kpis()
    assert len(items) >= 15
    for path, raw, text in items:
        assert json.loads(raw) == get(sj, path), path
    shown = {p: t for p, _, t in items}
    if sj["satellite"].get("available", True):
        assert shown["satellite.ratio"] == pct(sj["satellite"]["ratio"])
    shot = artifacts / f"{name}.png"
    pg.page.screenshot(path=str(shot), full_page=True)
    pg.page.locator("#map").scroll_into_view_if_needed()
    pg.page.wait_for_timeout(200)
    pg.page.screenshot(path=str(artifacts / f"{name}_map.png"))
    print(f"\nscreenshots: {shot}, {artifacts / f'{name}_map.png'}")
    return st


def test_report_offline_in_chromium(browser, report, artifacts):
    pg = Page(browser, report / "report.html")
    try:
        _check_open(pg, report, artifacts, "report")
        # a popup opens and is built without jQuery; its text is the data
        txt = pg.page.evaluate("""() => {
            const m = Object.values(window).find(v => v instanceof L.Map); let out = null;
            m.eachLayer(l => { if (!out && l instanceof L.Path && l.getPopup() && l.feature
                                && l.feature.properties.k === 'illegal') { l.openPopup(); out = true; } });
            const p = document.querySelector('.leaflet-popup-content'); return p ? p.textContent : null; }""")
        assert txt and "卫片图斑·违法" in txt and "监测编号" in txt and "亩" in txt
        assert pg.errors == []
    finally:
        pg.close()


def test_report_prints_to_a4(browser, report, artifacts):
    pg = Page(browser, report / "report.html")
    try:
        pdf = pg.page.pdf(format="A4", print_background=True)
        (artifacts / "report.pdf").write_bytes(pdf)
        pages = len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf))
        assert 2 <= pages <= 30, pages
        pg.page.emulate_media(media="print")
        vis = pg.page.evaluate("""() => [getComputedStyle(document.querySelector('.map-live')).display,
                                         getComputedStyle(document.querySelector('.map-print')).display]""")
        assert vis == ["none", "block"]          # the static map replaces the live one on paper
    finally:
        pg.close()


def test_injected_script_never_runs(browser, tmp_path, artifacts):
    c = lk.read_county(build_county_dir(tmp_path, payload=True))
    r = with_inventory(c, analyse(c), payload=True)
    path = tmp_path / "xss.html"
    build_report(c, r, path)
    pg = Page(browser, path)
    try:
        # open every popup and tooltip: their text comes from the data
        n = pg.page.evaluate("""() => { const m = Object.values(window).find(v => v instanceof L.Map); let n = 0;
            m.eachLayer(l => { if (l instanceof L.Path && l.getPopup()) { l.openPopup(); l.openTooltip(); n++; } });
            return n; }""")
        assert n > 0
        pg.page.wait_for_timeout(300)
        assert pg.page.evaluate("typeof window.__pwned") == "undefined"
        assert pg.dialogs == [] and pg.errors == [] and pg.blocked == []
        body = pg.page.evaluate("document.body.innerText")
        assert "<script>window.__pwned=1</script>" in body           # shown as text
        labels = pg.page.evaluate("Array.from(document.querySelectorAll('.lk-label span')).map(e => e.textContent)")
        assert PAYLOAD[:60] in labels
        pg.page.screenshot(path=str(artifacts / "xss.png"), full_page=True)
    finally:
        pg.close()


def test_tile_banner_when_basemap_offline(browser, tmp_path, monkeypatch):
    monkeypatch.setenv("TIANDITU_TOKEN", "test-token")
    c = lk.read_county(build_county_dir(tmp_path))
    path = tmp_path / "tdt.html"
    build_report(c, analyse(c), path, basemap="tianditu_vec")
    pg = Page(browser, path)
    try:
        pg.page.wait_for_selector(".lk-tile-banner", timeout=10_000)
        assert pg.page.inner_text(".lk-tile-banner") == "底图不可用（离线）"
        assert pg.blocked and all("tianditu.gov.cn" in u for u in pg.blocked)
        assert [e for e in pg.errors if "ERR_FAILED" not in e and "Failed to load resource" not in e] == []
    finally:
        pg.close()


def test_sample_county_report(browser, tmp_path, artifacts):
    from landkit.pipeline.run import run_county
    c = lk.read_county(SAMPLE)
    res = analyse(c)
    out = tmp_path / "sample"
    build_report(c, res, out / "report.html")
    write_json(res["summary"], out / "summary.json")
    size = (out / "report.html").stat().st_size
    print(f"\nsample report: {size / 1e6:.2f} MB")
    assert size <= 10 * 1024 * 1024
    pg = Page(browser, out / "report.html")
    try:
        _check_open(pg, out, artifacts, "sample")
        # two vintages: the 地类变化 section and the 耕地流出 layer, 疑似漏监测 drawn with the red dashed border
        ch = res["summary"]["change"]
        assert ch["available"] and pg.page.locator("#change-matrix").is_visible()
        rows = pg.page.evaluate("() => document.querySelectorAll('#change-unmonitored tbody tr').length")
        assert rows == min(15, ch["unmonitored_count"])
        marked = pg.page.evaluate("""() => { let n = 0; Object.values(window).filter(v => v instanceof L.Map)
            .forEach(m => m.eachLayer(l => { if (l instanceof L.Path && l.options.dashArray === '6 3'
                && l.options.color === '#b71c1c') n++; })); return n; }""")
        assert marked == ch["unmonitored_count"]
    finally:
        pg.close()


def test_progress_section_and_trend_in_chromium(browser, tmp_path, artifacts):
    """Two runs with --previous (the first run's ledger filled in with openpyxl): Chromium shows the
    进展 section, the reminder table with the overdue item, and both trend charts drawn with points."""
    import datetime as dt
    import shutil
    import sys as _sys
    import openpyxl
    from landkit.pipeline.run import run_county
    _sys.path.insert(0, str(Path(__file__).parent / "data"))
    import make_bad_corpus as corpus
    county = corpus.county_dir("unbroken_base_county", corpus.BAD)
    out1 = tmp_path / "out1"
    run_county(county, out1)
    wb = openpyxl.load_workbook(out1 / "ledger.xlsx")
    ws = wb["批而未供"]
    hr = next(r for r in range(1, 8) if ws.cell(r, 1).value == "批次名称")
    h = {c.value: j + 1 for j, c in enumerate(ws[hr]) if c.value}
    ws.cell(hr + 1, h["责任单位"]).value = "汀祖镇人民政府"
    ws.cell(hr + 1, h["完成时限"]).value = dt.datetime(2025, 6, 30)
    wb.save(out1 / "ledger.xlsx")
    out2 = tmp_path / "out2"
    run_county(county, out2, as_of=dt.date(2025, 12, 31), previous=out1)
    pg = Page(browser, out2 / "report.html")
    try:
        assert pg.blocked == [] and pg.errors == []
        sec = pg.page.locator("#progress")
        sec.scroll_into_view_if_needed()
        assert sec.is_visible() and "进展" in sec.inner_text()
        assert "汀祖镇人民政府" in pg.page.locator("#remind").inner_text()
        charts = sec.locator("svg")
        assert charts.count() == 2
        for i in range(2):
            assert charts.nth(i).bounding_box()["width"] > 200
            assert charts.nth(i).locator("circle").count() >= 2
        pg.page.screenshot(path=str(artifacts / "progress.png"))
    finally:
        pg.close()
    shutil.rmtree(out1, ignore_errors=True)


def test_zones_section_and_map_layer_in_chromium(browser, tmp_path, artifacts):
    """The sample county's 开发区 section: one row per zone and the total, each figure as in
    summary.json, the definitions as header tooltips and footnotes; the zone outlines on the map
    open a popup with the indicators."""
    c = lk.read_county(SAMPLE)
    res = analyse(c)
    out = tmp_path / "zones"
    build_report(c, res, out / "report.html")
    write_json(res["summary"], out / "summary.json")
    sj = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    zs = sj["development_zones"]
    pg = Page(browser, out / "report.html")
    try:
        assert pg.blocked == [] and pg.errors == []
        sec = pg.page.locator("#zones")
        sec.scroll_into_view_if_needed()
        assert sec.is_visible() and "开发区土地节约集约利用" in sec.inner_text()
        rows = sec.locator("#zone-indicators tbody tr")
        assert rows.count() == len(zs["zones"]) + 1
        for i, z in enumerate(zs["zones"]):
            cells = rows.nth(i).locator("td")
            assert z["name"] in cells.nth(0).inner_text()
            assert cells.nth(2).inner_text() == pct(z["supply_rate"])
        titles = sec.locator("#zone-indicators th[title]").evaluate_all("els => els.map(e => e.title)")
        assert len(titles) == 7 and titles[0].startswith("土地供应率 = 已供应国有建设用地面积 ÷ 已达到供地条件的土地面积")
        assert sec.locator("ol.zone-defs li").count() == 7
        items = [(p, v) for p, v, _ in pg.kpis() if p.startswith("development_zones.")]
        assert len(items) == 4 * 8 + 4 * 7
        for path, raw in items:
            assert json.loads(raw) == get(sj, path), path
        sec.screenshot(path=str(artifacts / "zones_section.png"))
        txt = pg.page.evaluate("""() => {
            const m = Object.values(window).find(v => v instanceof L.Map); let out = null;
            m.eachLayer(l => { if (!out && l instanceof L.Path && l.getPopup() && l.feature
                                && l.feature.properties.k === 'z') { l.openPopup(); out = true; } });
            const p = document.querySelector('.leaflet-popup-content'); return p ? p.textContent : null; }""")
        assert txt and "开发区范围" in txt and "土地供应率" in txt and "万元/亩" in txt
        assert any(z["name"] in txt for z in zs["zones"])
        pg.page.locator("#map").scroll_into_view_if_needed()
        pg.page.screenshot(path=str(artifacts / "zones_map.png"))
        assert pg.errors == []
    finally:
        pg.close()


def test_sample_chips_cards_popups_and_fieldcheck_pages(browser, tmp_path, artifacts):
    """`landkit run` on the demo county: Chromium shows each selected patch's two pictures in its
    card and in its map popup, and prints the 外业核查表 as exactly one A4 page per patch."""
    from landkit.pipeline.run import run_county
    out = tmp_path / "sample_chips"
    s = run_county(SAMPLE, out)
    n = s["imagery"]["patch_count"]
    assert s["imagery"]["available"] and n == 20 and s["imagery"]["chip_count"] == 40
    pg = Page(browser, out / "report.html")
    try:
        assert pg.blocked == [] and pg.errors == []
        imgs = pg.page.evaluate("""() => Array.from(document.querySelectorAll('#chips img[id^="lkchip-"]'))
            .map(i => [i.id, i.naturalWidth, i.naturalHeight, i.complete])""")
        assert len(imgs) == 2 * n and all(w == 320 and h == 320 and ok for _, w, h, ok in imgs)
        pg.page.locator("#chips").scroll_into_view_if_needed()
        pg.page.screenshot(path=str(artifacts / "sample_chips.png"))
        got = pg.page.evaluate("""() => {
            const m = Object.values(window).find(v => v instanceof L.Map); let key = null;
            m.eachLayer(l => { if (!key && l instanceof L.Path && l.feature && l.feature.properties.m) {
                l.openPopup(); key = l.feature.properties.m; } });
            const p = document.querySelector('.leaflet-popup-content');
            return [key, p ? Array.from(p.querySelectorAll('.lk-chips img')).map(i => [i.src.length, i.naturalWidth])
                          : null, p ? p.textContent : ''];
        }""")
        key, pics, text = got
        assert key and len(pics) == 2 and all(w == 320 for _, w in pics)
        own = pg.page.evaluate(f"document.getElementById('lkchip-{key}-0').src.length")
        assert pics[0][0] == own and "前时相（2023-09-21）" in text and "后时相（2024-12-19）" in text
        pg.page.locator(".leaflet-popup-content").scroll_into_view_if_needed()
        pg.page.screenshot(path=str(artifacts / "sample_chip_popup.png"))
        assert pg.errors == []
    finally:
        pg.close()
    ctx = browser.new_context()
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.route("**/*", lambda r: r.abort() if r.request.url.startswith(("http:", "https:")) else r.continue_())
    try:
        page.goto((out / "外业核查表.html").resolve().as_uri())
        page.wait_for_function("() => Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
        assert page.evaluate("document.querySelectorAll('section.sheet').length") == n
        pdf = page.pdf(prefer_css_page_size=True, print_background=True)
        (artifacts / "外业核查表.pdf").write_bytes(pdf)
        assert len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf)) == n
        boxes = {tuple(round(float(v)) for v in m) for m in re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)}
        assert boxes == {(595, 842)} or boxes == {(596, 843)}          # A4 in points
        assert errors == []
    finally:
        ctx.close()
