"""The HTML report: self-contained, Chinese, KPI figures straight from the summary, missing data shown as such."""
from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

import landkit as lk
from landkit.render.export import json_ready, write_json
from landkit.render.offline import external_references
from landkit.render.report import build_report, hbar_chart, kpi_cards, mu, pct, vbar_chart
from landkit.pipeline.run import analyse

from test_maps import PAYLOAD, build_county_dir, fake_inventory


class KPIs(HTMLParser):
    """Collects every element carrying data-kpi (path, raw JSON value, text)."""

    def __init__(self):
        super().__init__()
        self.items, self._stack = [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "data-kpi" in a:
            self._stack.append([a["data-kpi"], a.get("data-value"), ""])
        elif self._stack:
            self._stack.append(None)

    def handle_endtag(self, tag):
        if self._stack:
            top = self._stack.pop()
            if top is not None:
                self.items.append(tuple(top))

    def handle_data(self, data):
        for t in self._stack:
            if t is not None:
                t[2] += data


def get(d, path):
    for k in path.split("."):
        d = d[int(k)] if isinstance(d, list) else d[k]
    return d


def with_inventory(county, res, payload=False):
    inv_results, inv, disp = fake_inventory(county, payload=payload)
    return {"summary": {**res["summary"], "inventory": inv, "disposal": disp},
            "results": {**res["results"], **inv_results}}


@pytest.fixture(scope="module")
def county_res(tmp_path_factory):
    c = lk.read_county(build_county_dir(tmp_path_factory.mktemp("rep")))
    return c, analyse(c)


@pytest.fixture(scope="module")
def full(county_res, tmp_path_factory):
    c, res = county_res
    r = with_inventory(c, res)
    out = tmp_path_factory.mktemp("out")
    html = build_report(c, r, out / "report.html")
    write_json(r["summary"], out / "summary.json")
    return c, r, html, out


def test_self_contained_and_chinese(full):
    c, r, html, out = full
    assert (out / "report.html").read_text(encoding="utf-8") == html
    assert not list(out.glob(".report-*"))                # written atomically, no temp left
    for meta in ('<meta charset="utf-8">', '<meta name="renderer" content="webkit">',
                 '<meta http-equiv="X-UA-Compatible" content="IE=edge">', '<html lang="zh-CN">'):
        assert meta in html
    assert not external_references(html)
    assert not re.search(r"""<(script|img|iframe)\b[^>]*\bsrc\s*=\s*["']?(https?:)?//""", html, re.I)
    assert not re.search(r"""<link\b[^>]*\bhref\s*=""", html, re.I)
    assert "Leaflet 1.9.4" in html and "BSD 2-Clause" in html      # inlined, license kept
    assert "jquery" not in html.lower().replace("jquery（", "")
    assert "鄂城区" in html and "核心指标" in html and "需要做什么" in html and "数据质量" in html
    # first page first: title, then KPIs, then actions, tables, map, appendix
    order = [html.index(x) for x in ('class="cover"', 'id="kpis"', 'id="actions"', 'id="satellite"', 'id="map"',
                                     'id="qa"')]
    assert order == sorted(order)
    assert "@page" in html and "size: A4" in html and "map-print" in html and "<svg" in html
    assert len(html.encode()) < 10 * 1024 * 1024


def test_kpis_equal_summary_json(full):
    c, r, html, out = full
    sj = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    p = KPIs()
    p.feed(html)
    paths = {k for k, _, _ in p.items}
    for need in ("satellite.ratio", "satellite.cap", "satellite.accountability_threshold",
                 "disposal.approved_unsupplied.rate", "disposal.idle.rate", "satellite.illegal_yjjbnt_mu",
                 "farmland_overlap.approvals.overlap_mu", "inventory.total_mu", "inventory.approved_unsupplied_mu",
                 "inventory.idle_mu", "inventory.inefficient_mu", "inventory.collective_commercial_mu",
                 "qa.error_count"):
        assert need in paths, need
    for path, raw, text in p.items:
        assert json.loads(raw) == get(sj, path), path
    shown = {k: t.strip() for k, _, t in p.items}
    assert shown["satellite.ratio"] == pct(sj["satellite"]["ratio"])
    assert shown["disposal.approved_unsupplied.rate"] == "18.00%"
    assert shown["inventory.approved_unsupplied_mu"] == "15.85"       # 15.845 → round half up
    assert shown["inventory.inefficient_mu"] == "未提供数据"              # None in the summary: never 0


def test_status_colours_and_actions(full):
    c, r, html, out = full
    s = r["summary"]
    cards = {cd["title"]: cd for cd in kpi_cards(json_ready(s))}
    sat = cards["卫片违法占用耕地比例"]
    assert sat["status"] == {"pass": "ok", "over_cap": "warn", "accountability": "bad"}[s["satellite"]["status"]]
    assert cards["批而未供土地处置率"]["status"] == "bad" and cards["闲置土地处置率"]["status"] == "ok"
    if s["satellite"]["status"] != "pass":
        assert f'data-value="{json.dumps(s["satellite"]["rectify_to_cap_mu"])}"' in html
        for p in s["satellite"]["rectify_patches"]:
            assert p["id"] in html
    # disposal shortfall by township, from the summary
    assert "尚需处置" in html and mu(7.0) in html and "处置率未达目标的乡镇" in html
    assert "增存挂钩" in html


def test_missing_sections_say_so(county_res, tmp_path):
    c, res = county_res
    r = {"summary": dict(res["summary"]), "results": dict(res["results"])}
    r["summary"]["inventory"] = {"available": False, "reason": "该县没有批准用地和供地图层"}
    r["summary"].pop("disposal", None)
    html = build_report(c, r)
    p = KPIs()
    p.feed(html)
    shown = {k: (raw, t.strip()) for k, raw, t in p.items}
    assert shown["inventory.total_mu"] == ("null", "未提供数据")
    assert shown["disposal.approved_unsupplied.rate"] == ("null", "未提供数据")
    assert "该县没有批准用地和供地图层" in html
    sec = html[html.index('id="inventory"'):html.index('id="map"')]
    assert "未提供数据" in sec and "0.00" not in sec


def test_no_satellite_layer(tmp_path):
    d = build_county_dir(tmp_path)
    for f in d.glob("卫片图斑.*"):
        f.unlink()
    c = lk.read_county(d)
    res = analyse(c)
    html = build_report(c, res)
    p = KPIs()
    p.feed(html)
    shown = {k: (raw, t.strip()) for k, raw, t in p.items}
    assert shown["satellite.ratio"] == ("null", "未提供数据")
    assert "该县没有卫片图斑图层" in html


def test_injected_text_is_escaped(tmp_path):
    c = lk.read_county(build_county_dir(tmp_path, payload=True))
    r = with_inventory(c, analyse(c), payload=True)
    html = build_report(c, r)
    body = html[html.index("<body>"):]
    assert "<script>window.__pwned" not in body and "<img src=x" not in body
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in body        # shown as text in the tables
    # a "</script>" inside data cannot close the map script
    script = body[body.rindex("<script>"):]
    assert script.count("</script>") == 1


def test_charts_are_inline_svg():
    svg = hbar_chart([("<b>镇</b>", 0.1, "#c62828"), ("乙", None, "#000")], refs=[(0.05, "控制目标", "#ef6c00")])
    assert svg.startswith("<svg") and "&lt;b&gt;" in svg and "<b>" not in svg and "10.00%" in svg
    assert vbar_chart([("a", None, "#000")]) == ""
    v = vbar_chart([("批而未供", 0.18, "#c62828"), ("闲置土地", None, "#000")], refs=[(0.25, "目标", "#333")])
    assert "未提供数据" in v and "18.00%" in v


def test_report_size_budget_rebuilds_lighter(county_res):
    c, res = county_res
    small = build_report(c, res, max_bytes=200_000)
    assert len(small.encode()) < len(build_report(c, res).encode())


def test_inventory_with_no_category_is_not_zero(county_res):
    c, res = county_res
    r = {"summary": dict(res["summary"]), "results": dict(res["results"])}
    r["summary"]["inventory"] = {"as_of": "2024-12-31", "total_mu": 0.0, "by_township": [], "by_cohort": [],
                                 **{f"{k}_{x}": None for k in ("approved_unsupplied", "idle", "inefficient",
                                                              "collective_commercial") for x in ("mu", "count")},
                                 "notes": ["该县没有批准用地、供地和宗地图层"]}
    p = KPIs()
    p.feed(build_report(c, r))
    shown = {k: (raw, t.strip()) for k, raw, t in p.items}
    assert shown["inventory.total_mu"] == ("0.0", "未提供数据")


def test_generated_at_reads_as_a_date_and_time(full):
    c, r, html, out = full
    m = re.search(r"生成时间：([^<]*)<", html)
    assert m and re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}（UTC[+-]\d{2}:\d{2}）", m.group(1)), m
    assert m.group(1)[:16] == r["summary"]["generated_at"][:16].replace("T", " ")


# ------------------------------------------------------------------ 卫片图斑前后时相影像
def _img_tags(html):
    return re.findall(r'<img id="lkchip-(c\d+)-([01])" src="(data:image/jpeg;base64,[^"]+)" width="(\d+)"', html)


def test_report_shows_each_patchs_chips_once(tmp_path):
    import base64
    import rasterio
    from landkit.render.chips import patch_chips
    from test_chips import _county_with_pair
    c = lk.read_county(_county_with_pair(tmp_path), {"imagery": {"chip_count": 3, "chip_px": 200}})
    res = analyse(c)
    chips = patch_chips(c, res)
    html = build_report(c, res, fieldcheck_href="外业核查表.html")
    tags = _img_tags(html)
    assert sorted((k, int(i)) for k, i, _, _ in tags) == [(f"c{k}", i) for k in range(3) for i in (0, 1)]
    sat = res["results"]["satellite"].patches
    ids = list(sat.loc[sat["class"] == "illegal", "监测编号"][:3])
    for k, pid in enumerate(ids):      # each card names its patch
        assert re.search(rf'<article class="chip-card" id="patch-c{k}" data-patch="{pid}">', html)
    for _, _, uri, w in tags:
        data = base64.b64decode(uri.split(",", 1)[1])
        with rasterio.MemoryFile(data) as mf, mf.open() as ds:
            assert (ds.driver, ds.width, ds.height) == ("JPEG", 200, 200) and w == "200"
        # the map popups refer to the cards' pictures: no second copy (equal pictures are equal images)
        assert html.count(uri) == sum(t[2] == uri for t in tags)
    # the 卫片 popups of those patches point at the cards' pictures
    assert html.count('"m":"c0"') == 1 and '"c0":[["前时相（2023-12-01）",""' in html
    assert 'href="外业核查表.html"' in html and "前时相（2023-12-01）" in html
    assert len(html.encode()) < 10 * 1024 * 1024
    # without the link the report does not point to a file that is not there
    assert "外业核查表.html" not in build_report(c, res, chips=chips)


def test_report_without_imagery_says_why(tmp_path):
    from test_chips import _county_with_pair
    d = _county_with_pair(tmp_path)
    (d / "前时相_20231201.tif").write_bytes(b"not a tiff at all")
    (d / "后时相_20241130.tif").unlink()
    c = lk.read_county(d)
    html = build_report(c, analyse(c))
    assert _img_tags(html) == [] and 'id="chips"' in html
    block = html[html.index('id="chips"'):html.index('<section id="farmland">')]
    assert "未提供数据" in block and "无法读取前时相影像 前时相_20231201.tif" in block
    assert "县文件夹中没有后时相影像" in block and str(tmp_path) not in html
    # a county with no imagery at all
    c2 = lk.read_county(build_county_dir(tmp_path / "plain"))
    b2 = build_report(c2, analyse(c2))
    b2 = b2[b2.index('id="chips"'):b2.index('<section id="farmland">')]
    assert "未提供数据" in b2 and "县文件夹中没有前后时相影像" in b2


def test_chips_stay_within_their_share_of_the_budget(tmp_path):
    from landkit.render.chips import patch_chips
    from test_chips import _county_with_pair
    c = lk.read_county(_county_with_pair(tmp_path), {"imagery": {"chip_count": 5}})
    res = analyse(c)
    chips = patch_chips(c, res)
    one = sum(len(ch.uri) for ch in chips.items[0].chips.values())
    lim = chips.limited(int(one * 2.5))          # room for two patches' pictures
    assert [len(p.chips) for p in lim.items] == [2, 2, 0, 0, 0]
    assert lim.items[2].reasons["after"] == "报告大小所限，影像见外业核查表"
    assert len(chips.items[2].chips) == 2                     # the full set (for the 外业核查表) is untouched


def test_one_vintage_change_section_says_why(full):
    """A county with one DLTB: the 地类变化 section says 未提供数据 and why, never zeros."""
    html = full[2]
    sec = html[html.index('<section id="change"'):html.index('<section id="map"')]
    assert "未提供数据" in sec and "只有一期" in sec and 'data-kpi="change.' not in sec


def test_change_section_figures_equal_the_summary(tmp_path):
    """Two vintages (the hand-built county of test_change): every figure of the section carries its
    summary key and value; the matrix and the 疑似漏监测 table are there; the stacked bars are SVG."""
    from test_change import hand_county
    c = lk.read_county(hand_county(tmp_path))
    res = analyse(c)
    html = build_report(c, res, tmp_path / "report.html")
    write_json(res.summary, tmp_path / "summary.json")
    sj = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    sec = html[html.index('<section id="change"'):html.index('<section id="map"')]
    p = KPIs()
    p.feed(sec)
    paths = {k for k, _, _ in p.items}
    for need in ("change.cultivated_out_mu", "change.cultivated_in_mu", "change.cultivated_net_change_mu",
                 "change.cultivated_to_construction_mu", "change.cultivated_to_nonfood_mu",
                 "change.satellite_denominator_gap_mu", "change.unmonitored_count"):
        assert need in paths, need
    for path, raw, text in p.items:
        assert json.loads(raw) == get(sj, path), path
        if json.loads(raw) is not None and not path.endswith("_count"):
            assert text.strip() == mu(json.loads(raw))
    assert 'id="change-matrix"' in sec and 'id="change-unmonitored"' in sec and "N-C" in sec
    assert "<svg" in sec and "耕地流出" in sec
    assert "3. 耕地保护" in html and "疑似漏监测" in html[:html.index('<section id="satellite"')]
