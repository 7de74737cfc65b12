"""Chip benchmark: before/after chips of 卫片 patches, time per chip and what they add to the report.

    python benchmarks/bench_chips.py [--patches N] [--big-only]

1. The demo county (sample_data, a sparse 2 m pair of 20 736 × 13 312 px): landkit's chips
   (landkit.render.chips.patch_chips) per patch and per chip; the report's size with the chips
   and with ``[imagery] chip_count = 0``.
2. A 100 000 × 100 000 px (30 GB as pixels) sparse 1 m GeoTIFF in UTM under patches in CGCS2000
   GK: landkit's windowed read + in-memory reprojection against the peer, rasterio's WarpedVRT of
   the whole dataset read on the same chip grid, chip by chip in the same run; peak RSS.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, __file__.rsplit("/", 1)[0])
from _county import peak_rss_mb  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "sample_data" / "420704_鄂城区"


def sample_county():
    import landkit as lk
    from landkit.render.chips import patch_chips
    from landkit.render.report import build_report
    c = lk.read_county(SAMPLE)
    res = lk.analyse(c)
    patch_chips(c, res)                              # warm up (GDAL, pyproj)
    t = time.perf_counter()
    chips = patch_chips(c, res)
    secs = time.perf_counter() - t
    n = len(chips.items)
    print(f"demo county: {n} patches, {chips.chip_count} chips in {secs:.2f} s "
          f"({secs / max(n, 1) * 1000:.0f} ms a patch, {secs / max(chips.chip_count, 1) * 1000:.0f} ms a chip, "
          f"location look-up included); {chips.nbytes / 1e3:.0f} kB of JPEG "
          f"({chips.nbytes / max(chips.chip_count, 1) / 1e3:.1f} kB a chip)")
    with_chips = len(build_report(c, res, chips=chips).encode("utf-8"))
    none = patch_chips(c, res, settings=c.config.merged({"imagery": {"chip_count": 0}}))
    without = len(build_report(c, res, chips=none).encode("utf-8"))
    print(f"report: {without / 1e6:.2f} MB without chips, {with_chips / 1e6:.2f} MB with them "
          f"(+{(with_chips - without) / 1e6:.2f} MB; budget 10 MB); peak RSS so far {peak_rss_mb():.0f} MB")


def big_raster(n_patches: int):
    import numpy as np
    import rasterio
    import shapely
    from rasterio.vrt import WarpedVRT
    from rasterio.enums import Resampling
    from landkit.render import chips as C
    from test_chips import GK, UTM, sparse_raster, to_gk, utm_of
    from conftest import X0, Y0
    rng = np.random.default_rng(18)
    with tempfile.TemporaryDirectory() as d:
        ux, uy = utm_of(X0 + 700, Y0 + 700)
        centres = rng.uniform(-20_000, 20_000, size=(n_patches, 2))
        sizes = rng.uniform(40, 250, size=n_patches)
        targets = [shapely.box(ux + x - s / 2, uy + y - s / 2, ux + x + s / 2, uy + y + s / 2)
                   for (x, y), s in zip(centres, sizes)]
        t = time.perf_counter()
        path = sparse_raster(Path(d) / "big.tif", crs=UTM, origin=(round(ux) - 50_000, round(uy) + 50_000), res=1.0,
                             size=100_000, paint=[(g, (240, 80, 80)) for g in targets])
        print(f"\nbig raster: 100 000 × 100 000 px, {Path(path).stat().st_size / 1e6:.1f} MB on disk "
              f"(written in {time.perf_counter() - t:.1f} s), {n_patches} patches of 40–250 m")
        patches = [to_gk(g) for g in targets]
        ours = peer = 0.0
        worst = 0.0
        with rasterio.open(path) as src:
            C.cut_chip(src, patches[0], GK, "after", None)          # warm up
            for g in patches:
                t = time.perf_counter()
                chip, _ = C.cut_chip(src, g, GK, "after", None)
                dt_ = time.perf_counter() - t
                ours += dt_
                worst = max(worst, dt_)
                grid = C.chip_grid(g, GK)
                t = time.perf_counter()
                with WarpedVRT(src, crs=grid.crs, transform=grid.transform, width=grid.width, height=grid.height,
                               resampling=Resampling.bilinear) as vrt:
                    arr = vrt.read([1, 2, 3])
                    mask = vrt.dataset_mask()
                    img = np.moveaxis(arr, 0, -1).copy()
                    img[mask == 0] = C.NODATA_RGB
                    C.encode_chip(img)
                peer += time.perf_counter() - t
        print(f"landkit windowed chips: {ours / n_patches * 1000:.1f} ms a chip (worst {worst * 1000:.0f} ms); "
              f"peer WarpedVRT of the whole dataset on the same grid (no outline/bar/arrow): "
              f"{peer / n_patches * 1000:.1f} ms a chip; ratio {ours / peer:.2f}×")
        print(f"peak RSS {peak_rss_mb():.0f} MB (the raster is 30 000 MB as pixels)")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--patches", type=int, default=40, help="patches on the big raster")
    ap.add_argument("--big-only", action="store_true", help="only the big raster (its own peak RSS)")
    args = ap.parse_args()
    if not args.big_only:
        sample_county()
    big_raster(args.patches)
    return 0


if __name__ == "__main__":
    sys.exit(main())
