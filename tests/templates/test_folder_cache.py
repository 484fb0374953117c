"""The per-process cache of loaded data folders: bounded (least recently used goes), reloads a changed
folder, and safe on threads (a Dask worker's): one load per folder however many threads ask at once."""

from __future__ import annotations

import os
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from workbook_templates import batch
from workbook_templates.batch import SAMPLE_DIR
from workbook_templates.folder_cache import DATA_FOLDERS, MAX_FOLDERS, FolderCache, load_cached


class Loads:
    """A fake loader counting its calls; ``gate`` (when set) holds every load until released."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.calls: list[str] = []
        self.gate = gate
        self.inside = 0
        self.most_inside = 0
        self._lock = threading.Lock()

    def __call__(self, path: Path):
        with self._lock:
            self.calls.append(str(path))
            self.inside += 1
            self.most_inside = max(self.most_inside, self.inside)
        if self.gate is not None:
            assert self.gate.wait(10), "the test never released the loads"
        with self._lock:
            self.inside -= 1
        return ({"folder": str(path)}, {})


def test_the_cache_keeps_at_most_its_size_dropping_the_least_recently_used():
    loads = Loads()
    cache = FolderCache(2, load=loads, signature=lambda p: "same")
    a = cache.get("a")
    cache.get("b")
    assert cache.get("a") is a  # a hit; "a" is now the most recently used
    cache.get("c")  # evicts "b", not "a"
    assert len(cache) == 2 and cache.folders() == ["a", "c"]
    assert loads.calls == ["a", "b", "c"]
    cache.get("b")
    assert loads.calls == ["a", "b", "c", "b"] and cache.folders() == ["c", "b"]
    for k in range(50):
        cache.get(f"f{k}")
    assert len(cache) == 2


def test_the_process_cache_is_bounded():
    assert DATA_FOLDERS.size == MAX_FOLDERS and 1 <= MAX_FOLDERS <= 16
    with pytest.raises(ValueError, match="at least one"):
        FolderCache(0)


def test_a_folder_whose_files_changed_is_loaded_again():
    sig = {"a": 1}
    loads = Loads()
    cache = FolderCache(2, load=loads, signature=lambda p: sig[str(p)])
    first = cache.get("a")
    assert cache.get("a") is first
    sig["a"] = 2
    second = cache.get("a")
    assert second is not first and loads.calls == ["a", "a"] and len(cache) == 1


def test_a_failed_load_is_not_cached_and_is_tried_again():
    calls = []

    def load(path):
        calls.append(path)
        if len(calls) == 1:
            raise OSError("disk hiccup")
        return ({}, {})

    cache = FolderCache(2, load=load, signature=lambda p: 0)
    with pytest.raises(OSError):
        cache.get("a")
    assert len(cache) == 0
    assert cache.get("a") == ({}, {}) and len(calls) == 2


def test_threads_asking_for_one_folder_at_once_share_one_load():
    gate = threading.Event()
    loads = Loads(gate)
    cache = FolderCache(2, load=loads, signature=lambda p: 0)
    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(cache.get, "a") for _ in range(8)]
        while not loads.calls:  # the first load has started; the others queue behind it
            threading.Event().wait(0.01)
        gate.set()
        results = [f.result(timeout=10) for f in futures]
    assert loads.calls == ["a"]
    assert all(r is results[0] for r in results)


def test_different_folders_load_at_the_same_time():
    gate = threading.Event()
    loads = Loads(gate)
    cache = FolderCache(4, load=loads, signature=lambda p: 0)
    with ThreadPoolExecutor(3) as pool:
        futures = [pool.submit(cache.get, name) for name in ("a", "b", "c")]
        for _ in range(1000):  # every load in progress at once: none waits for another folder's
            if loads.most_inside == 3:
                break
            threading.Event().wait(0.01)
        gate.set()
        for f in futures:
            f.result(timeout=10)
    assert loads.most_inside == 3
    assert sorted(loads.calls) == ["a", "b", "c"] and len(cache) == 3


def test_many_threads_many_folders_stay_consistent_and_bounded():
    loads = Loads()
    cache = FolderCache(3, load=loads, signature=lambda p: 0)
    names = [f"f{k % 7}" for k in range(400)]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(cache.get, names))
    assert all(r[0]["folder"] == n for r, n in zip(results, names))
    assert len(cache) <= 3


def test_batch_loads_through_the_process_cache_concurrently(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(SAMPLE_DIR, data)
    assert batch.load_cached is load_cached
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(load_cached, [str(data)] * 4))
    tables, errors = results[0]
    assert errors == {} and tables
    assert all(r is results[0] for r in results)
    assert str(data) in DATA_FOLDERS.folders()
    f = next(data.iterdir())  # a changed file: loaded again
    st = f.stat()
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert load_cached(str(data)) is not results[0]
