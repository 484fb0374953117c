"""The data folders this process has loaded: a small LRU cache that threads share safely.

A batch loads (and checks) each data folder once per process, then builds
every report of the folder from it. The cache holds the last
:data:`MAX_FOLDERS` folders used — a long-lived process (a Dask worker, a
server) that is handed one folder after another keeps a bounded amount of
data — and reloads a folder whose files changed (names, sizes, modification
times: :func:`~workbook_templates.data.file_signature`).

Dask workers run tasks in threads: the table is guarded by a lock, and a
folder is loaded by one thread while the others asking for it wait for that
load rather than repeating it; different folders load in parallel.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

from .settings import DEFAULT_SETTINGS, DataSettings

__all__ = ["DATA_FOLDERS", "MAX_FOLDERS", "FolderCache", "load_cached"]

#: how many loaded data folders a process keeps (the least recently used goes first)
MAX_FOLDERS = 4

Loaded = tuple[dict[str, Any], dict[str, str]]  #: (tables by data set, fatal error by data set)


def _load(data_dir: Path, settings: DataSettings = DEFAULT_SETTINGS) -> Loaded:
    from .data import load_all

    return load_all(data_dir, settings=settings)


def _signature(data_dir: Path, settings: DataSettings = DEFAULT_SETTINGS) -> Hashable:
    from .data import file_signature

    return file_signature(data_dir, settings)


class FolderCache:
    """Loaded data folders by path, each with the signature of its files when it was loaded."""

    def __init__(self, size: int = MAX_FOLDERS, load: Callable[..., Loaded] = _load,
                 signature: Callable[..., Hashable] = _signature) -> None:
        if size < 1:
            raise ValueError(f"a folder cache holds at least one folder, not {size}")
        self.size = size
        self._load = load
        self._signature = signature
        self._lock = threading.Lock()  # guards _entries and _loading
        self._entries: OrderedDict[tuple[str, DataSettings], tuple[Hashable, Loaded]] = OrderedDict()
        self._loading: dict[tuple[str, DataSettings], threading.Lock] = {}  # folder -> held while one thread loads it

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def folders(self) -> list[str]:
        """The cached folders, least recently used first."""
        with self._lock:
            return [folder for folder, _ in self._entries]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def _hit(self, key: tuple[str, DataSettings], sig: Hashable) -> Loaded | None:
        with self._lock:
            hit = self._entries.get(key)
            if hit is None or hit[0] != sig:
                return None
            self._entries.move_to_end(key)
            return hit[1]

    def get(self, data_dir: str, settings: DataSettings = DEFAULT_SETTINGS) -> Loaded:
        """The loaded folder: from the cache when its files are unchanged, else loaded now (and cached).
        A folder read with other settings is another entry."""
        key = (data_dir, settings)
        sig = self._signature(Path(data_dir)) if settings == DEFAULT_SETTINGS else self._signature(
            Path(data_dir), settings)
        found = self._hit(key, sig)
        if found is not None:
            return found
        with self._lock:
            loading = self._loading.setdefault(key, threading.Lock())
        try:
            with loading:
                found = self._hit(key, sig)  # loaded by the thread this one waited for
                if found is not None:
                    return found
                loaded = self._load(Path(data_dir)) if settings == DEFAULT_SETTINGS else self._load(
                    Path(data_dir), settings)
                with self._lock:
                    self._entries[key] = (sig, loaded)
                    self._entries.move_to_end(key)
                    while len(self._entries) > self.size:
                        self._entries.popitem(last=False)
                return loaded
        finally:
            with self._lock:
                if self._loading.get(key) is loading and not loading.locked():
                    del self._loading[key]


#: the process's cache (what :func:`load_cached` reads)
DATA_FOLDERS = FolderCache()


def load_cached(data_dir: str, settings: DataSettings = DEFAULT_SETTINGS) -> Loaded:
    """Load (and check) every data file of ``data_dir`` once per process (per settings); reloaded when a
    file changes."""
    return DATA_FOLDERS.get(data_dir, settings)
