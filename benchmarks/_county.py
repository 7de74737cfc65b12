"""Benchmark data: a generated county of realistic size, cached under benchmarks/_data/."""
from __future__ import annotations

import time
from pathlib import Path

DATA = Path(__file__).resolve().parent / "_data"


def big_county(n_dltb=150_000, n_yjjbnt=60_000, n_parcels=20_000, n_patches=2_000, seed=7) -> Path:
    """A 150k-polygon county (generated once, then reused)."""
    from landkit.synth import make_county
    out = DATA / f"county_{n_dltb}_{n_yjjbnt}_{n_parcels}_{n_patches}_{seed}"
    if (out / ".complete").exists():
        return out
    t = time.perf_counter()
    make_county(out, n_dltb=n_dltb, n_yjjbnt=n_yjjbnt, n_parcels=n_parcels, n_patches=n_patches, seed=seed)
    (out / ".complete").write_text("ok")
    print(f"generated {out.name} in {time.perf_counter() - t:.1f} s")
    return out


def peak_rss_mb() -> float:
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
