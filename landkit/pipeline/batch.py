"""``landkit batch``: every county folder under a root, in parallel on ``dask.distributed``.

Each county runs exactly as ``landkit run`` would (:func:`landkit.pipeline.run.run_county`), as one task on
a dask cluster: a :class:`distributed.LocalCluster` of N single-threaded worker processes by
default, or an existing cluster when a scheduler address is given (``tcp://host:8786``; workers
must see ROOT_DIR and OUT_DIR at the same paths, i.e. shared storage, and have the same landkit
installed). There is no home-made process pool: ``client.map(..., pure=False)`` +
``as_completed``.

Layout of OUT_DIR::

    OUT_DIR/<county folder name>/summary.json, results.gpkg, ledger.xlsx, (report.html),
                                 inputs.json      input fingerprint, run options, output sizes
                                 outline.geojson  simplified county outline, lon/lat (EPSG:4326)
    OUT_DIR/summary.json   roll-up: every county's status and headline figures, failures listed
    OUT_DIR/汇总.xlsx       one row per county, coloured by status
    OUT_DIR/index.html     offline overview map (inline SVG) linking to each county's report

Guarantees:

* **Isolation**: a county that fails (corrupt file, bad CRS, a bug) becomes an error entry with
  its Chinese message; the others finish. Exit code 2 when some failed and some succeeded,
  1 when all failed (or the input is bad), 0 when none failed.
* **Atomic county folders**: a county is run into ``OUT_DIR/.tmp-<name>-<token>`` and renamed to
  ``OUT_DIR/<name>`` only when every file is written; an interrupted batch leaves no
  half-written county folder (hidden ``.tmp-*`` leftovers are removed by the next batch).
* **Resume** (``resume=True``): a county is skipped when ``OUT_DIR/<name>/inputs.json`` records
  the same content hash of every input file (BLAKE2b-256 over the bytes, not size+mtime), the
  same run options, landkit version and landkit code (a digest of the package's files), and every
  recorded output is present with its size.
* **No machine paths in the roll-up**: every path in it is relative to the batch root (a county's
  ``input``, the files its messages name, ``options.config``); ``root`` is the root folder's name
  and ``out`` the output folder relative to the root (its name when outside it). Times are in
  ``[report] timezone`` of the ``--config`` file, Beijing time (``+08:00``) by default, whatever
  the machine's time zone.

Roll-up ``summary.json`` (``kind = "landkit-batch"``, ``schema_version`` "1.0"): ``generated_at``,
``landkit_version``, ``root``, ``out``, ``cluster`` (``local`` or the scheduler address),
``workers``, ``seconds``, ``options{year, as_of, config, resume, previous}``, ``counts{total, ok, skipped,
failed}``, ``totals`` (province figures over the succeeded counties: summed 卫片 违法/新增 耕地 and
their ratio, summed 永农压占 and 存量), ``counties[{folder, input, output, status (ok | skipped |
failed), seconds, headline{...} | null, error | null, notes}]``, ``failures[{folder, input,
message, error_type}]`` and ``skipped[{folder, reason}]``: the folders under the root not treated
as a county, relative to it, with the Chinese reason (:func:`discover_counties`; not to be
confused with ``status`` "skipped", a county reused by ``--resume``). The headline keys are
those of :func:`landkit.render.rollup.headline`.
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import time
import tomllib
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path


from ..version import __version__
from ..errors import InputError, LandkitError

RECORD = "inputs.json"
OUTLINE = "outline.geojson"
HASH_NAME = "blake2b-256"
_TMP_PREFIX = ".tmp-"
_OLD_PREFIX = ".old-"

STATUS_CN = {"ok": "完成", "skipped": "跳过（沿用上次结果）", "failed": "失败"}


# --------------------------------------------------------------------------------------
# finding county folders
# --------------------------------------------------------------------------------------

def _shallow_roles(d: Path) -> tuple[set[str], list[str]]:
    """Roles of the layers directly in ``d`` (its files, .gpkg and .gdb), by name hints."""
    import pyogrio

    from ..io.discover import Candidate, add_container_layers, assign_roles, role_of
    cands: list = []
    problems: list[str] = []
    try:
        entries = sorted(d.iterdir())
    except OSError:
        return set(), [f"{d}：无法列出文件夹内容"]
    for p in entries:
        if p.name.startswith("."):
            continue
        ext = p.suffix.lower()
        try:
            is_dir = p.is_dir()
        except OSError:
            continue
        if is_dir and ext == ".gdb" or (not is_dir and ext == ".gpkg"):
            n = len(problems)
            add_container_layers(p, cands, problems, pyogrio)
            if len(problems) > n and role_of(p.stem)[0]:
                # an unreadable dataset still marks its folder by its file name: the county
                # must then fail with a message rather than silently drop out of the batch
                cands.append(Candidate(p, None, p.stem, None))
        elif not is_dir and (ext == ".shp" or (ext in (".geojson", ".json") and p.name != "summary.json")):
            cands.append(Candidate(p, None, p.stem, None))
    chosen, _ = assign_roles(cands)
    roles = set(chosen)
    toml = d / "landkit.toml"
    if toml.is_file():
        try:
            layers = (tomllib.loads(toml.read_text(encoding="utf-8")).get("layers") or {})
            if layers.get("dltb"):
                roles.add("dltb")
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            pass
    return roles, problems


@dataclass
class Discovery:
    """What :func:`discover_counties` found under a batch root."""

    counties: list[Path]             # county folders, sorted by path
    notes: list[str]                 # datasets that could not be opened
    skipped: list[dict]              # [{"folder": relative path, "reason": Chinese}] not treated as a county
    nested: list[Path] = field(default_factory=list)    # county folders inside another (also in skipped)


def find_counties(root, *, exclude=()) -> tuple[list[Path], list[str]]:
    """County folders under ``root`` (see :func:`discover_counties`) and notes: the datasets
    that could not be opened, and county folders lying inside another county folder."""
    d = discover_counties(root, exclude=exclude)
    return d.counties, d.notes + [f"{c}：位于另一个县数据文件夹之内，不单独分析" for c in d.nested]


def _skip_reason(folders: list[Path], roles: dict, files: dict, problems: dict) -> str:
    """Why a folder (with its sub-folders ``folders``) is not a county folder, in Chinese."""
    from ..io.fields import ROLE_NAMES
    found = [r for r in ROLE_NAMES if any(r in roles[x] for x in folders)]
    if found:
        why = (f"没有地类图斑（DLTB）图层，只有{'、'.join(ROLE_NAMES[r] for r in found)}图层；"
               "县数据文件夹须含地类图斑")
        if "yjjbnt" in found:
            why += "（只做项目用地压占永久基本农田检查时，可用 landkit overlap 指向此文件夹）"
        return why
    probs = [m for x in folders for m in problems.get(x, [])]
    if probs:
        return f"没有可识别的图层（{probs[0]}）"
    names = [n for x in folders for n in files.get(x, [])]
    if not names:
        return "文件夹为空" if len(folders) == 1 else "文件夹为空（只有空的子文件夹）"
    data = [n for n in names if Path(n).suffix.lower() in (".shp", ".gpkg", ".gdb", ".geojson", ".json")]
    some = data or names
    shown = "、".join(some[:3]) + (f" 等 {len(some)} 个文件" if len(some) > 3 else " 文件")
    if data:
        return (f"没有可识别的图层：{shown}的名称不含图层名称提示（如 DLTB、地类图斑），"
                "可在该文件夹的 landkit.toml 的 [layers] 中写明 dltb = \"文件名\"")
    return (f"没有可识别的图层（只有 {shown}，不是 landkit 读取的数据格式：只读取 .shp、.gpkg、.gdb、"
            ".geojson/.json）")


def discover_counties(root, *, exclude=()) -> Discovery:
    """County folders under ``root``: folders holding a 地类图斑 (DLTB) layer, and the folders
    that are not, with the reason.

    A folder that directly holds a DLTB layer (or a landkit.toml naming one) is a county folder.
    When a county keeps its layers in sub-folders (``县/三调/DLTB.shp``, ``县/永农/...``), the
    county is the nearest ancestor holding a ``landkit.toml`` with only that one DLTB beneath
    it, or else the parent folder when the DLTB's sibling folders hold the county's other layers.
    Hidden folders (``.*``) and ``exclude`` (e.g. the output folder) are not searched.

    ``skipped`` lists every searched folder that is neither a county folder, nor inside one, nor
    above one (only the top-most of such a branch), with the reason (文件夹为空, 没有可识别的图层,
    没有地类图斑图层 …), and each county folder lying inside another county folder. Folders landkit
    wrote (holding a landkit ``summary.json``) are left out of ``skipped`` silently.
    """
    from ..io.discover import is_landkit_output
    root = Path(root).resolve()
    if not root.is_dir():
        raise InputError("数据根文件夹不存在或不是文件夹", file=root)
    excl = {Path(e).resolve() for e in exclude}
    roles: dict[Path, set[str]] = {}
    children: dict[Path, list[Path]] = {}
    files: dict[Path, list[str]] = {}
    problems: dict[Path, list[str]] = {}
    notes: list[str] = []
    stack = [root]
    while stack:
        d = stack.pop()
        roles[d], probs = _shallow_roles(d)
        notes += probs
        problems[d] = probs
        kids, names = [], []
        try:
            for p in sorted(d.iterdir()):
                if p.name.startswith("."):
                    continue
                if p.suffix.lower() == ".gdb" or not p.is_dir():
                    names.append(p.name)
                    continue
                if p.resolve() in excl:
                    continue
                kids.append(p)
        except OSError:
            pass
        children[d] = kids
        files[d] = names
        stack.extend(kids)

    def subtree(d: Path) -> list[Path]:
        out, st = [], [d]
        while st:
            x = st.pop()
            out.append(x)
            st.extend(children.get(x, []))
        return out

    leaves = [d for d, r in roles.items() if "dltb" in r]
    counties: set[Path] = set()
    for leaf in leaves:
        county = leaf
        # a landkit.toml above with this DLTB as the only one beneath it marks the county
        a = leaf
        while a != root and a.parent in roles:
            a = a.parent
            if (a / "landkit.toml").is_file() and sum("dltb" in roles[x] for x in subtree(a)) == 1:
                county = a
                break
        if county == leaf and leaf != root and leaf.parent in roles and leaf.parent != root \
                and not (leaf / "landkit.toml").is_file():
            p = leaf.parent
            others = [x for x in subtree(p) if x != leaf and leaf not in x.parents]
            if "dltb" not in roles[p] and not any("dltb" in roles[x] for x in others) \
                    and any(roles[x] for x in others):
                county = p
        counties.add(county)
    # a county folder inside another county folder (e.g. an old copy) is read by the outer one
    found = sorted(c for c in counties if not any(o in c.parents for o in counties))

    def rel(d: Path) -> str:
        return d.relative_to(root).as_posix()
    skipped: list[dict] = []
    nested = sorted(set(counties) - set(found))
    for c in nested:
        outer = next(o for o in found if o in c.parents)
        skipped.append({"folder": rel(c), "reason": f"位于县数据文件夹 {rel(outer) or outer.name} 之内，"
                        "由该县一并读取，不单独分析"})
    covered = {root, *found}
    for c in found:
        covered.update(c.parents)
    for d in sorted(roles):
        if d == root or d in covered or any(c in d.parents for c in found) or d.parent not in covered:
            continue
        if is_landkit_output(d):        # landkit's own results (an older output folder): not input
            continue
        skipped.append({"folder": rel(d), "reason": _skip_reason(subtree(d), roles, files, problems)})
    skipped.sort(key=lambda x: x["folder"])
    return Discovery(found, notes, skipped, nested)


def _output_names(counties: list[Path], root: Path) -> list[str]:
    """Output folder names: the county folder's name, made unique with its parents when needed."""
    names = [c.name if c != root else c.name for c in counties]
    dup = {n for n in names if names.count(n) > 1}
    out = []
    for c, n in zip(counties, names):
        if n in dup and c != root:
            n = "_".join(c.relative_to(root).parts)
        out.append(re.sub(r'[\\/:*?"<>|]', "_", n))
    return out


# --------------------------------------------------------------------------------------
# input fingerprints
# --------------------------------------------------------------------------------------

def _input_files(folder: Path) -> list[Path]:
    files = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for f in sorted(filenames):
            if not f.startswith("."):
                files.append(Path(dirpath) / f)
    return files


def hash_inputs(folder, extra=()) -> dict:
    """Content fingerprint of every file under ``folder`` (hidden names excluded) and ``extra``.

    Returns ``{"algorithm": "blake2b-256", "digest": hex, "bytes": n, "files": {relpath: {size,
    blake2b}}}``; the digest covers every relative path and file content.
    """
    folder = Path(folder)
    total = hashlib.blake2b(digest_size=32)
    files = {}
    nbytes = 0
    paths = [(p.relative_to(folder).as_posix(), p) for p in _input_files(folder)]
    paths += [(f"<config>/{Path(e).name}", Path(e)) for e in extra if e]
    for rel, p in paths:
        with open(p, "rb") as f:
            h = hashlib.file_digest(f, lambda: hashlib.blake2b(digest_size=32)).hexdigest()
        size = p.stat().st_size
        nbytes += size
        files[rel] = {"size": size, "blake2b": h}
        total.update(rel.encode("utf-8") + b"\0" + h.encode("ascii") + b"\n")
    return {"algorithm": HASH_NAME, "digest": total.hexdigest(), "bytes": nbytes, "files": files}


@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """Fingerprint of landkit's own code and templates (the installed package's files), so that
    ``--resume`` redoes a county after landkit changed, even without a new version number."""
    pkg = Path(__file__).resolve().parent
    h = hashlib.blake2b(digest_size=16)
    for p in sorted(pkg.rglob("*")):
        if p.is_file() and p.suffix in (".py", ".html", ".j2", ".js", ".css", ".toml", ".json") \
                and "__pycache__" not in p.parts:
            h.update(p.relative_to(pkg).as_posix().encode("utf-8") + b"\0" + p.read_bytes() + b"\n")
    return h.hexdigest()


def _record_matches(final: Path, inputs: dict, options: dict) -> bool:
    """True when ``final`` holds complete outputs of a run on these inputs with these options."""
    try:
        rec = json.loads((final / RECORD).read_text(encoding="utf-8"))
        if rec.get("inputs", {}).get("digest") != inputs["digest"] or rec.get("options") != options:
            return False
        outs = rec.get("outputs") or {}
        if "summary.json" not in outs:
            return False
        return all((final / n).is_file() and (final / n).stat().st_size == s for n, s in outs.items())
    except (OSError, ValueError, AttributeError, TypeError):
        return False


# --------------------------------------------------------------------------------------
# county outline (for the overview map)
# --------------------------------------------------------------------------------------

def county_outline(county_dir, config=None) -> dict | None:
    """Simplified outline of a county in lon/lat (EPSG:4326), as a GeoJSON geometry mapping.

    The union of the 乡镇 (township) layer when the county has one, else of the DLTB;
    simplified to about 1/300 of the county's extent, small holes and islands dropped,
    coordinates rounded to 5 decimals. Returns None when neither layer can be read.
    """
    import numpy as np
    import shapely
    from pyproj import Transformer

    from ..county import configured_candidates
    from ..settings import load_settings
    from ..io.discover import assign_roles, scan_folder
    from ..io.read import load_layer
    folder = Path(county_dir)
    cfg = load_settings(folder, config)
    cands, _, _ = scan_folder(folder)
    chosen, _ = assign_roles(cands, year=cfg.county.year)
    chosen.update(configured_candidates(folder, cfg))
    for role in ("townships", "dltb"):
        c = chosen.get(role)
        if c is None:
            continue
        try:
            gdf, _, _ = load_layer(c.path, c.layer, role, config=cfg)
        except LandkitError:
            continue
        if gdf.crs is None or not len(gdf):
            continue
        geoms = np.asarray(gdf.geometry.values, dtype=object)
        geoms = geoms[~shapely.is_empty(geoms) & ~shapely.is_missing(geoms)]
        if not len(geoms):
            continue
        crs = gdf.crs
        if not crs.is_projected:      # work in metres
            from ..io.crs import working_crs_for
            lon = float(np.mean(shapely.total_bounds(geoms)[[0, 2]]))
            wk = working_crs_for(lon)
            geoms = shapely.transform(geoms, Transformer.from_crs(crs, wk, always_xy=True).transform,
                                      interleaved=False)
            crs = wk
        if role == "dltb" and len(geoms) > 2000:
            u = shapely.coverage_union_all(geoms)     # fast for a partition (三调 is one)
            ok = shapely.is_valid(u) and abs(shapely.area(u) - shapely.area(geoms).sum()) \
                <= 0.01 * shapely.area(geoms).sum()
            if not ok:
                u = shapely.union_all(shapely.buffer(geoms, 0.5))
        else:
            u = shapely.union_all(shapely.make_valid(geoms))
        x0, y0, x1, y1 = shapely.bounds(u)
        tol = max(10.0, max(x1 - x0, y1 - y0) / 300)
        parts = [p for p in shapely.get_parts(u) if p.geom_type == "Polygon"]
        if not parts:
            continue
        big = max(shapely.area(p) for p in parts)
        keep = []
        for p in parts:
            if shapely.area(p) < 0.002 * big:
                continue
            holes = [h for h in p.interiors if shapely.area(shapely.Polygon(h)) >= 0.002 * big]
            keep.append(shapely.Polygon(p.exterior, holes))
        g = shapely.simplify(shapely.MultiPolygon(keep), tol, preserve_topology=True)
        tr = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
        g = shapely.transform(g, tr.transform, interleaved=False)
        g = shapely.set_precision(g, 1e-5)
        if g.is_empty:
            continue
        return json.loads(shapely.to_geojson(g))
    return None


# --------------------------------------------------------------------------------------
# the task a worker runs
# --------------------------------------------------------------------------------------

def _publish(tmp: Path, final: Path) -> None:
    """Move a complete county folder into place (replacing an older one)."""
    old = None
    if final.exists():
        old = final.with_name(f"{_OLD_PREFIX}{final.name}-{secrets.token_hex(4)}")
        os.rename(final, old)
    os.rename(tmp, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _worker_info(cpu0: float) -> dict:
    from ..overlay.threads import default_threads
    import resource
    info = {"pid": os.getpid(), "host": os.uname().nodename,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1),
            "cpu_seconds": round(time.process_time() - cpu0, 2), "threads": default_threads()}
    try:
        from distributed import get_worker
        info["address"] = get_worker().address
    except (ImportError, ValueError):
        info["address"] = f"pid:{os.getpid()}"
    return info


def run_one_county(county_dir: str, out_root: str, name: str, *, year=None, as_of=None, config=None,
                   resume: bool = False, previous_root: str | None = None) -> dict:
    """Run one county into ``out_root/name`` atomically (the task each worker runs).

    ``previous_root``: an earlier batch's output folder; the county's folder of the same name in it
    (its filled-in ledger.xlsx) is the county's ``--previous``. A county it does not hold runs
    without one, with a note.

    Never raises for a county's own problems: returns a dict with ``status`` ("ok" /
    "skipped" / "failed"), ``seconds``, ``headline``, ``error`` (Chinese), ``error_type``,
    ``detail`` (traceback of unexpected errors), ``outline`` (GeoJSON lon/lat or None),
    ``notes`` and ``worker`` ({address, pid, host, peak_rss_mb, cpu_seconds}).
    """
    from ..render.rollup import headline
    from .run import run_county
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    out_root = Path(out_root)
    final = out_root / name
    res = {"folder": name, "input": str(county_dir), "status": "failed", "seconds": 0.0, "headline": None,
           "error": None, "error_type": None, "detail": None, "outline": None, "notes": []}
    options = {"year": year, "as_of": as_of.isoformat() if isinstance(as_of, dt.date) else as_of,
               # names, not this machine's paths: the files' contents are in the input fingerprint
               "config": Path(config).name if config else None, "landkit_version": __version__,
               "landkit_code": code_digest()}
    previous, extra = None, [config] if config else []
    if previous_root is not None:
        p = Path(previous_root) / name
        if (p / "ledger.xlsx").is_file():
            previous = p
            # the returned ledger is an input: --resume redoes a county whose ledger staff changed
            extra += [f for f in (p / "ledger.xlsx", p / "summary.json") if f.is_file()]
            options["previous"] = f"{Path(previous_root).name}/{name}"
        else:
            res["notes"].append(f"上一期输出中没有该县的台账（{Path(previous_root).name}/{name}/ledger.xlsx），"
                                "本期未带入上期填写的内容")
    tmp = None
    try:
        if not Path(county_dir).is_dir():
            raise InputError(f"工作节点 {os.uname().nodename} 上找不到县数据文件夹；使用 dask 集群时，"
                             "各节点须以相同路径挂载数据所在的共享存储", file=county_dir)
        if not out_root.is_dir():
            raise InputError(f"工作节点 {os.uname().nodename} 上找不到输出文件夹；使用 dask 集群时，"
                             "输出文件夹须在各节点以相同路径可见（共享存储）", file=out_root)
        inputs = hash_inputs(county_dir, extra=extra)
        if resume and _record_matches(final, inputs, options):
            summary = json.loads((final / "summary.json").read_text(encoding="utf-8"))
            res.update(status="skipped", headline=headline(summary))
            try:
                feat = json.loads((final / OUTLINE).read_text(encoding="utf-8"))
                res["outline"] = feat.get("geometry") if feat.get("type") == "Feature" else feat
            except (OSError, ValueError, AttributeError):
                res["outline"] = None
            return res
        tmp = out_root / f"{_TMP_PREFIX}{name}-{secrets.token_hex(4)}"
        summary = run_county(county_dir, tmp, year=year, as_of=as_of, config=config, previous=previous)
        res["headline"] = headline(summary)
        try:
            res["outline"] = county_outline(county_dir, config)
        except Exception as e:  # noqa: BLE001 — the map is a nicety, never a failure
            res["notes"].append(f"未能生成县界轮廓（{type(e).__name__}: {e}）")
        if res["outline"] is not None:
            (tmp / OUTLINE).write_text(json.dumps({"type": "Feature", "properties": {
                "folder": name, "name": res["headline"].get("name"), "adcode": res["headline"].get("adcode")},
                "geometry": res["outline"]}, ensure_ascii=False), encoding="utf-8")
        after = hash_inputs(county_dir, extra=extra)
        outputs = {p.name: p.stat().st_size for p in sorted(tmp.iterdir()) if p.is_file()}
        record = {"inputs": inputs, "options": options, "outputs": outputs,
                  "finished_at": _now(config).isoformat(timespec="seconds"),
                  "county_dir": Path(county_dir).name}
        if after["digest"] != inputs["digest"]:
            # the result is kept, but no fingerprint is recorded, so --resume will redo it
            res["notes"].append("运行期间输入文件有变化，下次 --resume 时将重新分析")
            record["inputs"] = {"algorithm": HASH_NAME, "digest": None, "changed_during_run": True}
        (tmp / RECORD).write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")
        _publish(tmp, final)
        tmp = None
        res["status"] = "ok"
    except LandkitError as e:
        res.update(error=str(e), error_type=type(e).__name__)
    except MemoryError:
        res.update(error="内存不足，无法完成该县的分析；请减少 --workers 或换用内存更大的机器", error_type="MemoryError")
    except Exception as e:  # noqa: BLE001 — one county's bug must not stop the batch
        res.update(error=f"程序内部错误（{type(e).__name__}: {e}）。请把此信息和数据情况反馈给开发者",
                   error_type=type(e).__name__, detail=traceback.format_exc())
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        res["seconds"] = round(time.perf_counter() - t0, 2)
        res["worker"] = _worker_info(cpu0)
    if res["status"] == "failed" and res["outline"] is None:
        try:     # a failed county still gets its place on the map when its outline is readable
            res["outline"] = county_outline(county_dir, config)
        except Exception:  # noqa: BLE001
            pass
    return res


# --------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------

@dataclass
class CountyRun:
    """One county's outcome in a batch."""

    folder: str                      # output folder name under OUT_DIR
    input: str                       # the county's data folder
    status: str                      # "ok" | "skipped" | "failed"
    seconds: float = 0.0
    headline: dict | None = None     # landkit.render.rollup.headline(summary)
    error: str | None = None         # Chinese message (failed)
    error_type: str | None = None
    detail: str | None = None        # traceback of an unexpected error
    outline: dict | None = field(default=None, repr=False)   # GeoJSON geometry, lon/lat
    notes: list = field(default_factory=list)
    worker: dict | None = None
    db: dict | None = None

    @property
    def succeeded(self) -> bool:
        return self.status in ("ok", "skipped")

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("outline")
        d["output"] = self.folder if self.succeeded else None
        return d


@dataclass
class BatchResult:
    """What :func:`run_batch` did. ``exit_code`` follows the CLI contract (0 / 1 / 2)."""

    root: Path
    out: Path
    counties: list[CountyRun]
    seconds: float
    cluster: str
    workers: int
    options: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    db_schema: str | None = None
    generated_at: str = ""
    #: folders under the root not treated as a county: [{"folder", "reason"}] (discover_counties)
    skipped_folders: list = field(default_factory=list)

    @property
    def ok(self) -> list[CountyRun]:
        return [c for c in self.counties if c.status == "ok"]

    @property
    def skipped(self) -> list[CountyRun]:
        return [c for c in self.counties if c.status == "skipped"]

    @property
    def failed(self) -> list[CountyRun]:
        return [c for c in self.counties if c.status == "failed"]

    @property
    def exit_code(self) -> int:
        if not self.failed:
            return 0
        return 2 if len(self.failed) < len(self.counties) else 1

    def to_dict(self) -> dict:
        """The roll-up summary.json content, with no path of this machine: paths relative to the
        batch root (``root`` is its name; ``out`` relative to it when inside it, else its name)."""
        return _without_machine_paths(self._content(), self.root, self.out)

    def _content(self) -> dict:
        from ..render.rollup import totals
        cs = [c.to_dict() for c in self.counties]
        return {
            "schema_version": "1.0", "kind": "landkit-batch", "generated_at": self.generated_at,
            "landkit_version": __version__, "root": str(self.root), "out": str(self.out),
            "cluster": self.cluster, "workers": self.workers, "seconds": round(self.seconds, 2),
            "options": self.options, "db_schema": self.db_schema,
            "counts": {"total": len(self.counties), "ok": len(self.ok), "skipped": len(self.skipped),
                       "failed": len(self.failed)},
            "totals": totals([c.headline for c in self.counties if c.succeeded and c.headline]),
            "counties": cs,
            "failures": [{"folder": c.folder, "input": c.input, "message": c.error, "error_type": c.error_type}
                         for c in self.failed],
            "notes": list(self.notes),
            "skipped": [dict(x) for x in self.skipped_folders],
        }


def _without_machine_paths(d: dict, root, out) -> dict:
    """The roll-up ``d`` with paths relative to the batch root: a county's ``input`` and the files
    its messages name (``420704_鄂城区/DLTB.dbf``), ``options.config``, the notes; ``root`` becomes
    the root's name, ``out`` its path relative to the root (its name when outside it); landkit's
    own files in a traceback relative to their package folder, any other path to its name."""
    from ..analyses.county_analysis import portable_paths
    root, out = Path(root), Path(out)
    try:
        out_label = out.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        out_label = out.name
    pkg = Path(__file__).resolve().parents[2]        # the folder holding landkit/
    d = portable_paths(d, {root: "", out: out_label, pkg: ""})
    for c in d.get("counties") or []:
        if c.get("detail"):
            c["detail"] = re.sub(r'File "(?:/|[A-Za-z]:\\)[^"]*?([^"/\\]+)"', r'File "\1"', c["detail"])
    return d


def _now(config=None) -> dt.datetime:
    """Now in ``[report] timezone`` of the ``--config`` file (Beijing time by default): the roll-up's
    times do not depend on the machine's time zone."""
    from ..settings import load_settings
    try:
        return load_settings(None, config).report.now()
    except LandkitError:            # the counties report a bad --config file themselves
        return load_settings().report.now()


# --------------------------------------------------------------------------------------
# the driver
# --------------------------------------------------------------------------------------

def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def _clean_leftovers(out: Path) -> None:
    for p in out.iterdir():
        if p.is_dir() and (p.name.startswith(_TMP_PREFIX) or p.name.startswith(_OLD_PREFIX)):
            shutil.rmtree(p, ignore_errors=True)


def _input_bytes(d: Path) -> int:
    n = 0
    for p in _input_files(d):
        try:
            n += p.stat().st_size
        except OSError:
            pass
    return n


class _Reporter:
    """Progress bar (rich) and one log line per county."""

    def __init__(self, total: int, enabled: bool, console=None):
        self.enabled = enabled
        self.total = total
        self.counts = {"ok": 0, "skipped": 0, "failed": 0}
        self.running = 0
        self.progress = None
        if not enabled:
            return
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                   TimeRemainingColumn)
        self.console = console or Console(highlight=False, soft_wrap=True,
                                          width=max(shutil.get_terminal_size((120, 40)).columns, 110))
        self.progress = Progress(TextColumn("批量分析"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[stats]}"), TextColumn("已用"), TimeElapsedColumn(),
                                 TextColumn("剩余"), TimeRemainingColumn(), console=self.console,
                                 transient=not self.console.is_terminal)
        self.task = self.progress.add_task("batch", total=total, stats=self._stats())

    def _stats(self) -> str:
        c = self.counts
        s = f"完成 {c['ok']}  失败 {c['failed']}  运行中 {self.running}"
        return s + (f"  跳过 {c['skipped']}" if c["skipped"] else "")

    def __enter__(self):
        if self.progress:
            self.progress.start()
        return self

    def __exit__(self, *exc):
        if self.progress:
            self.progress.stop()

    def say(self, text: str, style: str | None = None) -> None:
        if self.enabled:
            self.console.print(text, style=style, markup=False)

    def set_running(self, n: int) -> None:
        self.running = n
        if self.progress:
            self.progress.update(self.task, stats=self._stats())

    def done(self, c: CountyRun, running: int) -> None:
        from ..render.rollup import headline_text
        self.counts[c.status] += 1
        self.running = running
        if self.progress:
            self.progress.update(self.task, completed=sum(self.counts.values()), stats=self._stats())
        name = c.folder
        if c.status == "ok":
            self.say(f"✓ {name}  完成  {c.seconds:.1f} 秒  {headline_text(c.headline)}")
        elif c.status == "skipped":
            self.say(f"↷ {name}  跳过：输入未变且结果完整  {headline_text(c.headline)}")
        else:
            self.say(f"✗ {name}  失败  {c.seconds:.1f} 秒  {c.error}", style="red")
        for n in c.notes:
            self.say(f"  注意：{n}", style="yellow")
        if c.db and c.db.get("error"):
            self.say(f"  数据库：{c.db['error']}", style="red")


def _connect(scheduler: str | None, workers: int | None, timeout: float = 20.0):
    """(client, cluster-or-None, label, n_workers). LANDKIT_DASK_TIMEOUT (seconds) overrides ``timeout``."""
    timeout = float(os.environ.get("LANDKIT_DASK_TIMEOUT", timeout))
    try:
        from distributed import Client, LocalCluster
    except ImportError as e:  # pragma: no cover
        raise LandkitError(f"批量分析需要 dask.distributed：pip install \"dask[distributed]\"（{e}）")
    if scheduler:
        try:
            client = Client(scheduler, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError) as e:
            raise InputError(f"无法连接 dask 调度器 {scheduler}（{type(e).__name__}: {e}）；"
                             "请确认已用 dask scheduler 启动调度器且地址、端口可达")
        try:
            client.wait_for_workers(1, timeout=timeout)
        except (TimeoutError, OSError):
            client.close()
            raise InputError(f"dask 调度器 {scheduler} 上没有可用的工作进程（dask worker），等待 {timeout:.0f} 秒后放弃")
        n = sum(client.nthreads().values())
        return client, None, scheduler, n
    n = workers or default_workers()
    if n < 1:
        raise InputError(f"--workers 应为正整数，得到 {n}")
    # no dashboard; the scheduler's HTTP endpoint on a free localhost port (not 8787, which may be taken)
    # each worker's overlay threads share the cores with the other workers: cores ÷ workers
    threads = max(1, (os.cpu_count() or 1) // n)
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                           scheduler_kwargs={"dashboard_address": "127.0.0.1:0"}, silence_logs=logging.ERROR,
                           env={"LANDKIT_THREADS": str(threads)})
    client = Client(cluster, set_as_default=False)
    return client, cluster, "local", n


def run_batch(root, out, workers: int | None = None, scheduler: str | None = None, resume: bool = False,
              year: int | None = None, db: str | None = None, progress: bool = True, *,
              as_of: dt.date | None = None, config=None, db_schema: str | None = None,
              console=None, previous=None) -> BatchResult:
    """Run every county folder under ``root`` into ``out/<county>/`` on dask, then write the roll-up.

    Parameters
    ----------
    root : folder holding county folders (at any depth; see :func:`discover_counties`)
    out : output folder; ``out/<county folder name>/`` per county plus ``summary.json``,
        ``汇总.xlsx`` and ``index.html`` at ``out``
    workers : worker processes of the local cluster (default: the number of cores); ignored
        with ``scheduler``
    scheduler : address of a running dask scheduler (``tcp://host:8786``); workers must see
        ``root`` and ``out`` at the same paths
    resume : skip counties whose outputs are complete and whose input files (content hash),
        options, landkit version and code are unchanged
    year, as_of, config : as for ``landkit run``
    previous : an earlier batch's output folder whose county ledgers staff filled in: each county
        runs with ``--previous`` = its folder there (same folder name), and the roll-up shows each
        county's movement (``headline`` tracking keys, 汇总.xlsx columns, index.html 与上期相比)
    db : PostgreSQL/PostGIS DSN: also write every succeeded county's result layers and ledger
        tables into schema ``db_schema`` (default ``landkit_<YYYYMMDD_HHMMSS>``)
    progress : show a progress bar and one log line per county (rich)

    Returns a :class:`BatchResult`; raises :class:`~landkit.errors.InputError` for bad input
    (no county folders, unreachable scheduler or database).
    """
    t0 = time.perf_counter()
    started = _now(config)
    root = Path(root).resolve()
    out = Path(out).resolve()
    if config is not None:
        config = str(Path(config).resolve())
        if not Path(config).is_file():
            raise InputError("配置文件不存在", file=config)
    if previous is not None:
        previous = Path(previous).resolve()
        if not previous.is_dir():
            raise InputError("--previous 应为上一次 landkit batch 的输出文件夹", file=previous)
        if previous == out:
            raise InputError("--previous 不能与输出文件夹相同：本期结果会覆盖上一期台账，请输出到新文件夹", file=previous)
    found = discover_counties(root, exclude=[out])
    counties, notes, skipped = found.counties, found.notes, found.skipped
    counties = [c for c in counties if c != out and out not in c.parents]
    if not counties:
        listed = "；".join(f"{x['folder']}：{x['reason']}" for x in skipped[:10])
        raise InputError("没有找到县数据文件夹（含地类图斑 DLTB 图层的文件夹）"
                         + (f"。未作为县处理的文件夹：{listed}" + ("；……" if len(skipped) > 10 else "")
                            if skipped else ""), file=root)
    if out in counties or any(out == c or c in out.parents for c in counties):
        raise InputError("输出文件夹不能放在县数据文件夹之内", file=out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        _clean_leftovers(out)
    except OSError as e:
        raise InputError(f"输出文件夹无法写入（{e.strerror or e}）", file=out)
    names = _output_names(counties, root)
    schema = None
    if db:
        from ..render.postgis import check_database, default_schema
        check_database(db)
        schema = db_schema or default_schema(started)
    # biggest counties first: fewer stragglers at the end
    order = sorted(range(len(counties)), key=lambda i: -_input_bytes(counties[i]))
    options = {"year": year, "as_of": as_of.isoformat() if as_of else None, "config": config, "resume": resume,
               "previous": str(previous) if previous is not None else None}
    rep = _Reporter(len(counties), progress, console)
    client, cluster, label, nworkers = _connect(scheduler, workers)
    if scheduler and workers:
        notes.append("使用已有的 dask 集群时忽略 --workers")
    runs: dict[str, CountyRun] = {}
    try:
        rep.say(f"在 {root} 下找到 {len(counties)} 个县（区）；"
                + (f"本机 {nworkers} 个工作进程" if cluster is not None else f"dask 集群 {label}，{nworkers} 个线程")
                + (f"；写入数据库模式 {schema}" if schema else ""))
        for n in notes:
            rep.say(f"注意：{n}", style="yellow")
        if skipped:
            rep.say(f"未作为县处理的文件夹 {len(skipped)} 个：", style="yellow")
            for x in skipped:
                rep.say(f"  {x['folder']}：{x['reason']}", style="yellow")
        from distributed import as_completed
        futs = client.map(run_one_county, [str(counties[i]) for i in order], [str(out)] * len(order),
                          [names[i] for i in order], year=year, as_of=as_of, config=config, resume=resume,
                          previous_root=str(previous) if previous is not None else None, pure=False, retries=0)
        which = {f.key: order[k] for k, f in enumerate(futs)}
        with rep:
            remaining = len(futs)
            rep.set_running(min(remaining, nworkers))
            for fut in as_completed(futs, loop=client.loop):
                i = which[fut.key]
                remaining -= 1
                if fut.status == "finished":
                    r = fut.result()
                    r.pop("folder", None)
                    r.pop("input", None)
                    run = CountyRun(folder=names[i], input=str(counties[i]), **r)
                else:
                    try:
                        exc = fut.exception()
                    except Exception as e:  # noqa: BLE001 — e.g. CancelledError
                        exc = e
                    run = CountyRun(folder=names[i], input=str(counties[i]), status="failed",
                                    error=f"分析任务异常终止（{type(exc).__name__}: {exc}）；可能是工作进程内存不足或崩溃",
                                    error_type=type(exc).__name__)
                fut.release()
                if schema and run.succeeded:
                    run.db = _write_db(db, schema, out / run.folder, run)
                runs[names[i]] = run
                try:
                    nthreads = sum(client.nthreads().values()) if cluster is None else nworkers
                except Exception:  # noqa: BLE001
                    nthreads = nworkers
                rep.done(run, min(remaining, nthreads))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    if schema:
        _write_db_failures(db, schema, [r for r in runs.values() if not r.succeeded])
    result = BatchResult(root=root, out=out, counties=[runs[n] for n in names], seconds=time.perf_counter() - t0,
                         cluster=label, workers=nworkers, options=options, notes=notes, db_schema=schema,
                         generated_at=started.isoformat(timespec="seconds"), skipped_folders=skipped)
    from ..render.rollup import write_rollup
    write_rollup(result.to_dict(), out, outlines={c.folder: c.outline for c in result.counties if c.outline})
    result.seconds = time.perf_counter() - t0
    c = result
    rep.say(f"共 {len(c.counties)} 个县（区）：完成 {len(c.ok)}，跳过 {len(c.skipped)}，失败 {len(c.failed)}；"
            f"用时 {c.seconds:.1f} 秒。汇总：{out / 'summary.json'}、{out / '汇总.xlsx'}、{out / 'index.html'}",
            style="bold" if not c.failed else "bold red")
    return result


def _write_db(dsn: str, schema: str, county_out: Path, run: CountyRun) -> dict:
    from ..render.postgis import write_county_to_postgis
    try:
        info = write_county_to_postgis(dsn, county_out, schema, status=run.status)
        return {"schema": schema, "tables": info["tables"]}
    except LandkitError as e:
        run.status, run.error, run.error_type = "failed", f"写入数据库失败：{e}", type(e).__name__
        return {"schema": schema, "error": str(e)}
    except Exception as e:  # noqa: BLE001
        run.status = "failed"
        run.error = f"写入数据库失败（{type(e).__name__}: {e}）"
        run.error_type = type(e).__name__
        return {"schema": schema, "error": run.error}


def _write_db_failures(dsn: str, schema: str, failed: list[CountyRun]) -> None:
    from ..render.postgis import write_failures
    try:
        write_failures(dsn, schema, [{"folder": r.folder, "input": r.input, "message": r.error,
                                      "error_type": r.error_type} for r in failed])
    except Exception:  # noqa: BLE001 — failures are also in summary.json
        pass
