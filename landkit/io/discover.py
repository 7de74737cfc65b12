"""Finding a county's layers in a folder by name hints (docs/design.md, county folder)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from .fields import ROLE_NAMES

#: role -> name hints, most specific first (case-insensitive)
HINTS: dict[str, tuple[str, ...]] = {
    "dltb": ("DLTB", "地类图斑"),
    "yjjbnt": ("YJJBNTBHTB", "YJJBNTTB", "YJJBNT", "JBNTBHTB", "永久基本农田", "基本农田", "JBNT"),
    "patches": ("WPTB", "卫片", "监测图斑"),
    "approvals": ("PZYD", "批准用地", "批次", "报批"),
    "supply": ("GDYD", "供地", "土地供应"),
    "parcels": ("ZD", "宗地", "低效"),
    "townships": ("XZQ", "乡镇", "行政区"),
    "stbhhx": ("STBHHX", "生态保护红线", "生态红线"),
    "czkfbj": ("CZKFBJ", "CSKFBJ", "城镇开发边界"),
}
ROLE_ORDER = ("stbhhx", "czkfbj", "yjjbnt", "dltb", "patches", "approvals", "supply", "parcels",
              "townships")
RASTER_EXTS = {".tif", ".tiff", ".img"}


@dataclass(frozen=True)
class Candidate:
    path: Path
    layer: str | None       # layer inside a .gpkg/.gdb, else None
    name: str               # the name the hints look at
    geometry_type: str | None

    @property
    def display(self) -> str:
        return f"{self.path.name}:{self.layer}" if self.layer else self.path.name


def _tokens(name: str) -> list[str]:
    return [t for t in re.split(r"[^0-9A-Za-z]+", name.upper()) if t]


def hint_score(name: str, hint: str) -> int:
    """0 = no match; higher is better (3 exact, 2 token, 1 substring)."""
    u, h = name.upper(), hint.upper()
    if u == h:
        return 3
    if h.isascii():
        toks = _tokens(name)
        if h in toks:
            return 2
        if len(h) >= 4 and h in u:
            return 1
        return 0
    return 1 if h in name else 0


def role_of(name: str) -> tuple[str | None, int]:
    """The role a layer name suggests, with its match score."""
    best = (None, 0)
    for role in ROLE_ORDER:
        for i, hint in enumerate(HINTS[role]):
            s = hint_score(name, hint)
            if s:
                score = s * 100 - i
                if score > best[1]:
                    best = (role, score)
                break
    return best


def is_landkit_output(d: Path) -> bool:
    """True for a folder landkit wrote (``landkit run`` / ``batch`` output: a summary.json of
    landkit's), so that results kept inside a county folder are never read back as its layers."""
    import json
    f = Path(d) / "summary.json"
    if not f.is_file():
        return False
    try:
        data = json.loads(f.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and ("landkit_version" in data or str(data.get("kind", "")).startswith("landkit"))


def scan_folder(folder: Path) -> tuple[list[Candidate], list[Path], list[str]]:
    """All vector layers and rasters under ``folder`` (recursively; .gdb folders are datasets).

    Returns (candidates, rasters, problems); problems are (path, Chinese note) for datasets
    that could not be listed.
    """
    import pyogrio
    cands: list[Candidate] = []
    rasters: list[Path] = []
    problems: list[str] = []
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError("县数据文件夹不存在或不是文件夹", file=folder)
    stack = [folder]
    while stack:
        d = stack.pop()
        for p in sorted(d.iterdir()):
            if p.name.startswith("."):
                continue
            ext = p.suffix.lower()
            if p.is_dir():
                if ext == ".gdb":
                    add_container_layers(p, cands, problems, pyogrio)
                elif not is_landkit_output(p):   # results written inside the county folder are not input
                    stack.append(p)
            elif ext == ".shp":
                cands.append(Candidate(p, None, p.stem, None))
            elif ext in (".gpkg",):
                add_container_layers(p, cands, problems, pyogrio)
            elif ext in (".geojson", ".json") and p.name != "summary.json":
                cands.append(Candidate(p, None, p.stem, None))
            elif ext in RASTER_EXTS:
                rasters.append(p)
    return cands, rasters, problems


def add_container_layers(p: Path, cands, problems, pyogrio) -> None:
    import warnings
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            layers = pyogrio.list_layers(p)
    except Exception as e:  # noqa: BLE001
        detail = str(e).splitlines()[0] if str(e) else type(e).__name__
        detail = detail.split(" failed: ")[-1].strip(" :;")[:150]
        problems.append((p, f"{p.name} 已损坏或不是有效的数据文件，无法打开（{detail}）"))
        return
    for name, gtype in layers:
        cands.append(Candidate(p, str(name), str(name), str(gtype) if gtype else None))


_YEAR = re.compile(r"(?<!\d)(19[89]\d|20\d\d)(?!\d)")


def _year_rank(c: Candidate, year: int | None) -> tuple[int, int]:
    """Among equally named candidates: the one naming the analysis year first, then the latest
    year in its name (DLTB_2024 before DLTB_2023), then the rest."""
    years = [int(y) for y in _YEAR.findall(f"{c.path.as_posix()}/{c.layer or ''}")]
    return (0 if year is not None and int(year) in years else 1, -max(years) if years else 0)


def assign_roles(cands: list[Candidate], year: int | None = None) -> tuple[dict[str, Candidate], dict[str, str]]:
    """Pick one candidate per role: one naming the analysis ``year`` first, then the best name
    hint, then the latest year in the name. Returns (role -> candidate, role -> note on a choice)."""
    by_role: dict[str, list[tuple[int, Candidate]]] = {}
    for c in cands:
        if c.geometry_type and not any(k in c.geometry_type for k in ("Polygon", "Unknown", "Geometry")):
            continue
        role, score = role_of(c.name)
        if role is None and c.layer is not None:
            role, score = role_of(c.path.stem)
            score -= 50
        if role:
            by_role.setdefault(role, []).append((score, c))
    chosen, notes = {}, {}
    for role, lst in by_role.items():
        def order(t):
            names_year, latest = _year_rank(t[1], year)
            return names_year, -t[0], latest, str(t[1].path), t[1].layer or ""
        lst.sort(key=order)
        chosen[role] = lst[0][1]
        if len(lst) > 1:
            others = "、".join(c.display for _, c in lst[1:])
            notes[role] = (f"{ROLE_NAMES.get(role, role)}找到多个候选，使用 {lst[0][1].display}，未使用 {others}；"
                         f"如需改用其他图层，请在 landkit.toml 的 [layers] 中写明 {role} = \"文件名\"")
    return chosen, notes
