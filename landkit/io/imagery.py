"""The two dates of imagery in a county folder: 前时相 (before) and 后时相 (after).

Which rasters they are (docs/design.md, county folder contract), in order:

1. ``[imagery] before`` / ``after`` in landkit.toml: a path relative to the folder, or
   ``{path = "…", date = "YYYY-MM-DD"}``;
2. a raster whose file name holds 前时相 / 后时相 (also 前期 / 后期, ``before`` / ``after``,
   the tokens ``QSX`` / ``HSX``);
3. otherwise the rasters with a date in their name (``影像_20240115.tif``,
   ``2024-06-20.tif``, ``影像2024年6月.tif``): the latest is the after image, the one before it
   the before image.

A date not given in the settings comes from the file name. Nothing is opened here: whether a
file can be read is found out when chips are cut (landkit.render.chips), which says why not
in Chinese. Several candidates for one date are a choice, reported in ``notes``.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

ROLES = ("before", "after")
ROLE_NAMES = {"before": "前时相", "after": "后时相"}

#: name hints per role (case-insensitive); ASCII hints shorter than 4 letters must be a whole token
ROLE_HINTS = {"before": ("前时相", "前期", "before", "QSX"), "after": ("后时相", "后期", "after", "HSX")}

#: dates in file names, most specific first: 2024年6月(8日), 2024-6-8 / 2024.06.08, 20240608 / 202406, 2024-06
_DATES = (re.compile(r"(?<!\d)((?:19|20)\d{2})年(\d{1,2})月(?:(\d{1,2})日)?"),
          re.compile(r"(?<!\d)((?:19|20)\d{2})[-_.](\d{1,2})[-_.](\d{1,2})(?!\d)"),
          re.compile(r"(?<!\d)((?:19|20)\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])?(?!\d)"),
          re.compile(r"(?<!\d)((?:19|20)\d{2})[-_.](0[1-9]|1[0-2])(?!\d)"))


@dataclass(frozen=True)
class ImageDate:
    """One date of imagery: its file, acquisition date (None when unknown) and where the choice came from."""
    role: str                   # "before" | "after"
    path: Path
    date: dt.date | None
    source: str                 # "settings" | "name" | "date"

    @property
    def name(self) -> str:
        return ROLE_NAMES[self.role]


@dataclass
class ImageryPair:
    """前时相 and 后时相 images (each may be None) and Chinese notes on how they were chosen."""
    before: ImageDate | None = None
    after: ImageDate | None = None
    notes: list[str] = field(default_factory=list)

    def __iter__(self):
        return iter([x for x in (self.before, self.after) if x is not None])

    def get(self, role: str) -> ImageDate | None:
        return self.before if role == "before" else self.after

    @property
    def paths(self) -> set[Path]:
        return {x.path for x in self}


def date_in_name(name: str) -> dt.date | None:
    """The date a file name carries (20240115, 2024-01-15, 2024年1月15日, 202401 → 1st of the month)."""
    stem = Path(name).stem
    for rx in _DATES:
        for m in rx.finditer(stem):
            y, mo = int(m.group(1)), int(m.group(2))
            d = int(m.group(3) or 1) if m.lastindex and m.lastindex >= 3 else 1
            try:
                return dt.date(y, mo, d)
            except ValueError:
                continue
    return None


def role_in_name(name: str) -> str | None:
    """"before" / "after" when the file name says so, else None."""
    stem = Path(name).stem
    tokens = [t for t in re.split(r"[^0-9A-Za-z]+", stem.upper()) if t]
    found = set()
    for role, hints in ROLE_HINTS.items():
        for h in hints:
            if not h.isascii():
                hit = h in stem
            elif len(h) < 4:
                hit = h.upper() in tokens
            else:
                hit = h.upper() in stem.upper()
            if hit:
                found.add(role)
                break
    return found.pop() if len(found) == 1 else None


def find_imagery_pair(folder, rasters, settings) -> ImageryPair:
    """The before/after images of a county folder (see the module docstring).

    folder : the county folder; rasters : the raster files found in it (scan order);
    settings : the run's :class:`~landkit.settings.Settings` (``[imagery]``).
    """
    folder = Path(folder)
    cfg = settings.imagery
    pair = ImageryPair()
    configured = {r: getattr(cfg, r) for r in ROLES if getattr(cfg, r)}
    chosen: dict[str, ImageDate] = {}
    for role, spec in configured.items():
        p = folder / spec["path"]
        chosen[role] = ImageDate(role, p, spec["date"] or date_in_name(p.name), "settings")
    free = [Path(r) for r in rasters if Path(r) not in {c.path for c in chosen.values()}]
    by_role: dict[str, list[Path]] = {r: [] for r in ROLES}
    for r in free:
        role = role_in_name(r.name)
        if role:
            by_role[role].append(r)
    for role in ROLES:
        if role in chosen or not by_role[role]:
            continue
        cands = sorted(by_role[role], key=lambda r: (date_in_name(r.name) or dt.date.min, r.name), reverse=True)
        chosen[role] = ImageDate(role, cands[0], date_in_name(cands[0].name), "name")
        if len(cands) > 1:
            pair.notes.append(f"有 {len(cands)} 个{ROLE_NAMES[role]}影像（{'、'.join(relative_name(folder, c) for c in cands)}），"
                              f"使用 {relative_name(folder, cands[0])}；可在 landkit.toml 的 [imagery] {role} 中指定")
    missing = [r for r in ROLES if r not in chosen]
    if missing:
        used = {c.path for c in chosen.values()}
        dated = sorted(((date_in_name(r.name), r) for r in free if r not in used and not role_in_name(r.name)
                        and date_in_name(r.name)), key=lambda t: (t[0], t[1].name))
        if len(missing) == 2 and len(dated) < 2:
            dated = []                   # one dated image is imagery, not a pair
        if "after" in missing and dated:
            d, r = dated.pop()
            chosen["after"] = ImageDate("after", r, d, "date")
        if "before" in missing and dated:
            after_date = chosen["after"].date if "after" in chosen else None
            earlier = [t for t in dated if after_date is None or t[0] < after_date]
            if earlier:
                d, r = earlier[-1]
                chosen["before"] = ImageDate("before", r, d, "date")
        if any(c.source == "date" for c in chosen.values()):
            left = [r for d, r in dated if all(r != c.path for c in chosen.values())]
            pair.notes.append("按文件名中的日期确定前后时相：" + "，".join(
                f"{c.name} {relative_name(folder, c.path)}" for c in (chosen.get("before"), chosen.get("after")) if c)
                + (f"（另有 {'、'.join(relative_name(folder, r) for r in left)} 未使用）" if left else ""))
    pair.before, pair.after = chosen.get("before"), chosen.get("after")
    if pair.before and pair.after and pair.before.date and pair.after.date and pair.before.date > pair.after.date:
        pair.notes.append(f"前时相影像的日期 {pair.before.date} 晚于后时相影像的日期 {pair.after.date}，请核对 [imagery] 设置")
    return pair


def relative_name(folder, p) -> str:
    """``p`` relative to the county folder (posix), or its file name when it lies outside (never
    a machine path)."""
    try:
        return Path(p).relative_to(folder).as_posix()
    except ValueError:
        return Path(p).name
