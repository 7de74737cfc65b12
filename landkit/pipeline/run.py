"""``landkit run``: one county, every analysis built so far, all outputs written atomically."""
from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

from ..version import __version__
from ..errors import InputError
from ..county import County, read_county
from ..settings import load_settings
from ..io.fields import ROLE_NAMES

SCHEMA_VERSION = "1.0"
OVERLAP_ROLES = ("approvals", "supply", "parcels", "patches")


def analyse(county: County) -> dict:
    """Run the analyses on a county. Returns {"summary": dict, "results": {...}}."""
    from ..analyses.farmland import farmland_overlap
    from ..analyses.satellite import satellite_ratio
    results = {}
    summary = {
        "schema_version": SCHEMA_VERSION,
        "generated_at": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "landkit_version": __version__,
        "county": {"name": county.name, "adcode": county.adcode, "year": county.year,
                   "as_of": county.as_of, "crs": f"EPSG:{county.crs.to_epsg()}" if county.crs else None,
                   "layers": {r: len(g) for r, g in county.layers.items()}},
    }
    if county.patches is not None:
        sat = satellite_ratio(county)
        results["satellite"] = sat
        summary["satellite"] = {"available": True, **sat.summary}
    else:
        summary["satellite"] = {"available": False, "reason": "该县没有卫片图斑图层"}
    from ..analyses.disposal import disposal_rate
    from ..analyses.inventory import inventory
    inv = inventory(county)
    results["inventory"] = inv
    summary["inventory"] = inv.summary
    disp = disposal_rate(county)
    results["disposal"] = disp
    summary["disposal"] = disp.summary
    seen = set()
    for f in list(inv.findings) + list(disp.findings):
        key = (f.code, f.layer, f.field, f.message)
        if key not in seen:
            seen.add(key)
            county.qa.add(f)
    fo = {"tolerance_m2": county.config.sliver_m2}
    if county.yjjbnt is None:
        fo.update({"available": False, "reason": "该县没有永久基本农田图层"})
    else:
        fo["available"] = True
        for role in OVERLAP_ROLES:
            layer = county.layers.get(role)
            if layer is None:
                continue
            r = farmland_overlap(layer, county, role=role)
            results[f"farmland_{role}"] = r
            fo[role] = {"name": ROLE_NAMES[role], **r.summary}
    summary["farmland_overlap"] = fo
    summary["qa"] = {**county.qa.to_dict()}
    return {"summary": summary, "results": results}


def run_county(county_dir, out_dir, *, year: int | None = None, as_of: dt.date | None = None,
               config=None, progress=None) -> dict:
    """Read, analyse and write ``summary.json``, ``results.gpkg``, ``ledger.xlsx`` into ``out_dir``.

    Outputs are written into a temporary folder beside ``out_dir`` and moved into place only
    when all are complete, so a failed run leaves no half-written files.
    """
    say = progress or (lambda msg: None)
    say("读取数据")
    # the settings are complete before anything is read: --year decides which DLTB vintage is read
    folder = Path(county_dir)
    settings = load_settings(folder if folder.is_dir() else None, config, year=year, as_of=as_of)
    county = read_county(folder, settings)
    say("分析")
    res = analyse(county)
    summary = res["summary"]
    say("写出结果")
    write_outputs(county, res, Path(out_dir))
    return summary


def write_outputs(county: County, res: dict, out_dir: Path) -> None:
    from ..render.export import staging_folder, write_gpkg, write_json
    from ..render.outputs import ledger_workbook, result_layers
    tmp = staging_folder(out_dir)
    try:
        write_json(res["summary"], tmp / "summary.json")
        layers = result_layers(county, res)
        if layers:
            write_gpkg(layers, tmp / "results.gpkg")
        ledger_workbook(county, res).save(tmp / "ledger.xlsx")
        from ..render.report import build_report
        build_report(county, res, tmp / "report.html")
        for f in sorted(tmp.iterdir()):
            os.chmod(f, 0o644)
            os.replace(f, out_dir / f.name)
    except OSError as e:
        raise InputError(f"写出结果失败（{e.strerror or e}）", file=out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
