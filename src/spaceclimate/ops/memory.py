"""How a batch process keeps the memory it frees (the C allocator's thresholds).

An ingest allocates and frees the same few sizes of arrays thousands of times (a map, a
chunk, an inner chunk of the series copy). By default the C library returns freed memory to
the system as soon as a few hundred kB lie free at the top of a heap, and serves every array
above a threshold that starts at 128 kB with a fresh mapping; the next array of that size
is then faulted in and zeroed page by page again. On a virtual machine that costs about as
much as the work on the values: measured here, `sco ingest` of 365 OSTIA-shaped daily
files spent 15-20 s of its 40 s of CPU in the kernel, mostly zeroing pages.

:func:`keep_freed_memory` raises both thresholds for the rest of the process, so freed
arrays are reused from the process's own heaps. It is for short-lived batch commands
(``sco ingest``); a long-running server keeps the defaults, so that its memory shrinks
again after a burst. Only the GNU C library has these settings; elsewhere it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util

#: mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: Arrays below this size come from the heaps and stay there once freed (32 MiB: the largest
#: threshold the library accepts; its threads' heaps are 64 MiB).
MMAP_THRESHOLD = 32 * 1024**2
#: Free memory kept at the top of a heap before it is given back.
TRIM_THRESHOLD = 1024**3


def keep_freed_memory() -> bool:
    """Keep freed memory in the process for reuse; return whether the setting took."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    ok = mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
    return mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1 and ok
