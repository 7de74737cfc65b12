"""Thread budget and a thread map for the vectorised geometry work (GEOS and numpy release
the GIL, so chunks of one county's work run in parallel on a thread pool)."""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np


def default_threads() -> int:
    """Threads for the geometry work: ``LANDKIT_THREADS`` when set (a batch worker gets cores ÷
    workers, so N workers never run N × cores threads), else the cores, at most 4."""
    env = os.environ.get("LANDKIT_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    return min(4, os.cpu_count() or 1)


def thread_map(fn, items: list, threads: int) -> list:
    """``[fn(x) for x in items]``, on a thread pool when there is more than one item and thread."""
    if len(items) > 1 and threads > 1:
        with ThreadPoolExecutor(threads) as ex:
            return list(ex.map(fn, items))
    return [fn(x) for x in items]


def row_slices(n: int, parts: int) -> list[slice]:
    """``range(n)`` cut into ``parts`` consecutive slices of (nearly) equal length."""
    bounds = np.linspace(0, n, max(1, parts) + 1).astype(int)
    return [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:])]
