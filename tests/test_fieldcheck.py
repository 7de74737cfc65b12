"""外业核查表 (landkit.render.fieldcheck): one printable A4 page per selected 卫片 patch."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

import landkit as lk
from landkit.render.chips import patch_chips
from landkit.render.fieldcheck import build_fieldcheck, dms

from test_chips import _county_with_pair
from test_maps import build_county_dir


class Sheets(HTMLParser):
    """Text, pictures and missing notes of each <section class="sheet">."""

    def __init__(self):
        super().__init__()
        self.sheets, self.depth = [], 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section" and a.get("class") == "sheet":
            self.sheets.append({"patch": a.get("data-patch"), "text": "", "imgs": [], "nochip": 0})
            self.depth = 1
        elif self.depth:
            self.depth += tag not in ("img", "br", "meta")
            if tag == "img":
                self.sheets[-1]["imgs"].append(a.get("src", ""))
            if a.get("class") == "nochip":
                self.sheets[-1]["nochip"] += 1

    def handle_endtag(self, tag):
        if self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.sheets[-1]["text"] += data


@pytest.mark.parametrize("deg, pos, neg, text", [
    (114.5, "E", "W", "114°30′00.00″E"), (30.123456, "N", "S", "30°07′24.44″N"), (-77.999999, "E", "W", "78°00′00.00″W"),
])
def test_dms(deg, pos, neg, text):
    assert dms(deg, pos, neg) == text


def test_one_page_per_patch_with_its_facts_and_pictures(tmp_path):
    c = lk.read_county(_county_with_pair(tmp_path), {"imagery": {"chip_count": 4}})
    chips = patch_chips(c, lk.analyse(c))
    out = tmp_path / "out" / "外业核查表.html"
    html = build_fieldcheck(c, chips, out)
    assert out.read_text(encoding="utf-8") == html and [p.name for p in out.parent.iterdir()] == ["外业核查表.html"]
    p = Sheets()
    p.feed(html)
    assert [s["patch"] for s in p.sheets] == [x.id for x in chips.items] and len(p.sheets) == 4
    for s, item in zip(p.sheets, chips.items):
        i = item.info
        t = s["text"]
        assert i["监测编号"] in t and i["乡镇"] in t and "违法" in t
        assert f"{i['lon']:.6f}°E" in t and f"{i['lat']:.6f}°N" in t and dms(i["lon"], "E", "W") in t
        assert f"X（北）{i['x']:.2f} m" in t and "EPSG:4526" in t
        assert f"{i['area_mu']:,.2f} 亩" in t
        assert s["imgs"] == [item.chips["before"].uri, item.chips["after"].uri]
        for field in ("实地现状", "核查结论", "整改措施", "整改完成日期", "核查人", "核查日期", "复核人", "备注"):
            assert field in t
        assert re.search(r"第 \d+ / 4 页", t)
    assert "@page { size: A4 portrait" in html and "break-after: page" in html
    assert str(tmp_path) not in html


def test_pages_without_pictures_say_why(tmp_path):
    c = lk.read_county(build_county_dir(tmp_path), {"imagery": {"chip_count": 2}})
    chips = patch_chips(c, lk.analyse(c))
    p = Sheets()
    p.feed(build_fieldcheck(c, chips))
    assert len(p.sheets) == 2 and all(s["imgs"] == [] and s["nochip"] == 2 for s in p.sheets)
    assert all("县文件夹中没有前后时相影像" in s["text"] for s in p.sheets)
    none = patch_chips(c, lk.analyse(c), settings=c.config.merged({"imagery": {"classes": ["pseudo"],
                                                                              "min_area_mu": 1000}}))
    html = build_fieldcheck(c, none)
    assert "未提供数据：没有符合条件的图斑" in html and 'class="sheet"' not in html
