"""The size a NetCDF classic file (CDF-1, CDF-2, CDF-5) must have, read from its header.

The netCDF library reads a truncated classic file without complaint: values past the end of
the file come back as zeros. The header says where every variable's data lie, so comparing
the file's size with the end of its last value tells a truncated copy from a whole file.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

#: Bytes per value of each external type (byte, char, short, int, float, double, then the
#: CDF-5 types ubyte, ushort, uint, int64, uint64).
_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 4, 6: 8, 7: 1, 8: 2, 9: 4, 10: 8, 11: 8}
_DIMENSION, _VARIABLE, _ATTRIBUTE = 10, 11, 12


def _padded(size: int) -> int:
    """Round a byte count up to the format's 4-byte alignment."""
    return size + (-size % 4)


class _Header:
    """A cursor over the header's big-endian fields (wider counts in CDF-5)."""

    def __init__(self, fh: BinaryIO, version: int) -> None:
        self._fh = fh
        self._count = ">q" if version == 5 else ">i"  # counts, lengths and dimension ids
        self._offset = ">i" if version == 1 else ">q"  # where a variable's data begin

    def _unpack(self, fmt: str) -> int:
        size = struct.calcsize(fmt)
        data = self._fh.read(size)
        if len(data) != size:
            raise EOFError("header ends early")
        return int(struct.unpack(fmt, data)[0])

    def tag(self) -> int:
        return self._unpack(">i")

    def count(self) -> int:
        return self._unpack(self._count)

    def offset(self) -> int:
        return self._unpack(self._offset)

    def skip(self, size: int) -> None:
        if len(self._fh.read(size)) != size:
            raise EOFError("header ends early")

    def name(self) -> None:
        self.skip(_padded(self.count()))

    def list_of(self, expected: int) -> int:
        """Read a list's tag and length (0 for an absent list)."""
        tag, n = self.tag(), self.count()
        if tag not in (0, expected) or (tag == 0 and n != 0):
            raise ValueError(f"list tag {tag}")
        return n

    def attributes(self) -> None:
        for _ in range(self.list_of(_ATTRIBUTE)):
            self.name()
            size = _TYPE_SIZES[self.tag()]
            self.skip(_padded(self.count() * size))


def _product(values: list[int]) -> int:
    out = 1
    for v in values:
        out *= v
    return out


def classic_size(path: Path) -> int | None:
    """Return the bytes a classic file needs to hold all its values (None: not classic).

    Also None when the header cannot be read (the netCDF library then reports the file).
    """
    try:
        with path.open("rb") as fh:
            magic = fh.read(4)
            if len(magic) != 4 or magic[:3] != b"CDF" or magic[3] not in (1, 2, 5):
                return None
            header = _Header(fh, magic[3])
            numrecs = header.count()
            dims = []
            for _ in range(header.list_of(_DIMENSION)):
                header.name()
                dims.append(header.count())
            header.attributes()
            fixed: list[tuple[int, int]] = []  # (begin, bytes) of each variable
            records: list[tuple[int, int]] = []  # (begin, bytes of one record)
            for _ in range(header.list_of(_VARIABLE)):
                header.name()
                ndims = header.count()
                shape = [dims[header.count()] for _ in range(ndims)]
                header.attributes()
                size = _TYPE_SIZES[header.tag()]
                header.count()  # vsize: recomputed below (it saturates for huge variables)
                begin = header.offset()
                if shape and shape[0] == 0:
                    records.append((begin, _product(shape[1:]) * size))
                else:
                    fixed.append((begin, _product(shape) * size))
    except (OSError, EOFError, ValueError, KeyError, IndexError):
        return None
    ends = [begin + size for begin, size in fixed]
    if records and numrecs > 0:  # a negative count means streaming: records not counted
        # one record holds every record variable, each padded, unless there is only one
        recsize = records[0][1] if len(records) == 1 else sum(_padded(s) for _, s in records)
        ends += [begin + (numrecs - 1) * recsize + size for begin, size in records]
    return max(ends, default=0)
