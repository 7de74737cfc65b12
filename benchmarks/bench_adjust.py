"""Benchmark: ``landkit adjust`` (控制面积平差) on a 150k-polygon county.

    python benchmarks/bench_adjust.py [--county DIR] [--repeat 3]

Uses the cached benchmark county (benchmarks/_county.py; generated on first use) or --county.
Times, on the same data:

* reading the DLTB and townships layers (``read_county(roles=("dltb", "townships"))``);
* ``adjust_areas`` (units, membership, distribution, 田坎), median of --repeat runs;
* the integer kernel ``distribute_cents`` against a peer: the same largest-remainder rule done
  unit by unit with a pandas groupby and a per-unit argsort (how one would write it first), for
  the county's townships and again for its villages (ZLDWDM[:12], many small units);
* the whole ``run_adjust`` (read, adjust, write the GeoPackage, workbook and summary.json).

Checks that every adjusted unit's TBMJ add up to its 控制面积 exactly in integer cents and that
the kernel and the peer agree cent for cent; exits 1 otherwise.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import pandas as pd  # noqa: E402

from landkit.analyses.adjust import adjust_areas, distribute_cents  # noqa: E402
from landkit.county import read_county  # noqa: E402
from landkit.pipeline.adjust import ADJUST_ROLES, run_adjust  # noqa: E402


def peer_distribute(base, unit, control_cents) -> np.ndarray:
    """Largest remainder per unit with pandas groupby (the straightforward way)."""
    out = np.zeros(len(base), dtype=np.int64)
    df = pd.DataFrame({"a": base, "u": unit})
    for u, g in df[df["u"] >= 0].groupby("u"):
        idx = g.index.to_numpy()
        t = g["a"].to_numpy() * (control_cents[u] / g["a"].sum())
        fl = np.floor(t).astype(np.int64)
        k = int(control_cents[u] - fl.sum())
        order = np.lexsort((idx, -(t - fl)))
        fl[order[:k]] += 1
        out[idx] = fl
    free = df["u"].to_numpy() < 0
    out[free] = np.floor(base[free] * 100 + 0.5 + 1e-7).astype(np.int64)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--county", default=None)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    if args.county:
        folder = Path(args.county)
    else:
        from _county import big_county
        folder = big_county()
    t = time.perf_counter()
    county = read_county(folder, roles=ADJUST_ROLES)
    t_read = time.perf_counter() - t
    n = len(county.dltb)
    times = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        res = adjust_areas(county)
        times.append(time.perf_counter() - t)
    f = res.features
    ok = True
    for code, row in res.units.set_index("code").iterrows():
        if not row["adjusted"]:
            continue
        s = int(res.tbmj_cents[(f["控制单元"] == code).to_numpy()].sum())
        if s != int(round(row["control_m2"] * 100)):
            print(f"unit {code}: Σ = {s} cents, control {row['control_m2']}")
            ok = False
    # the kernel against the peer, on the same inputs
    pos = {c: i for i, c in enumerate(res.units["code"])}
    u = np.array([pos.get(c, -1) if c is not None else -1 for c in f["控制单元"]], dtype=np.int64)
    u[~f["平差状态"].eq("已平差").to_numpy()] = -1
    base = f["计算面积"].to_numpy(dtype="float64")
    control = np.rint(res.units["control_m2"].fillna(0).to_numpy() * 100).astype(np.int64)
    tk, tp = [], []
    for _ in range(args.repeat):
        t = time.perf_counter()
        mine = distribute_cents(base, u, control)
        tk.append(time.perf_counter() - t)
        t = time.perf_counter()
        peer = peer_distribute(base, u, control)
        tp.append(time.perf_counter() - t)
    same = bool((mine == peer).all() and (mine == res.tbmj_cents).all())
    ok &= same
    # the same kernels at village granularity (ZLDWDM[:12]): many small units
    vill = f["ZLDWDM"].astype("string").str[:12].fillna("?")
    vu, vcode = pd.factorize(vill)
    vc = np.rint(np.bincount(vu, weights=base) * 100 * (1 + 1e-5)).astype(np.int64)
    tvk, tvp = [], []
    for _ in range(args.repeat):
        t = time.perf_counter()
        vm = distribute_cents(base, vu, vc)
        tvk.append(time.perf_counter() - t)
        t = time.perf_counter()
        vp = peer_distribute(base, vu, vc)
        tvp.append(time.perf_counter() - t)
    vsame = bool((vm == vp).all() and (np.bincount(vu, weights=vm).astype(np.int64) == vc).all())
    ok &= vsame
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        run_adjust(folder, Path(tmp) / "out")
        t_all = time.perf_counter() - t
    print(f"county: {folder.name}, {n:,} 图斑, {len(res.units)} units "
          f"({int(res.units['over_tolerance'].sum())} over tolerance)")
    print(f"read DLTB + townships: {t_read:.2f} s")
    print(f"adjust_areas: {statistics.median(times):.3f} s (median of {args.repeat})")
    print(f"distribute_cents: {statistics.median(tk) * 1000:.1f} ms; pandas groupby peer "
          f"{statistics.median(tp) * 1000:.1f} ms; ratio {statistics.median(tp) / statistics.median(tk):.1f}×; "
          f"identical: {same}")
    print(f"village granularity ({len(vcode):,} units): distribute_cents {statistics.median(tvk) * 1000:.1f} ms; "
          f"peer {statistics.median(tvp) * 1000:.1f} ms; ratio {statistics.median(tvp) / statistics.median(tvk):.1f}×; "
          f"identical and exact: {vsame}")
    print(f"run_adjust (read, adjust, write gpkg/xlsx/json): {t_all:.2f} s")
    print(f"sums exact per unit in integer cents: {ok}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
