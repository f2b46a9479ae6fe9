import ctypes.util

import pytest

from app.memory import trim_heap


def test_trim_heap_releases_on_glibc() -> None:
    # Debian's C library is glibc: malloc_trim exists and the call succeeds
    assert ctypes.util.find_library("c")
    assert trim_heap() is True


def test_trim_heap_looks_up_the_c_library_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # find_library forks the worker to run ldconfig: not on every timer tick
    trim_heap()
    calls: list[str] = []

    def find_library(name: str) -> None:
        calls.append(name)

    monkeypatch.setattr(ctypes.util, "find_library", find_library)
    assert trim_heap() is True
    assert trim_heap() is True
    assert calls == []
