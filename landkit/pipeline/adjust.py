"""``landkit adjust COUNTY -o OUT``: 控制面积平差 of a county's DLTB, written atomically.

OUT gets ``平差地类图斑.gpkg`` (layer 地类图斑: the DLTB with adjusted TBMJ / KCMJ / TBDLMJ and
the declared values in 原TBMJ / 原KCMJ / 原TBDLMJ; table 平差单元), ``平差.xlsx`` (汇总, 平差单元,
面积核对, 数据质检) and ``summary.json`` (kind ``landkit-adjust``; docs/summary-schema.md).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..analyses.adjust import UNIT_COLUMNS, adjust_areas
from ..analyses.county_analysis import generated_at, portable_paths
from ..county import read_county
from ..errors import InputError
from ..findings import QAReport
from ..qa import area_off, check_tbmj_adjusted
from ..settings import load_settings
from ..version import __version__

SCHEMA_VERSION = "1.0"
#: the county layers 平差 reads
ADJUST_ROLES = ("dltb", "townships")
GPKG_NAME = "平差地类图斑.gpkg"
XLSX_NAME = "平差.xlsx"


def run_adjust(county_dir, out_dir, *, config=None, progress=None) -> dict:
    """Read the county's DLTB and townships layer, adjust, write OUT (module docstring); returns
    the summary written to ``summary.json``."""
    say = progress or (lambda msg: None)
    say("读取数据")
    folder = Path(county_dir)
    if not folder.is_dir():
        raise InputError("县数据文件夹不存在", file=folder)
    settings = load_settings(folder, config)
    county = read_county(folder, settings, roles=ADJUST_ROLES)
    say("平差")
    res = adjust_areas(county)
    a = county.config.adjust
    dltb_file = str(county.sources["dltb"].path)
    qa = QAReport(list(county.qa.findings))
    qa.add(res.findings)
    adjusted_m2 = res.tbmj_cents / 100.0
    if "TBMJ" in county.dltb.columns:
        declared = county.dltb["TBMJ"].to_numpy(dtype="float64")
        off = area_off(declared, adjusted_m2, a.tbmj_tolerance_m2)
        d = np.abs(declared - adjusted_m2)
        tbmj = {"available": True, "tolerance_m2": a.tbmj_tolerance_m2,
                "compared": int(np.isfinite(declared).sum()), "over_tolerance": int(off.sum()),
                "max_difference_m2": float(np.nanmax(d)) if np.isfinite(d).any() else None}
    else:
        off = None
        tbmj = {"available": False, "tolerance_m2": a.tbmj_tolerance_m2,
                "reason": "地类图斑没有图斑面积 TBMJ 字段，无法核对申报面积"}
    qa.add(check_tbmj_adjusted(county.dltb, adjusted_m2, a.tbmj_tolerance_m2, file=dltb_file))

    units = res.units[list(UNIT_COLUMNS)]
    summary = {
        "kind": "landkit-adjust",
        "schema_version": SCHEMA_VERSION,
        "generated_at": generated_at(county.config),
        "landkit_version": __version__,
        "county": {"name": county.name, "adcode": county.adcode,
                   "crs": f"EPSG:{county.crs.to_epsg()}" if county.crs else None,
                   "layers": {r: len(g) for r, g in county.layers.items()}},
        "adjust": res.summary,
        "units": units.to_dict(orient="records"),
        "tbmj_check": tbmj,
        "qa": qa.to_dict(),
    }
    summary = portable_paths(summary, {county.path: ""})
    say("写出结果")
    write_adjust_outputs(county, res, summary, qa, off, Path(out_dir))
    return summary


def write_adjust_outputs(county, res, summary: dict, qa: QAReport, off, out_dir: Path) -> None:
    """The three files into ``out_dir`` through a staging folder (none is half-written)."""
    from ..render.adjust import adjust_workbook, check_frame, unit_frame
    from ..render.export import staged_outputs, write_gpkg, write_json
    qa_frame = qa.to_frame()
    with staged_outputs(out_dir) as tmp:
        check = check_frame(res, off) if off is not None else None
        wb = adjust_workbook(county, res, check, summary["tbmj_check"], qa_frame)
        wb.save(tmp / XLSX_NAME)
        write_gpkg({"地类图斑": res.features, "平差单元": unit_frame(res)}, tmp / GPKG_NAME)
        write_json(summary, tmp / "summary.json")
