"""Benchmark ``landkit batch``: a generated province of realistic counties on 1 and 2 workers.

    python benchmarks/bench_batch.py                 # generate once (cached), then time 1 and 2 workers
    python benchmarks/bench_batch.py --counties 20 --workers 1 2
    python benchmarks/bench_batch.py --generate-only

The province (default 20 counties, 20–40k 地类图斑 each, 鄂城区 on its real outline, the others
synthetic counties spread over 湖北) is generated once under ``benchmarks/_data/province_*`` and
reused. Each configuration runs :func:`landkit.pipeline.batch.run_batch` on a fresh LocalCluster
(threads_per_worker=1) into a fresh output folder and prints wall time, the summed CPU time of
the county tasks, the peak RSS of each worker process and the speedup over 1 worker.

Wall-time speedup needs an otherwise idle machine: other CPU-bound processes on the box eat
into it (the CPU-time column shows how much work there was). To tell the two apart, the
benchmark also measures the machine's ceiling before and after each configuration: the
throughput gain of N copies of a pure-CPU loop over one copy, at that moment.
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import os
import shutil
import sys
import time
from pathlib import Path

DATA = Path(__file__).resolve().parent / "_data"

#: (adcode, name, lon, lat) of the synthetic counties; positions spread over 湖北
_PLACES = [
    ("420111", "洪山样区", 114.40, 30.50), ("420115", "江夏样区", 114.32, 30.35),
    ("420116", "黄陂样区", 114.37, 30.88), ("420117", "新洲样区", 114.80, 30.84),
    ("420202", "黄石样区", 115.05, 30.20), ("420281", "大冶样区", 114.97, 30.10),
    ("420303", "张湾样区", 110.78, 32.65), ("420323", "竹山样区", 110.23, 32.22),
    ("420502", "西陵样区", 111.29, 30.70), ("420525", "远安样区", 111.64, 31.06),
    ("420602", "襄城样区", 112.13, 32.01), ("420624", "南漳样区", 111.84, 31.78),
    ("420802", "东宝样区", 112.20, 31.03), ("420881", "钟祥样区", 112.59, 31.17),
    ("420902", "孝南样区", 113.91, 30.92), ("421002", "沙市样区", 112.25, 30.32),
    ("421102", "黄州样区", 114.88, 30.44), ("421202", "咸安样区", 114.30, 29.85),
    ("421303", "曾都样区", 113.37, 31.72), ("422801", "恩施样区", 109.48, 30.29),
    ("422802", "利川样区", 108.94, 30.29), ("429004", "仙桃样区", 113.45, 30.36),
]


def _one(args) -> tuple[str, float]:
    out, kw = args
    from landkit.synth import make_county
    t = time.perf_counter()
    make_county(out, image=False, **kw)
    (Path(out) / ".complete").write_text("ok", encoding="utf-8")
    return Path(out).name, time.perf_counter() - t


def province(n_counties: int = 20, seed: int = 2024, procs: int = 2) -> Path:
    """Generate (once) a province folder of ``n_counties`` realistic counties; return its path."""
    import numpy as np
    root = DATA / f"province_{n_counties}_{seed}"
    rng = np.random.default_rng(seed)
    sizes = rng.integers(20_000, 40_001, n_counties)
    jobs = []
    for i in range(n_counties):
        n = int(sizes[i])
        common = dict(n_dltb=n, seed=seed + i, n_patches=int(n // 100), n_approvals=40 + n // 1000,
                      n_supply=120 + n // 200, n_parcels=200 + n // 100)
        if i == 0:
            out, kw = root / "420704_鄂城区", dict(common)
        else:
            adcode, name, lon, lat = _PLACES[(i - 1) % len(_PLACES)]
            if i - 1 >= len(_PLACES):
                adcode = f"{int(adcode) + 50 + i:06d}"
            out = root / f"{adcode}_{name}"
            kw = dict(common, boundary=None, adcode=adcode, name=name, center_lonlat=(lon, lat),
                      area_km2=float(rng.uniform(400, 900)))
        if not (out / ".complete").exists():
            jobs.append((out, kw))
    if jobs:
        print(f"generating {len(jobs)} of {n_counties} counties under {root} ({procs} processes)…", flush=True)
        t = time.perf_counter()
        with cf.ProcessPoolExecutor(procs) as ex:   # data generation only, not the batch under test
            for name, s in ex.map(_one, jobs):
                print(f"  {name}: {s:.1f} s", flush=True)
        print(f"generated in {time.perf_counter() - t:.0f} s", flush=True)
    return root


def _spin(_=None) -> float:
    t = time.perf_counter()
    s = 0
    for i in range(15_000_000):
        s += i
    return time.perf_counter() - t


def machine_ceiling(workers: int, reps: int = 3) -> float:
    """Throughput speedup of ``workers`` copies of a pure-CPU loop over one copy, right now.

    The most a perfectly parallel job could gain on this machine at this moment (other processes
    and the hypervisor's share of the vCPUs included). Median of ``reps`` rounds.
    """
    import statistics
    out = []
    with cf.ProcessPoolExecutor(workers) as ex:   # a control measurement, not the batch under test
        list(ex.map(_spin, range(workers)))       # warm the processes
        for _ in range(reps):
            t = time.perf_counter()
            ex.submit(_spin).result()
            one = time.perf_counter() - t
            t = time.perf_counter()
            list(ex.map(_spin, range(workers)))
            many = time.perf_counter() - t
            out.append(workers * one / many)
    return statistics.median(out)


def _folder_mb(p: Path) -> float:
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) / 2**20


def bench(root: Path, workers: int, out: Path) -> dict:
    from landkit.pipeline.batch import run_batch
    if out.exists():
        shutil.rmtree(out)
    load0 = os.getloadavg()[0]
    t = time.perf_counter()
    res = run_batch(root, out, workers=workers, progress=False)
    wall = time.perf_counter() - t
    per_worker: dict[str, float] = {}
    cpu = 0.0
    task_wall = 0.0
    for c in res.counties:
        w = c.worker or {}
        if w.get("address"):
            per_worker[w["address"]] = max(per_worker.get(w["address"], 0.0), w.get("peak_rss_mb") or 0.0)
        cpu += (w.get("cpu_seconds") or 0.0)
        task_wall += c.seconds or 0.0
    return {"workers": workers, "wall": wall, "cpu": cpu, "task_wall": task_wall, "ok": len(res.ok),
            "failed": len(res.failed), "peak_rss_mb": sorted(per_worker.values(), reverse=True),
            "exit_code": res.exit_code, "load_before": load0, "load_after": os.getloadavg()[0]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--counties", type=int, default=20)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--generate-only", action="store_true")
    ap.add_argument("--keep-out", action="store_true", help="keep the output folders under benchmarks/_data/")
    a = ap.parse_args(argv)
    root = province(a.counties)
    dirs = sorted(p for p in root.iterdir() if p.is_dir())
    print(f"province: {len(dirs)} counties, {sum(_folder_mb(d) for d in dirs):.0f} MB of input "
          f"({os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f})", flush=True)
    if a.generate_only:
        return 0
    rows = []
    for w in a.workers:
        out = DATA / f"bench_out_{w}w"
        ceiling = machine_ceiling(max(a.workers))
        r = bench(root, w, out)
        r["ceiling"] = (ceiling + machine_ceiling(max(a.workers))) / 2
        rows.append(r)
        if not a.keep_out:
            shutil.rmtree(out, ignore_errors=True)
        print(f"{w} worker(s): wall {r['wall']:.1f} s, county tasks {r['task_wall']:.1f} s summed "
              f"(CPU {r['cpu']:.1f} s = {r['cpu'] / r['wall']:.2f} cores on average), {r['ok']} ok / "
              f"{r['failed']} failed, peak RSS per worker " + ", ".join(f"{m:.0f} MB" for m in r["peak_rss_mb"])
              + f"; load average {r['load_before']:.2f} → {r['load_after']:.2f}; machine ceiling for "
              f"{max(a.workers)} CPU-bound processes around this run {r['ceiling']:.2f}×", flush=True)
    base = next((r for r in rows if r["workers"] == 1), None)
    print()
    print(f"{'workers':>7} {'wall s':>8} {'speedup':>8} {'CPU s':>8} {'cores used':>10} {'peak RSS/worker MB':>20}")
    for r in rows:
        sp = base["wall"] / r["wall"] if base else float("nan")
        print(f"{r['workers']:>7} {r['wall']:>8.1f} {sp:>7.2f}× {r['cpu']:>8.1f} {r['cpu'] / r['wall']:>10.2f} "
              f"{max(r['peak_rss_mb'] or [0]):>20.0f}")
    print("cores used = county tasks' CPU time ÷ wall time; well under the worker count means other processes "
          "(or the hypervisor) were taking the cores")
    ceil = sum(r["ceiling"] for r in rows) / len(rows)
    print(f"machine ceiling (pure-CPU loop in {max(a.workers)} processes vs 1, measured before and after each "
          f"configuration): {ceil:.2f}× — the most any parallel job could have gained here during the benchmark")
    print(f"(load average after: {os.getloadavg()[0]:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
