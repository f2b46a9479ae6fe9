"""Give the C heap's free pages back to the operating system after start-up.

Loading the enrichment databases (``geoip2fast`` unpickles ~800,000 objects from a
gzip file) leaves tens of MiB of freed but still mapped heap behind: glibc's allocator
returns memory to the system only from the top of the heap. ``malloc_trim(0)`` releases
every free page; the worker calls it once its agents have built what they keep. It
changes no object, only RSS (bench/RESULTS.md, worker memory). A no-op where the C
library is not glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
from typing import Any

log = logging.getLogger(__name__)


@functools.cache
def _malloc_trim() -> Any:
    """glibc's ``malloc_trim``, or None. Looked up once: ``find_library`` runs
    ``ldconfig -p`` in a child process, a fork of the whole worker each time."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        trim = getattr(libc, "malloc_trim", None)
    except OSError:
        return None
    if trim is not None:
        trim.argtypes = [ctypes.c_size_t]
        trim.restype = ctypes.c_int
    return trim


def trim_heap() -> bool:
    """Release the free pages of the C heap; True if the C library could do it."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
