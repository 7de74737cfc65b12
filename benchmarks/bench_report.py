"""Report benchmark: build report.html for a 150k-DLTB county, print its size and build time.

    python benchmarks/bench_report.py [--small] [--out DIR]

The county is generated once with ``landkit.synth.make_county`` and cached under
benchmarks/_data/ (see _county.py). Prints read/analyse/report times, the report's size and
what the map holds (vector features, rendered images); exits non-zero above 10 MB.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from _county import DATA, big_county, peak_rss_mb  # noqa: E402

BUDGET = 10 * 1024 * 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--small", action="store_true", help="a 20k county for a quick look")
    ap.add_argument("--out", default=str(DATA / "report_bench"), help="where to write report.html")
    args = ap.parse_args()

    import landkit as lk
    from landkit.render.maps import county_map
    from landkit.render.report import build_report
    from landkit.pipeline.run import analyse

    path = big_county(n_dltb=20_000, n_yjjbnt=8_000, n_parcels=3_000, n_patches=400) if args.small else big_county()
    t = time.perf_counter()
    county = lk.read_county(path)
    t_read = time.perf_counter() - t
    t = time.perf_counter()
    res = analyse(county)
    t_an = time.perf_counter() - t
    try:       # the 存量 analyses, when this landkit has them and analyse() does not run them yet
        if "inventory" not in res["results"]:
            from landkit.analyses.disposal import disposal_rate
            from landkit.analyses.inventory import inventory
            inv = inventory(county)
            res["results"]["inventory"] = inv
            res["summary"]["inventory"] = {"available": True, **inv.summary}
            d = disposal_rate(county)
            res["results"]["disposal"] = d
            res["summary"]["disposal"] = {"available": True, **d.summary}
    except ImportError:
        pass
    t_inv = time.perf_counter() - t - t_an

    t = time.perf_counter()
    m = county_map(county, res)
    t_map = time.perf_counter() - t
    out = Path(args.out)
    t = time.perf_counter()
    html = build_report(county, res, out / "report.html")
    t_rep = time.perf_counter() - t
    size = len(html.encode("utf-8"))
    print(f"county: {county}")
    print(f"read {t_read:.1f} s, analyse {t_an:.1f} s (+ inventory/disposal {t_inv:.1f} s)")
    print(f"map alone {t_map:.1f} s: {m.lk_stats}")
    for lay in m.lk_layers:
        what = f"{lay.count} features" if lay.kind == "vector" else (
            f"image {lay.image.width}×{lay.image.height}, {lay.image.size_bytes / 1e3:.0f} kB" if lay.image else
            f"{len(lay.labels)} labels")
        print(f"  {lay.name:<16} {lay.kind:<7} {'shown' if lay.show else 'hidden':<6} {what}")
    print(f"report: {out / 'report.html'}")
    print(f"report size {size / 1e6:.2f} MB (budget {BUDGET / 1e6:.1f} MB), build time {t_rep:.1f} s, "
          f"peak RSS {peak_rss_mb():.0f} MB")
    return 0 if size <= BUDGET else 1


if __name__ == "__main__":
    sys.exit(main())
