"""Encoding one shard of a Zarr v3 array (the ``sharding_indexed`` codec) from a numpy window.

The cube writers encode their chunks themselves (zarr only writes the metadata), and two of
the layouts store many small chunks in few files: the series copy (long-in-time chunks of a
few cells, :mod:`spaceclimate.store.series`) and the overview levels (one time step a chunk,
:mod:`spaceclimate.store.overviews`). A shard file holds its inner chunks one after the
other, then the index: for every inner chunk, in C order of the shard's chunk grid, its byte
offset and length as little-endian uint64 (both ``2**64 - 1`` for a chunk not stored), then
the CRC-32C of the index (zarr's default index codecs). Inner chunks holding only the fill
value (NaN) are not stored, nor is a shard holding only such chunks.
"""

from __future__ import annotations

import itertools
import struct
from typing import Any

import google_crc32c
import numpy as np

#: Index entry of an inner chunk that is not stored.
MISSING = 2**64 - 1


def encode_chunk(tile: np.ndarray, inner: tuple[int, ...], codec: Any) -> bytes | None:
    """Encode one chunk as zarr stores it, or None when it holds only NaN.

    *tile* is the chunk's region of the array: the full *inner* shape, or less at the
    array's far edges, where it is padded with NaN (the fill value) to the full shape; the
    values are little-endian (the ``bytes`` codec) before *codec* compresses them."""
    if np.isnan(tile).all():
        return None
    if tile.shape == inner:
        chunk = np.ascontiguousarray(tile)
    else:
        chunk = np.full(inner, np.nan, dtype=tile.dtype)
        chunk[tuple(slice(0, n) for n in tile.shape)] = tile
    return bytes(codec.encode(chunk.astype(chunk.dtype.newbyteorder("<"), copy=False)))


def encode_shard(
    window: np.ndarray, inner: tuple[int, ...], shard: tuple[int, ...], codec: Any
) -> list[bytes] | None:
    """Return the parts of the shard file holding *window*, or None when it is all NaN.

    *window* is the shard's region of the array: the full *shard* shape, or less at the
    array's far edges (inner chunks there are padded with NaN to their full shape, as zarr
    stores them; inner chunks wholly outside *window* are not stored). Each inner chunk is
    copied out on its own (a few hundred kB, reused by the allocator) and encoded with
    *codec* (a numcodecs codec of the array's ``bytes`` + compressor chain).
    """
    grid = tuple(s // c for s, c in zip(shard, inner, strict=True))
    index = np.full((*grid, 2), MISSING, dtype="<u8")
    parts: list[bytes] = []
    offset = 0
    for key in itertools.product(*(range(n) for n in grid)):
        region = tuple(slice(k * c, (k + 1) * c) for k, c in zip(key, inner, strict=True))
        tile = window[region]
        encoded = encode_chunk(tile, inner, codec) if tile.size else None
        if encoded is None:
            continue
        index[key] = (offset, len(encoded))
        parts.append(encoded)
        offset += len(encoded)
    if not parts:
        return None
    index_bytes = index.tobytes()
    return [*parts, index_bytes, struct.pack("<I", google_crc32c.value(index_bytes))]
