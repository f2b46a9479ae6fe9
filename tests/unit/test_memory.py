import ctypes.util

from app.memory import trim_heap


def test_trim_heap_releases_on_glibc() -> None:
    # Debian's C library is glibc: malloc_trim exists and the call succeeds
    assert ctypes.util.find_library("c")
    assert trim_heap() is True
