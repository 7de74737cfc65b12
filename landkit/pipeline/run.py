"""``landkit run``: one county, every analysis built so far, all outputs written atomically."""
from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

from ..errors import InputError
from ..county import County, read_county
from ..settings import load_settings
from ..analyses.county_analysis import CountyAnalysis, analyse  # noqa: F401  (landkit.pipeline.run.analyse)

def run_county(county_dir, out_dir, *, year: int | None = None, as_of: dt.date | None = None,
               config=None, progress=None) -> dict:
    """Read, analyse and write ``summary.json``, ``results.gpkg``, ``ledger.xlsx`` into ``out_dir``.

    Outputs are written into a hidden staging folder inside ``out_dir`` and moved into place only
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
    summary = res.summary
    say("写出结果")
    write_outputs(county, res, Path(out_dir))
    return summary


def write_outputs(county: County, res: CountyAnalysis, out_dir: Path) -> None:
    from ..render.export import LEDGER_TABLE_PREFIX, staging_folder, write_gpkg, write_json
    from ..render.outputs import ledger_workbook, result_layers
    tmp = staging_folder(out_dir)
    try:
        write_json(res.summary, tmp / "summary.json")
        ledger = ledger_workbook(county, res)
        layers = dict(result_layers(county, res))
        # the ledger's tables ride along as attribute tables (台账_<sheet>), so PostGIS and other
        # readers take them from the results rather than reading ledger.xlsx back
        layers.update({f"{LEDGER_TABLE_PREFIX}{title}": df for title, df in ledger.tables().items()})
        write_gpkg(layers, tmp / "results.gpkg")
        ledger.save(tmp / "ledger.xlsx")
        from ..render.report import build_report
        build_report(county, res, tmp / "report.html")
        for f in sorted(tmp.iterdir()):
            os.chmod(f, 0o644)
            os.replace(f, out_dir / f.name)
    except OSError as e:
        raise InputError(f"写出结果失败（{e.strerror or e}）", file=out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
