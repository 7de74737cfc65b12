"""End-to-end `landkit run` on a 150k-DLTB county: stage times and the total (budget: 30 s).

    python benchmarks/bench_run.py [--small]
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _county import big_county, peak_rss_mb  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--small", action="store_true")
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    import landkit as lk
    from landkit.render.export import write_gpkg, write_json
    from landkit.render.outputs import ledger_workbook, result_layers
    from landkit.render.report import build_report
    from landkit.pipeline.run import run_county
    folder = big_county(20_000, 8_000, 3_000, 300) if args.small else big_county()
    out = Path(tempfile.mkdtemp())
    try:
        stages = {}
        t = time.perf_counter(); c = lk.read_county(folder); stages["read + QA"] = time.perf_counter() - t
        t = time.perf_counter(); res = lk.analyse(c); stages["analyses"] = time.perf_counter() - t
        t = time.perf_counter(); write_json(res["summary"], out / "s.json"); write_gpkg(result_layers(c, res), out / "r.gpkg")
        stages["summary.json + results.gpkg"] = time.perf_counter() - t
        t = time.perf_counter(); ledger_workbook(c, res).save(out / "l.xlsx"); stages["ledger.xlsx"] = time.perf_counter() - t
        t = time.perf_counter(); build_report(c, res, out / "r.html"); stages["report.html"] = time.perf_counter() - t
        print(f"county {folder.name}: DLTB {len(c.dltb):,}, 永农 {len(c.yjjbnt):,}, parcels {len(c.parcels):,}, "
              f"patches {len(c.patches):,}")
        for k, v in stages.items():
            print(f"  {k:<30} {v:6.2f} s")
        t = time.perf_counter()
        run_county(folder, out / "run")
        total = time.perf_counter() - t
        size = (out / "run" / "report.html").stat().st_size / 1e6
        print(f"landkit run end to end: {total:.1f} s (budget 30 s); report.html {size:.2f} MB (budget 10 MB); "
              f"peak memory {peak_rss_mb():,.0f} MB")
        ok = total < 30 and size <= 10
        print("RESULT:", "ok" if ok else "BUDGET MISSED")
        return 0 if ok else 1
    finally:
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
