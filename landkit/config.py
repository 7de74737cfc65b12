"""landkit configuration: one object, read from ``landkit.toml`` and/or ``--config``.

Everything docs/rules.md marks UNCONFIRMED is a setting here with a documented default.
A ``landkit.toml`` in a county folder is read automatically; a file given with
``--config`` (or ``config=`` in Python) is applied on top of it.

Example ``landkit.toml``::

    [county]
    name = "鄂城区"
    adcode = "420704"
    year = 2024
    as_of = "2024-12-31"     # default: 31 Dec of year
    # crs = "EPSG:4526"      # force the working CRS
    # longitude = 114.9      # hint for 6-digit eastings without .prj

    [layers]                 # role = path (relative to the folder), or {path, layer}
    dltb = "DLTB.shp"
    yjjbnt = { path = "永农.gdb", layer = "YJJBNTBHTB" }

    [fields.supply]          # standard name = the name in your file
    约定动工日期 = "合同开工"

    [encoding]               # file name = encoding, overrides detection
    "DLTB.shp" = "GBK"

    [classes]
    class_0404 = "未利用地"   # 0404 其他草地: 未利用地 (default) or 农用地
    class_1107a = "农用地"    # 1107A 干渠: 农用地 (default) or 建设用地

    [area]
    sliver_m2 = 1.0              # overlap pieces under this are ignored
    tbmj_rel_tolerance = 0.001   # declared TBMJ vs computed area: flag beyond 0.1 % ...
    tbmj_abs_tolerance_m2 = 1.0  # ... and beyond 1 m²
"""
from __future__ import annotations

import copy
import datetime as dt
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError

ROLES = ("dltb", "yjjbnt", "patches", "approvals", "supply", "parcels", "townships",
         "stbhhx", "czkfbj")

DEFAULTS: dict[str, dict[str, Any]] = {
    "county": {"name": None, "adcode": None, "year": None, "as_of": None, "crs": None,
               "longitude": None},
    "layers": {},
    "fields": {},
    "encoding": {},
    "classes": {"class_0404": "未利用地", "class_1107a": "农用地"},
    "area": {"sliver_m2": 1.0, "tbmj_rel_tolerance": 0.001, "tbmj_abs_tolerance_m2": 1.0},
    # Sections used by the analyses; known here so that typos are caught early.
    "satellite": {},
    "overlap": {},
    "inventory": {},
    "disposal": {},
    "report": {},
    "batch": {},
}


@dataclass
class Config:
    """All settings, as plain nested dicts per section (see the module docstring)."""

    data: dict[str, dict[str, Any]] = field(default_factory=lambda: copy.deepcopy(DEFAULTS))
    sources: list[str] = field(default_factory=list)

    def section(self, name: str) -> dict[str, Any]:
        return self.data.setdefault(name, {})

    def get(self, section: str, key: str, default=None):
        return self.data.get(section, {}).get(key, default)

    # convenience accessors used everywhere
    @property
    def county(self) -> dict[str, Any]:
        return self.data["county"]

    @property
    def classes(self) -> dict[str, str]:
        return self.data["classes"]

    @property
    def sliver_m2(self) -> float:
        return float(self.data["area"]["sliver_m2"])

    def merged(self, other: dict[str, Any], source: str = "") -> "Config":
        """A new Config with ``other`` (a parsed TOML dict) applied on top."""
        new = Config(copy.deepcopy(self.data), list(self.sources))
        for sec, values in other.items():
            if sec not in DEFAULTS:
                raise ConfigError(f"配置文件中有未知的节 [{sec}]，可用的节：{', '.join(DEFAULTS)}",
                                  file=source or None)
            if not isinstance(values, dict):
                raise ConfigError(f"配置项 [{sec}] 应为一个表（table）", file=source or None)
            if sec == "layers":
                for role in values:
                    if role not in ROLES:
                        raise ConfigError(f"[layers] 中的图层角色 {role!r} 未知，可用：{', '.join(ROLES)}",
                                          file=source or None)
            if sec == "fields":
                for role, mapping in values.items():
                    if role not in ROLES or not isinstance(mapping, dict):
                        raise ConfigError(f"[fields.{role}] 无效：应为 [fields.<图层角色>] 标准字段名 = 源字段名",
                                          file=source or None)
            if sec in ("county", "classes", "area"):
                unknown = set(values) - set(DEFAULTS[sec])
                if unknown:
                    raise ConfigError(f"[{sec}] 中有未知配置项：{', '.join(sorted(unknown))}",
                                      file=source or None)
            target = new.data.setdefault(sec, {})
            for k, v in values.items():
                if isinstance(v, dict) and isinstance(target.get(k), dict):
                    target[k] = {**target[k], **v}
                else:
                    target[k] = v
        new._validate(source)
        if source:
            new.sources.append(source)
        return new

    def _validate(self, source: str) -> None:
        c = self.data["county"]
        if c.get("adcode") is not None:
            c["adcode"] = str(c["adcode"])
        if c.get("year") is not None:
            try:
                c["year"] = int(c["year"])
            except (TypeError, ValueError):
                raise ConfigError(f"[county] year 应为年份整数，得到 {c['year']!r}", file=source or None)
        if c.get("as_of") is not None and not isinstance(c["as_of"], dt.date):
            try:
                c["as_of"] = dt.date.fromisoformat(str(c["as_of"]))
            except ValueError:
                raise ConfigError(f"[county] as_of 应为日期 YYYY-MM-DD，得到 {c['as_of']!r}",
                                  file=source or None)
        for key in ("class_0404", "class_1107a"):
            if self.data["classes"][key] not in ("农用地", "建设用地", "未利用地"):
                raise ConfigError(f"[classes] {key} 应为 农用地/建设用地/未利用地 之一", file=source or None)


def load_toml(path: Path | str) -> dict[str, Any]:
    """Parse a TOML file with a Chinese error message on failure."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError("找不到配置文件", file=path)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"配置文件格式错误：{e}", file=path)
    except UnicodeDecodeError:
        raise ConfigError("配置文件不是 UTF-8 编码", file=path)


def load_config(folder: Path | str | None = None, config=None) -> Config:
    """The effective config: defaults ← ``folder/landkit.toml`` ← ``config``.

    ``config`` may be a Config, a dict (as parsed from TOML) or a path to a TOML file.
    """
    cfg = Config()
    if folder is not None:
        toml = Path(folder) / "landkit.toml"
        if toml.is_file():
            cfg = cfg.merged(load_toml(toml), str(toml))
    if config is None:
        return cfg
    if isinstance(config, Config):
        return cfg.merged(config.data, "config")
    if isinstance(config, dict):
        return cfg.merged(config, "config")
    return cfg.merged(load_toml(config), str(config))
