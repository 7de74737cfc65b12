"""Configuration: defaults, landkit.toml, --config on top, clear errors."""
import datetime as dt

import pytest

from landkit.config import load_config
from landkit.errors import ConfigError


def test_defaults_are_documented_values():
    c = load_config()
    assert c.classes == {"class_0404": "未利用地", "class_1107a": "农用地"}
    assert c.sliver_m2 == 1.0
    assert c.get("area", "tbmj_rel_tolerance") == 0.001


def test_folder_toml_then_extra_config(tmp_path):
    (tmp_path / "landkit.toml").write_text('[county]\nyear = 2023\nadcode = 420704\n[area]\nsliver_m2 = 0.5\n',
                                           encoding="utf-8")
    extra = tmp_path / "extra.toml"
    extra.write_text('[county]\nas_of = "2024-06-30"\n', encoding="utf-8")
    c = load_config(tmp_path, extra)
    assert c.county["year"] == 2023 and c.county["adcode"] == "420704"
    assert c.county["as_of"] == dt.date(2024, 6, 30) and c.sliver_m2 == 0.5


@pytest.mark.parametrize("text,needle", [
    ('[county]\nyaer = 2023\n', "yaer"),
    ('[classes]\nclass_0404 = "草地"\n', "class_0404"),
    ('[county]\nas_of = "2024/13/01"\n', "as_of"),
    ('[county\n', "格式错误"),
    ('[fields]\ndltb = "x"\n', "fields"),
])
def test_bad_config_is_a_chinese_message(tmp_path, text, needle):
    p = tmp_path / "landkit.toml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_config(tmp_path)
    assert needle in str(e.value) and "landkit.toml" in str(e.value)
