"""Finding a county's layers in a folder by name hints (docs/design.md, county folder)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from .fields import ROLE_NAMES, match_fields

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
    "zones": ("KFQ", "开发区", "开发园区", "工业园区", "产业园区"),
}
ROLE_ORDER = ("stbhhx", "czkfbj", "yjjbnt", "dltb", "patches", "approvals", "supply", "parcels",
              "townships", "zones")
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


#: roles whose hints count only when no other role's hint matches: "开发区" often qualifies another
#: layer's name (开发区宗地, 开发区供地), which is then that layer, not the zone boundaries
QUALIFIER_ROLES = ("zones",)


def role_of(name: str) -> tuple[str | None, int]:
    """The role a layer name suggests, with its match score."""
    best = _best_role(name, [r for r in ROLE_ORDER if r not in QUALIFIER_ROLES])
    return best if best[0] is not None else _best_role(name, QUALIFIER_ROLES)


def _best_role(name: str, roles) -> tuple[str | None, int]:
    best = (None, 0)
    for role in roles:
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


def walk_folder(folder: Path):
    """The files and ``.gdb`` datasets under ``folder`` that reading looks at, in scan order.

    Hidden names (``.…``) are skipped, ``.gdb`` folders are datasets (not entered), and a
    sub-folder holding a landkit ``summary.json`` (:func:`is_landkit_output`) is not entered.
    """
    stack = [Path(folder)]
    while stack:
        d = stack.pop()
        for p in sorted(d.iterdir()):
            if p.name.startswith("."):
                continue
            if p.is_dir():
                if p.suffix.lower() == ".gdb":
                    yield p
                elif not is_landkit_output(p):   # results written inside the county folder are not input
                    stack.append(p)
            else:
                yield p


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
    for p in walk_folder(folder):
        ext = p.suffix.lower()
        if ext in (".gdb", ".gpkg"):
            add_container_layers(p, cands, problems, pyogrio)
        elif ext == ".shp" or (ext in (".geojson", ".json") and p.name != "summary.json"):
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


def candidate_years(c: Candidate, folder: Path | None = None) -> list[int]:
    """The years (1980–2099) named in a candidate's path (relative to ``folder`` when given) and layer."""
    path = c.path
    if folder is not None:
        try:
            path = c.path.relative_to(folder)
        except ValueError:
            pass
    return [int(y) for y in _YEAR.findall(f"{path.as_posix()}/{c.layer or ''}")]


def _year_rank(c: Candidate, year: int | None, folder: Path | None = None) -> tuple[int, int]:
    """Among equally named candidates: the one naming the analysis year first, then one naming no
    year, then one naming an earlier year, then a later one; among those the latest year in the
    name (DLTB_2024 before DLTB_2023). Without an analysis year: the latest year named first."""
    years = candidate_years(c, folder)
    if year is None:
        rank = 1
    elif int(year) in years:
        rank = 0
    elif not years:
        rank = 1
    else:
        rank = 2 if max(years) < int(year) else 3
    return rank, -max(years) if years else 0


def vintage_year(c: Candidate | None, year: int | None = None, folder: Path | None = None) -> int | None:
    """The survey year a 地类图斑 candidate stands for: the latest year in its name, else ``year``."""
    if c is None:
        return year
    years = candidate_years(c, folder)
    return max(years) if years else year


def previous_vintage(cands: list[Candidate], current: Candidate | None, year: int | None = None,
                     folder: Path | None = None) -> Candidate | None:
    """The previous vintage of the 地类图斑 (docs/design.md, county folder contract): among the other
    DLTB-named layers, the one whose name gives the latest year before the current vintage's year
    (the year in the current layer's name, else the analysis year). None when there is none."""
    if current is None:
        return None
    cur = vintage_year(current, year, folder)
    if cur is None:
        return None
    best = None
    for c in cands:
        if not is_polygonal(c) or (c.path, c.layer) == (current.path, current.layer):
            continue
        role, score = candidate_role(c)
        if role != "dltb":
            continue
        years = candidate_years(c, folder)
        if not years or max(years) >= cur:
            continue
        key = (-max(years), -score, str(c.path), c.layer or "")
        if best is None or key < best[0]:
            best = (key, c)
    return best[1] if best else None


def is_polygonal(c: Candidate) -> bool:
    """False for a layer whose declared geometry type is points or lines (never a role)."""
    return not c.geometry_type or any(k in c.geometry_type for k in ("Polygon", "Unknown", "Geometry"))


def candidate_role(c: Candidate) -> tuple[str | None, int]:
    """The role a candidate's name suggests (a container layer falls back to the container's
    file name, scored lower), with its score; (None, 0) when no hint matches."""
    role, score = role_of(c.name)
    if role is None and c.layer is not None:
        role, score = role_of(c.path.stem)
        score -= 50
    return role, score


def assign_roles(cands: list[Candidate], year: int | None = None,
                 folder: Path | None = None) -> tuple[dict[str, Candidate], dict[str, str]]:
    """Pick one candidate per role: one naming the analysis ``year`` first, then the best name
    hint, then the latest year in the name. Among the other 地类图斑 layers the previous vintage
    (:func:`previous_vintage`) becomes role ``dltb_previous``. Returns (role -> candidate, role ->
    note on a choice)."""
    by_role: dict[str, list[tuple[int, Candidate]]] = {}
    for c in cands:
        if not is_polygonal(c):
            continue
        role, score = candidate_role(c)
        if role:
            by_role.setdefault(role, []).append((score, c))
    chosen, notes = {}, {}
    for role, lst in by_role.items():
        def order(t):
            names_year, latest = _year_rank(t[1], year, folder)
            return names_year, -t[0], latest, str(t[1].path), t[1].layer or ""
        lst.sort(key=order)
        chosen[role] = lst[0][1]
        if role == "dltb":
            prev = previous_vintage([c for _, c in lst], lst[0][1], year, folder)
            if prev is not None:
                chosen["dltb_previous"] = prev
                lst = [t for t in lst if t[1] is not prev]
        if len(lst) > 1:
            others = "、".join(c.display for _, c in lst[1:])
            notes[role] = (f"{ROLE_NAMES.get(role, role)}找到多个候选，使用 {lst[0][1].display}，未使用 {others}；"
                         f"如需改用其他图层，请在 landkit.toml 的 [layers] 中写明 {role} = \"文件名\"")
    return chosen, notes


def missing_role_message(role: str) -> str:
    """The Chinese message for a required role that no layer in the folder provides."""
    hints = HINTS[role]
    ascii_hint = next((h for h in hints if h.isascii()), role.upper())
    cn_hint = next((h for h in hints if not h.isascii()), ROLE_NAMES[role])
    msg = (f"没有找到{ROLE_NAMES[role]}（{ascii_hint}）图层：文件名或图层名应含 {ascii_hint} 或“{cn_hint}”，"
           f"或在 landkit.toml 的 [layers] 中写明 {role} = \"文件名\"")
    if role == "dltb":
        msg += "。只检查项目用地是否压占永久基本农田时，不需要地类图斑：用 landkit overlap"
    return msg


# --------------------------------------------------------------------------------------
# what reading leaves aside (``landkit check`` lists it, docs/design.md "County folder contract")
# --------------------------------------------------------------------------------------

#: files that belong to a dataset of the same stem: (dataset extensions, endings after the stem)
_PARTS = (
    ((".shp",), (".dbf", ".shx", ".prj", ".cpg", ".sbn", ".sbx", ".qix", ".fix", ".fbn", ".fbx", ".ain",
                 ".aih", ".atx", ".ixs", ".mxs", ".qmd", ".qpj", ".xml", ".lock")),
    (tuple(RASTER_EXTS), (".tfw", ".tifw", ".tiffw", ".wld", ".jgw", ".igw", ".aux.xml", ".aux", ".ovr",
                          ".rrd", ".xml", ".prj", ".ige", ".rde", ".msk", ".lock")),
    ((".gpkg",), ("-wal", "-shm", "-journal")),
)
_SHP_SIDECARS = (".dbf", ".shx", ".prj", ".cpg", ".sbn", ".sbx", ".qix")
_OTHER_FORMATS = (
    ((".zip", ".rar", ".7z", ".tar", ".gz", ".tgz"), "压缩包，landkit 不读取压缩包内的数据；请先解压到县数据文件夹中"),
    ((".mdb", ".accdb"), "个人地理数据库（.mdb）不能读取；请在 ArcGIS 中导出为 FileGDB（.gdb）或 shapefile"),
    ((".dwg", ".dxf", ".dgn"), "CAD 文件不作为图层读取；请先转换为 shapefile 并设定坐标系"),
    ((".kml", ".kmz", ".gml", ".tab", ".mif", ".mid"), "不是 landkit 读取的矢量格式；请转换为 shapefile、GeoPackage 或 FileGDB"),
    ((".xls", ".xlsx", ".csv", ".et"), "表格文件没有图形，不作为图层读取"),
    ((".toml",), "不是 landkit.toml，不作为配置读取（县文件夹的配置文件须名为 landkit.toml）"),
)
_FORMATS_READ = "只读取 .shp、.gpkg、.gdb、.geojson/.json 图层和 .tif/.img 影像"
#: roles a layer's fields can point to (key fields), most specific first, for the hint in a reason
_FIELD_KEYS = (("yjjbnt", ("YJJBNTTBBH",)), ("patches", ("判定类型",)), ("approvals", ("批准日期",)),
               ("supply", ("供地日期",)), ("dltb", ("DLBM", "ZLDWDM")), ("townships", ("XZQDM",)))


def _belongs_to_dataset(p: Path, datasets: dict[Path, list[Path]]) -> bool:
    name = p.name.lower()
    for d in datasets.get(p.parent, ()):
        ext = d.suffix.lower()
        for exts, endings in _PARTS:
            if ext not in exts:
                continue
            if ext == ".gpkg":
                if any(name == d.name.lower() + e for e in endings):
                    return True
            elif name.startswith(d.stem.lower() + ".") and name != d.name.lower() \
                    and any(name.endswith(e) for e in endings):
                return True
    return False


def _looks_like(c: Candidate) -> tuple[str, list[str]] | None:
    """(role, its key fields) when the layer's fields hold a role's key fields, else None."""
    import warnings
    try:
        import pyogrio
        enc = None
        if c.path.suffix.lower() == ".shp":
            from .encoding import detect_shapefile_encoding
            enc = detect_shapefile_encoding(c.path).encoding
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cols = [str(f) for f in pyogrio.read_info(c.path, layer=c.layer, encoding=enc)["fields"]]
    except Exception:  # noqa: BLE001 — only a hint; an unreadable file gets none
        return None
    for role, keys in _FIELD_KEYS:
        std = set(match_fields(cols, role)[0].values())
        if all(k in std for k in keys):
            return role, list(keys)
    return None


def unrecognised_files(folder, cands: list[Candidate], configured: dict[str, Candidate | None] | None = None,
                       problems=()) -> list[dict]:
    """Files and layers under ``folder`` that reading uses as no layer, each with the reason.

    Returns ``[{"file": path relative to folder (``x.gpkg:layer`` for a layer), "reason": Chinese}]``.
    Not listed: hidden names, landkit output sub-folders (both never looked at), ``landkit.toml``,
    the parts of a dataset (.dbf/.shx/.prj/… of a .shp, world files of a raster), rasters (report
    imagery), datasets that could not be opened (``problems``: already errors), and layers that
    lost a choice between several candidates (a ``layer_choice`` warning says so).
    """
    folder = Path(folder)
    configured = configured or {}
    used = {(c.path.resolve(), c.layer) for c in configured.values() if c is not None}
    broken = {Path(p).resolve() for p, _ in problems}
    files = list(walk_folder(folder))
    datasets: dict[Path, list[Path]] = {}
    for p in files:
        if p.suffix.lower() in (".shp", ".gpkg") or p.suffix.lower() in RASTER_EXTS:
            datasets.setdefault(p.parent, []).append(p)
    by_file: dict[Path, list[Candidate]] = {}
    for c in cands:
        by_file.setdefault(c.path, []).append(c)

    def rel(p: Path, layer=None) -> str:
        try:
            r = p.relative_to(folder).as_posix()
        except ValueError:
            r = str(p)
        return f"{r}:{layer}" if layer else r

    out: list[dict] = []
    for p in files:
        ext = p.suffix.lower()
        if p in by_file:
            for c in by_file[p]:
                if (c.path.resolve(), c.layer) in used or (c.path.resolve(), None) in used:
                    continue
                if not is_polygonal(c):
                    out.append({"file": rel(p, c.layer), "reason": f"不是面图层（{c.geometry_type}），不参与分析"})
                    continue
                role, _ = candidate_role(c)
                if role is not None and role in configured:
                    other = configured[role]
                    why = (f"landkit.toml 的 [layers] 中 {role} 设为不使用" if other is None else
                           f"landkit.toml 的 [layers] 指定{ROLE_NAMES[role]}使用 {rel(other.path, other.layer)}")
                    out.append({"file": rel(p, c.layer), "reason": f"名称像{ROLE_NAMES[role]}，但{why}，本图层未读取"})
                elif role is None:
                    reason = ("名称不含任何图层名称提示（如 DLTB、YJJBNTBHTB、WPTB、XZQ），"
                              "未识别为任何图层")
                    like = _looks_like(c)
                    if like:
                        r_, keys = like
                        reason += (f"；其字段含 {'、'.join(keys)}，像是{ROLE_NAMES[r_]}，如是，请在 landkit.toml 的 "
                                   f"[layers] 中写明 {r_} = \"{rel(p)}\"" + (f"（或 {{ path = \"{rel(p)}\", layer = "
                                                                               f"\"{c.layer}\" }}）" if c.layer else ""))
                    else:
                        reason += "；如是某个图层，请改名或在 landkit.toml 的 [layers] 中写明"
                    out.append({"file": rel(p, c.layer), "reason": reason})
            continue
        if ext in (".gdb", ".gpkg"):
            if p.resolve() not in broken:
                out.append({"file": rel(p), "reason": "数据集中没有任何图层"})
            continue
        if ext in RASTER_EXTS or (p.name == "landkit.toml" and p.parent == folder):
            continue
        if _belongs_to_dataset(p, datasets):
            continue
        if ext in _SHP_SIDECARS:
            what = "属性表 .dbf" if ext == ".dbf" else p.suffix
            out.append({"file": rel(p), "reason": f"只有{what}，没有同名的 .shp 文件（shapefile 至少需要 .shp、.shx、.dbf），"
                                                 "未读取"})
            continue
        if p.name == "summary.json":
            out.append({"file": rel(p), "reason": "名为 summary.json 的文件视为 landkit 的结果文件，不作为图层读取"})
            continue
        if p.name == "landkit.toml":
            out.append({"file": rel(p), "reason": "只读取县数据文件夹本层的 landkit.toml，子文件夹中的不起作用"})
            continue
        reason = next((r for exts, r in _OTHER_FORMATS if ext in exts), None)
        out.append({"file": rel(p), "reason": reason or f"不是 landkit 读取的数据格式（{_FORMATS_READ}）"})
    return out
