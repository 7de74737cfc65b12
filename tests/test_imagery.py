"""Which rasters of a county folder are the 前时相 / 后时相 images (landkit.io.imagery)."""
from __future__ import annotations

import datetime as dt

import pytest

import landkit as lk
from landkit.io.imagery import date_in_name, find_imagery_pair, role_in_name
from landkit.settings import load_settings

from test_maps import build_county_dir

D = dt.date


@pytest.mark.parametrize("name, date", [
    ("影像_20240115.tif", D(2024, 1, 15)), ("2024-06-20.tif", D(2024, 6, 20)), ("GF2_2023.11.05_pan.tif", D(2023, 11, 5)),
    ("影像2024年6月.tif", D(2024, 6, 1)), ("后时相_202409.tif", D(2024, 9, 1)), ("前时相.tif", None),
    ("影像_20241345.tif", None), ("DOM_123456789.tif", None), ("2024年3月8日影像.img", D(2024, 3, 8)),
])
def test_date_in_name(name, date):
    assert date_in_name(name) == date


@pytest.mark.parametrize("name, role", [
    ("前时相_20240101.tif", "before"), ("后时相.tif", "after"), ("2024前期影像.tif", "before"),
    ("after_2024.tif", "after"), ("img_before.tif", "before"), ("WP_QSX.tif", "before"), ("WP_HSX_2024.tif", "after"),
    ("影像.tif", None), ("HSXQSX.tif", None), ("前时相后时相对比.tif", None),
])
def test_role_in_name(name, role):
    assert role_in_name(name) == role


def _touch(folder, *names):
    out = []
    for n in names:
        p = folder / n
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"")             # discovery looks at names only: nothing is opened
        out.append(p)
    return out


def test_pair_by_role_names_and_the_basemap_image(tmp_path):
    d = build_county_dir(tmp_path)
    _touch(d, "影像.tif", "影像/前时相_20231201.tif", "影像/后时相_20241130.tif")
    c = lk.read_county(d)
    p = c.imagery_pair
    assert (p.before.path.name, p.before.date, p.before.source) == ("前时相_20231201.tif", D(2023, 12, 1), "name")
    assert (p.after.path.name, p.after.date) == ("后时相_20241130.tif", D(2024, 11, 30))
    assert c.imagery.name == "影像.tif"               # the report basemap stays the undated image
    assert not any(f["file"].endswith(".tif") for f in c.unrecognised)


def test_pair_by_dates_in_names(tmp_path):
    _touch(tmp_path, "影像_20230101.tif", "影像_20240601.tif", "影像_20240301.tif")
    pair = find_imagery_pair(tmp_path, sorted(tmp_path.iterdir()), load_settings())
    assert pair.after.path.name == "影像_20240601.tif" and pair.after.source == "date"
    assert pair.before.path.name == "影像_20240301.tif"
    assert any("影像_20230101.tif" in n and "未使用" in n for n in pair.notes)
    one = tmp_path / "one"
    one.mkdir()
    _touch(one, "影像_20240601.tif")                 # one dated image is not a pair
    pair = find_imagery_pair(one, sorted(one.iterdir()), load_settings())
    assert pair.before is None and pair.after is None and not pair.notes


def test_only_the_pair_gives_the_basemap_the_later_date(tmp_path):
    d = build_county_dir(tmp_path)
    _touch(d, "前时相_20231201.tif", "后时相_20241130.tif")
    assert lk.read_county(d).imagery.name == "后时相_20241130.tif"


def test_settings_win_and_choices_are_reported(tmp_path):
    d = build_county_dir(tmp_path)
    _touch(d, "a.tif", "后时相_20240601.tif", "后时相_20241001.tif", "前时相_20230101.tif")
    c = lk.read_county(d, {"imagery": {"before": {"path": "a.tif", "date": "2023-10-08"}}})
    p = c.imagery_pair
    assert (p.before.path.name, p.before.date, p.before.source) == ("a.tif", D(2023, 10, 8), "settings")
    assert p.after.path.name == "后时相_20241001.tif"                  # the latest of the two
    notes = [f.message for f in c.qa.findings if f.code == "imagery_choice"]
    assert len(notes) == 1 and "后时相_20240601.tif" in notes[0] and "[imagery] after" in notes[0]
    c = lk.read_county(d, {"imagery": {"before": "后时相_20241001.tif", "after": "前时相_20230101.tif"}})
    assert any("晚于" in f.message for f in c.qa.findings if f.code == "imagery_choice")
