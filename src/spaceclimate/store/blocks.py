"""Assembling harmonised files into blocks of time steps, in one or two reused buffers.

The ingest harmonises one file at a time and the cube writer takes blocks of
:attr:`~spaceclimate.store.writer.CubeWriter.block_steps` steps. :class:`BlockAssembler`
copies each file's steps, as the file arrives, into the block being filled and hands a full
block to the :class:`~spaceclimate.store.writer.BackgroundWriter`; with two buffers the next
block is filled in the other one while that one is written. The buffers are allocated once
and reused for the whole ingest: a harmonised file is released as soon as it is copied, and
no block is concatenated afresh from its files.

This matters more than the copy it saves. Memory a process has not touched recently is
expensive to touch again on a virtual machine (the page is zeroed, often backed anew by the
host): measured here, filling a new gigabyte cost 2 to 3 s of system time, filling the same
gigabyte again 0.1 s. Holding a block's files and then their concatenation, as the ingest did
before, kept about three blocks' worth of memory moving through the allocator.

How many buffers: with two, the next block is filled while the previous one is written; with
one, the files harmonised ahead wait while the block is written. On a machine of two cores the
writer's threads already keep both busy, and the second gigabyte-sized buffer costs more to
touch than the overlap gains: measured here (365 daily 0.25 degree files, three pairs), one
buffer took 13.9-15.4 s and 2.1 GB against 15.7-16.7 s and 3.0 GB for two. The ingest
therefore uses two buffers only with more than two cores (:func:`default_buffers`).

Float variables whose first dimension is time go through the buffers; other variables and
coordinates that grow with time (time, its bounds, anything with time elsewhere) are small
and are concatenated when the block is handed over. Variables without time come from the
first file (the grid is checked to be the same for every file before it gets here).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import xarray as xr

from spaceclimate.store.writer import BackgroundWriter


def default_buffers() -> int:
    """Block buffers for this machine: two (fill one while the other is written) with more
    than two cores, else one (see the module's notes)."""
    return 2 if (os.cpu_count() or 1) > 2 else 1


def _buffered(template: xr.Dataset) -> list[str]:
    """The variables that go through the block buffers: float, time first."""
    return [
        str(name)
        for name, var in template.data_vars.items()
        if var.dims[:1] == ("time",) and var.dtype.kind == "f"
    ]


class BlockAssembler:
    """Copy harmonised datasets into blocks of steps and hand full blocks to *writer*.

    *template* is the first harmonised file (its variables, grid and dtypes set the
    buffers); *buffers* is how many block buffers are used in turn (1 or 2; None: the
    machine's :func:`default_buffers`). Call :meth:`add` for every file in order, then
    :meth:`close` to hand over the last, shorter block. A buffer is filled again only after
    the writer has finished with it (:meth:`BackgroundWriter.submit` returns once the
    previous block is written; with one buffer, the hand-over waits for its own block).
    """

    def __init__(
        self, writer: BackgroundWriter, template: xr.Dataset, buffers: int | None = None
    ) -> None:
        self.writer = writer
        self.block_steps = writer.block_steps
        self.buffers = default_buffers() if buffers is None else buffers
        if self.buffers not in (1, 2):
            raise ValueError("a block assembler uses one or two buffers")
        self.template = template
        self.names = _buffered(template)
        self._buffers: list[dict[str, np.ndarray]] = []
        self._current = 0
        self._filled = 0
        self._parts: dict[str, list[np.ndarray]] = {}

    def _buffer(self) -> dict[str, np.ndarray]:
        while len(self._buffers) <= self._current:
            self._buffers.append(
                {
                    name: np.empty(
                        (self.block_steps, *self.template[name].shape[1:]),
                        dtype=self.template[name].dtype,
                    )
                    for name in self.names
                }
            )
        return self._buffers[self._current]

    @property
    def buffers_allocated(self) -> int:
        """How many block buffers exist (never more than :attr:`buffers`)."""
        return len(self._buffers)

    def add(self, ds: xr.Dataset) -> None:
        """Copy the time steps of *ds* into the block, handing over every block filled."""
        total = int(ds.sizes["time"])
        start = 0
        while start < total:
            take = min(total - start, self.block_steps - self._filled)
            part = ds if take == total else ds.isel(time=slice(start, start + take))
            self._copy(part, take)
            start += take
            if self._filled == self.block_steps:
                self._hand_over()

    def close(self) -> None:
        """Hand over the last block (shorter than the others), if any step is waiting."""
        if self._filled:
            self._hand_over()

    def _copy(self, part: xr.Dataset, steps: int) -> None:
        buffer = self._buffer()
        at = slice(self._filled, self._filled + steps)
        for name in self.names:
            # (the grid of every file is checked against the first before it gets here)
            np.copyto(buffer[name][at], part[name].values, casting="same_kind")
        for key, var in part.variables.items():
            if str(key) not in self.names and "time" in var.dims:
                self._parts.setdefault(str(key), []).append(np.asarray(var.values))
        self._filled += steps

    def _hand_over(self) -> None:
        steps, self._filled = self._filled, 0
        buffer = self._buffer()
        parts, self._parts = self._parts, {}
        self.writer.submit(self._block(buffer, parts, steps))
        if self.buffers == 1:
            self.writer.wait()  # the next file goes into this same buffer
        self._current = (self._current + 1) % self.buffers

    def _block(
        self, buffer: dict[str, np.ndarray], parts: dict[str, list[np.ndarray]], steps: int
    ) -> xr.Dataset:
        """The dataset of a block: buffered views, grown variables concatenated, the rest."""
        tpl = self.template

        def variable(name: str) -> xr.Variable:
            var = tpl[name].variable
            if name in self.names:
                return xr.Variable(var.dims, buffer[name][:steps], var.attrs)
            if "time" in var.dims:
                axis = var.dims.index("time")
                return xr.Variable(var.dims, np.concatenate(parts[name], axis=axis), var.attrs)
            return var

        data: dict[str, Any] = {str(n): variable(str(n)) for n in tpl.data_vars}
        coords: dict[str, Any] = {str(c): variable(str(c)) for c in tpl.coords}
        return xr.Dataset(data, coords=coords, attrs=dict(tpl.attrs))
