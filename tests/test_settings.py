"""Settings: defaults, landkit.toml, --config and command-line options on top; typed; clear errors."""
import datetime as dt
from pathlib import Path

import pytest

import landkit as lk
from landkit.errors import ConfigError
from landkit.settings import Settings, load_settings, settings_table

REPO = Path(__file__).resolve().parents[1]


def test_defaults_are_the_documented_values():
    s = load_settings()
    assert s.classes.as_dict() == {"class_0404": "未利用地", "class_1107a": "农用地"}
    assert s.sliver_m2 == 1.0 and s.area.tbmj_rel_tolerance == 0.001
    assert s.satellite.cap == 0.05 and s.satellite.accountability_threshold == 0.15
    assert s.inventory.develop_share == pytest.approx(1 / 3) and s.inventory.cohorts == [2018]
    assert s.disposal.target == 0.25 and s.disposal.idle_target == 0.25
    assert s.township.source == "dltb"


def test_folder_toml_then_extra_config_then_command_line(tmp_path):
    (tmp_path / "landkit.toml").write_text('[county]\nyear = 2023\nadcode = 420704\n[area]\nsliver_m2 = 0.5\n',
                                           encoding="utf-8")
    extra = tmp_path / "extra.toml"
    extra.write_text('[county]\nas_of = "2024-06-30"\n[satellite]\ncap = 0.04\n', encoding="utf-8")
    s = load_settings(tmp_path, extra)
    assert s.county.year == 2023 and s.county.adcode == "420704"          # an integer adcode becomes text
    assert s.county.as_of == dt.date(2024, 6, 30) and s.sliver_m2 == 0.5 and s.satellite.cap == 0.04
    cli = load_settings(tmp_path, extra, year=2022)
    assert cli.county.year == 2022 and cli.county.as_of == dt.date(2022, 12, 31)
    assert load_settings(tmp_path, year=2022, as_of=dt.date(2022, 9, 30)).county.as_of == dt.date(2022, 9, 30)
    assert str(tmp_path / "landkit.toml") in s.sources and "命令行参数" in cli.sources


@pytest.mark.parametrize("text,needles", [
    ('[county]\nyaer = 2023\n', ["[county]", "yaer", "year"]),                    # misspelt, with a suggestion
    ('[satellite]\ncpa = 0.05\n', ["[satellite]", "cpa", "cap"]),                # was silently accepted before
    ('[satelite]\ncap = 0.05\n', ["satelite", "satellite"]),                     # misspelt section
    ('[satellite]\ncap = "5%"\n', ["[satellite] cap", "数值"]),
    ('[satellite]\ncap = 5\n', ["[satellite] cap", "0.0–1.0"]),
    ('[satellite]\nfarmland_mode = "毛面积"\n', ["farmland_mode", "net"]),
    ('[satellite.judgement]\n"合法(补办)" = "ok"\n', ["judgement", "合法(补办)", "legal"]),
    ('[inventory]\ncohorts = ["二〇一八"]\n', ["[inventory] cohorts"]),
    ('[inventory]\nexempt_above_scale = "是"\n', ["exempt_above_scale", "true"]),
    ('[report]\ndltb_max_features = 1.5\n', ["dltb_max_features", "整数"]),
    ('[classes]\nclass_0404 = "草地"\n', ["class_0404"]),
    ('[county]\nas_of = "2024/13/01"\n', ["as_of"]),
    ('[county]\nyear = true\n', ["[county] year"]),
    ('[county\n', ["格式错误"]),
    ('[fields]\ndltb = "x"\n', ["fields"]),
    ('[layers]\ndltbb = "DLTB.shp"\n', ["dltbb", "dltb"]),
    ('[township]\nsource = "乡镇"\n', ["[township] source"]),
    ('[imagery]\nclasses = ["违法"]\n', ["[imagery] classes", "'违法'", "illegal"]),
    ('[imagery]\nbefore = { path = "a.tif", date = "去年" }\n', ["[imagery] before", "date", "YYYY-MM-DD"]),
    ('[imagery]\nbefore = { file = "a.tif" }\n', ["[imagery] before", "路径"]),
    ('[imagery]\nafter = { path = "a.tif", day = 1 }\n', ["[imagery] after", "未知的键 day"]),
    ('[imagery]\nchip_px = 20\n', ["[imagery] chip_px", "96"]),
    ('[imagery]\nchip_cnt = 5\n', ["chip_cnt", "chip_count"]),
    ('[imagery]\nbands = [3, 2]\n', ["[imagery] bands", "[3, 2, 1]"]),
])
def test_bad_settings_are_a_chinese_message_naming_file_section_and_key(tmp_path, text, needles):
    p = tmp_path / "landkit.toml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_settings(tmp_path)
    for needle in needles:
        assert needle in str(e.value)
    assert "landkit.toml" in str(e.value)


def test_imagery_settings():
    s = load_settings()
    assert (s.imagery.chip_count, s.imagery.classes, s.imagery.min_area_mu, s.imagery.chip_px) == \
        (20, ["illegal", "unjudged"], 1.0, 320)
    assert s.imagery.before is None and s.imagery.after is None
    s = Settings().merged({"imagery": {"before": "影像/前时相.tif", "after": {"path": "b.tif", "date": dt.date(2024, 5, 1)},
                                       "classes": "legal"}})
    assert s.imagery.before == {"path": "影像/前时相.tif", "date": None}
    assert s.imagery.after == {"path": "b.tif", "date": dt.date(2024, 5, 1)} and s.imagery.classes == ["legal"]
    assert Settings().merged({"imagery": {"after": {"path": "b.tif", "date": "2024年5月1日"}}}).imagery.after["date"] \
        == dt.date(2024, 5, 1)


def test_fractions_and_single_values():
    s = Settings().merged({"inventory": {"develop_share": "1/2", "cohorts": [2020, 2016]},
                           "satellite": {"rectified_values": "整改完成"}})
    assert s.inventory.develop_share == 0.5 and s.inventory.cohorts == [2016, 2020]
    assert s.satellite.rectified_values == ["整改完成"]


def test_environment_fills_what_the_file_leaves_out(monkeypatch, tmp_path):
    monkeypatch.setenv("TIANDITU_TOKEN", "abc")
    assert load_settings().report.tianditu_token == "abc"
    (tmp_path / "landkit.toml").write_text('[report]\ntianditu_token = "from-file"\n', encoding="utf-8")
    assert load_settings(tmp_path).report.tianditu_token == "from-file"


def test_docs_settings_table_is_generated_from_the_code():
    """docs/settings.md holds the table settings_table() makes (tools/make_settings_doc.py rewrites it)."""
    doc = (REPO / "docs" / "settings.md").read_text(encoding="utf-8")
    assert settings_table() in doc
    for key in ("cap", "accountability_threshold", "develop_share", "dltb_max_features", "class_0404"):
        assert f"| `{key}` |" in doc


def test_the_package_exports_the_typed_settings():
    assert lk.Settings is Settings and lk.load_settings is load_settings
