"""``landkit run``: one county, every analysis built so far, all outputs written atomically."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from ..errors import InputError
from ..county import County, read_county
from ..settings import load_settings
from ..analyses.county_analysis import CountyAnalysis, analyse  # noqa: F401  (landkit.pipeline.run.analyse)

def run_county(county_dir, out_dir, *, year: int | None = None, as_of: dt.date | None = None,
               config=None, progress=None, previous=None) -> dict:
    """Read, analyse and write ``summary.json``, ``results.gpkg``, ``ledger.xlsx`` into ``out_dir``.

    Outputs are written into a hidden staging folder inside ``out_dir`` and moved into place only
    when all are complete, so a failed run leaves no half-written files. ``previous`` is an
    earlier output folder (or its ledger.xlsx) whose ledger staff filled in: what they typed is
    carried into the new ledger record by record (landkit.tracking) and summary.json gets
    ``tracking``.
    """
    prev = read_previous(previous) if previous is not None else None
    say = progress or (lambda msg: None)
    say("读取数据")
    # the settings are complete before anything is read: --year decides which DLTB vintage is read
    folder = Path(county_dir)
    settings = load_settings(folder if folder.is_dir() else None, config, year=year, as_of=as_of)
    county = read_county(folder, settings)
    say("分析")
    res = analyse(county, checks=previous_checks(prev))
    summary = res.summary
    say("写出结果")
    write_outputs(county, res, Path(out_dir), previous=prev)
    return summary


def read_previous(previous):
    """The filled-in ledger of an earlier run: a folder holding ledger.xlsx, or the file itself."""
    from ..tracking.previous import read_previous_ledger
    p = Path(previous)
    path = p / "ledger.xlsx" if p.is_dir() else p
    if not path.is_file():
        raise InputError("--previous 应为上一次 landkit run 的输出文件夹（含 ledger.xlsx）或该台账文件", file=p.name)
    prev = read_previous_ledger(path)
    sp = path.parent / "summary.json"
    if sp.is_file():
        import json
        try:
            prev.summary = json.loads(sp.read_text(encoding="utf-8"))
        except (ValueError, OSError):
            prev.summary = None
    return prev


def previous_checks(prev) -> dict | None:
    """监测编号 → the field-check columns staff typed in the returned 卫片图斑清单 (None when the
    earlier ledger had no such sheet or there is none)."""
    if prev is None or "卫片图斑清单" not in prev.rows:
        return None
    return {k: r.typed for k, r in prev.by_key("卫片图斑清单").items()}


def tracking_summary(prev, carry) -> dict:
    """summary.json ``tracking``: what the round-trip carried and kept (no machine paths)."""
    ps = prev.summary or {}
    return {"previous_ledger": prev.path.parent.name + "/" + prev.path.name,
            "previous_as_of": (ps.get("county") or {}).get("as_of") or (ps.get("inventory") or {}).get("as_of"),
            "carried_rows": carry.carried_rows, "unmatched_rows": carry.unmatched_rows,
            "by_sheet": carry.by_sheet,
            "findings": [dict(f.to_dict(), file=None) for f in carry.findings]}


def write_outputs(county: County, res: CountyAnalysis, out_dir: Path, previous=None) -> None:
    from ..render.export import LEDGER_TABLE_PREFIX, staged_outputs, write_gpkg, write_json
    from ..render.outputs import ledger_workbook, result_layers
    with staged_outputs(out_dir) as tmp:
        ledger = ledger_workbook(county, res)
        if previous is not None:
            from ..tracking.carry import carry_forward
            from ..tracking.progress import progress
            carry = carry_forward(ledger, previous)
            as_of = county.as_of or dt.date.today()
            res.summary["tracking"] = {**tracking_summary(previous, carry), **progress(ledger, previous, as_of)}
        from ..tracking.history import history
        res.summary["history"] = history(res.summary, previous.summary if previous is not None else None)
        from ..render.chips import patch_chips
        chips = patch_chips(county, res)          # before/after pictures of the 卫片 patches that matter
        res.summary["imagery"] = chips.summary()
        write_json(res.summary, tmp / "summary.json")
        layers = dict(result_layers(county, res))
        # the ledger's tables ride along as attribute tables (台账_<sheet>), so PostGIS and other
        # readers take them from the results rather than reading ledger.xlsx back
        layers.update({f"{LEDGER_TABLE_PREFIX}{title}": df for title, df in ledger.tables().items()})
        write_gpkg(layers, tmp / "results.gpkg")
        ledger.save(tmp / "ledger.xlsx")
        from ..render.report import build_report
        from ..render.fieldcheck import FILENAME as FIELDCHECK, build_fieldcheck
        build_report(county, res, tmp / "report.html", chips=chips,
                     fieldcheck_href=FIELDCHECK if chips.has_patches else None)
        if chips.has_patches:
            build_fieldcheck(county, chips, tmp / FIELDCHECK)
