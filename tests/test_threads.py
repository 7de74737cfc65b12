"""The thread budget (LANDKIT_THREADS), row_slices and thread_map of landkit.overlay.threads."""
import threading
import time

import pytest

from landkit.overlay import threads as T


@pytest.mark.parametrize("value,expected", [("3", 3), (" 6 ", 6), ("1", 1), ("64", 64)])
def test_landkit_threads_env_is_used(monkeypatch, value, expected):
    monkeypatch.setenv("LANDKIT_THREADS", value)
    monkeypatch.setattr(T.os, "cpu_count", lambda: 2)
    assert T.default_threads() == expected          # not capped by the cores: a batch sets it


@pytest.mark.parametrize("value", ["", "0", "-2", "x", "2.5", "  "])
def test_invalid_env_falls_back_to_the_cores(monkeypatch, value):
    monkeypatch.setenv("LANDKIT_THREADS", value)
    monkeypatch.setattr(T.os, "cpu_count", lambda: 3)
    assert T.default_threads() == 3


@pytest.mark.parametrize("cores,expected", [(1, 1), (2, 2), (4, 4), (16, 4), (None, 1)])
def test_unset_env_is_cores_at_most_four(monkeypatch, cores, expected):
    monkeypatch.delenv("LANDKIT_THREADS", raising=False)
    monkeypatch.setattr(T.os, "cpu_count", lambda: cores)
    assert T.default_threads() == expected


@pytest.mark.parametrize("n", [0, 1, 2, 7, 10, 101, 1000])
@pytest.mark.parametrize("parts", [0, 1, 2, 3, 4, 8, 13])
def test_row_slices_cover_every_row_exactly_once(n, parts):
    sl = T.row_slices(n, parts)
    assert len(sl) == max(1, parts)
    rows = [i for s in sl for i in range(n)[s]]
    assert rows == list(range(n))                     # consecutive, each row once, in order
    assert sl[0].start == 0 and sl[-1].stop == n
    for a, b in zip(sl[:-1], sl[1:]):
        assert a.stop == b.start
    lengths = [s.stop - s.start for s in sl]
    assert max(lengths) - min(lengths) <= 1           # (nearly) equal


def test_row_slices_index_arrays():
    import numpy as np
    x = np.arange(23) * 10
    parts = [x[s] for s in T.row_slices(len(x), 4)]
    assert np.array_equal(np.concatenate(parts), x) and [len(p) for p in parts] == [5, 6, 6, 6]


def test_thread_map_keeps_the_order_of_items():
    def slow(i):
        time.sleep(0.002 * ((7 * i) % 5))            # later items often finish first
        return i * i
    items = list(range(20))
    assert T.thread_map(slow, items, 4) == [i * i for i in items]


def test_thread_map_runs_items_concurrently():
    barrier = threading.Barrier(3, timeout=5)         # three items must be in flight at once

    def wait(i):
        barrier.wait()
        return threading.get_ident()
    idents = T.thread_map(wait, [0, 1, 2], 3)
    assert len(set(idents)) == 3 and threading.get_ident() not in idents


@pytest.mark.parametrize("items,threads", [([1, 2, 3], 1), ([5], 4), ([], 4)])
def test_thread_map_in_the_calling_thread(items, threads):
    me = threading.get_ident()
    out = T.thread_map(lambda x: (x + 1, threading.get_ident()), items, threads)
    assert [o[0] for o in out] == [x + 1 for x in items]
    assert all(o[1] == me for o in out)


def test_thread_map_raises_the_worker_error():
    def boom(x):
        if x == 3:
            raise ValueError("第 3 块失败")
        return x
    with pytest.raises(ValueError, match="第 3 块失败"):
        T.thread_map(boom, list(range(6)), 3)
