"""The one decoding kernel: stored values of a source variable to canonical float32 values.

Every harmonising path (the fast path of :mod:`spaceclimate.harmonise.fast` and the general
one of :mod:`spaceclimate.harmonise.variables`) decodes through :class:`Decoding`, on numpy
arrays and a block of values at a time (every step is element-wise, so a block's float64
scratch stays small). The steps, in order:

1. stored values equal to a fill value or a listed flag value, outside a valid range given
   in the stored type, or marked invalid by an extra mask (a quality-flag test, see
   :func:`flag_invalid`) become missing;
2. the stored values are converted to float64, or looked up in a recode table (class value
   to decoded value, every other class missing);
3. CF packing is applied (``value * scale + offset``);
4. decoded values outside a valid range given in decoded units, above ``mask_above`` or below
   ``mask_below`` become missing;
5. units are converted (``value * k + b``) and the result is rounded once to float32.

The kernel knows nothing of recipes or files: :func:`spaceclimate.harmonise.variables.plan`
reads those and builds a :class:`Decoding`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import numpy as np

from spaceclimate.harmonise.units import is_identity

#: Values decoded at a time (the block's float64 scratch stays in cache).
DECODE_BLOCK = 1 << 16


def flag_invalid(flag: np.ndarray, mask: int, valid_when: Literal["set", "unset"]) -> np.ndarray:
    """Return where a quality-flag test fails: the values it makes missing.

    Parameters
    ----------
    flag
        The flag variable's stored values (integers, or floats holding integers).
    mask
        The bits tested: a value passes ``set`` when any of them is set in the flag.
    valid_when
        ``"set"`` keeps values whose flag has a bit of *mask* set, ``"unset"`` those whose
        flag has none of them set.

    Returns
    -------
    numpy.ndarray
        Boolean array of the flag's shape, True where the value is invalid. A missing (NaN)
        flag has no bit set: it fails ``set`` and passes ``unset``.
    """
    values = np.asarray(flag)
    if values.dtype.kind in "fc":
        values = np.where(np.isnan(values), 0, values)
    is_set = (values.astype("int64") & int(mask)) != 0
    return np.asarray(~is_set if valid_when == "set" else is_set)


@dataclass(frozen=True)
class Decoding:
    """The element-wise decoding of one variable's stored values (see the module's steps).

    Attributes
    ----------
    fills
        Stored values that mean missing.
    flags
        Stored flag values that mean missing (``mask_flag_values``).
    packed_limits
        Valid range of the stored values, or None.
    decoded_limits
        Valid range of the values after packing (before units conversion), or None.
    scale, offset
        CF packing.
    mask_above, mask_below
        Decoded values above / below these are missing.
    units
        ``(k, b)`` converting decoded values to canonical units.
    recode
        ``(class value, decoded value)`` pairs replacing step 2's conversion, or None; the
        later of two pairs matching one value wins.
    """

    fills: Sequence[Any] = ()
    flags: Sequence[Any] = ()
    packed_limits: tuple[Any, Any] | None = None
    decoded_limits: tuple[float, float] | None = None
    scale: float = 1.0
    offset: float = 0.0
    mask_above: float | None = None
    mask_below: float | None = None
    units: tuple[float, float] = (1.0, 0.0)
    recode: Sequence[tuple[float, float]] | None = None

    @cached_property
    def _scaled(self) -> bool:
        """Whether the packing scales or offsets (decided once, not once a block)."""
        return not is_identity(self.scale, self.offset)

    @cached_property
    def _converted(self) -> bool:
        """Whether the units conversion changes the values."""
        return not is_identity(*self.units)

    def __call__(self, rawvals: np.ndarray, invalid: np.ndarray | None = None) -> np.ndarray:
        """Decode one block of stored values to float64.

        Parameters
        ----------
        rawvals
            Stored values.
        invalid
            Extra mask of rawvals' shape, True where a value is missing whatever it holds.
        """
        missing = np.zeros(rawvals.shape, dtype=bool) if invalid is None else invalid.copy()
        for fv in self.fills:
            missing |= rawvals == fv
        if self.flags:
            missing |= np.isin(rawvals, self.flags)
        if self.packed_limits is not None:
            vmin, vmax = self.packed_limits
            missing |= (rawvals < vmin) | (rawvals > vmax)
        if self.recode is None:
            data = rawvals.astype("float64")
        else:
            data = np.full(rawvals.shape, np.nan)
            for key, value in self.recode:
                data[rawvals == key] = value
        data[missing] = np.nan
        if self._scaled:
            data *= self.scale
            data += self.offset
        with np.errstate(invalid="ignore"):
            if self.decoded_limits is not None:
                lo, hi = self.decoded_limits
                data[~((data >= lo) & (data <= hi))] = np.nan
            if self.mask_above is not None:
                data[~(data <= self.mask_above)] = np.nan
            if self.mask_below is not None:
                data[~(data >= self.mask_below)] = np.nan
        if self._converted:
            k, b = self.units
            data *= k
            data += b
        return data

    def decode(self, rawvals: np.ndarray, invalid: np.ndarray | None = None) -> np.ndarray:
        """Decode all stored values to float32, a block of :data:`DECODE_BLOCK` at a time.

        Parameters
        ----------
        rawvals
            Stored values, any shape.
        invalid
            Extra mask of rawvals' shape (True: missing), e.g. from :func:`flag_invalid`.

        Returns
        -------
        numpy.ndarray
            float32 array of rawvals' shape, NaN where missing.
        """
        if invalid is not None and invalid.shape != rawvals.shape:
            raise ValueError(f"mask of shape {invalid.shape} for values of {rawvals.shape}")
        flat = np.ravel(rawvals)
        mask = None if invalid is None else np.ravel(invalid)
        out = np.empty(flat.shape, dtype="float32")
        for start in range(0, flat.size, DECODE_BLOCK):
            block = slice(start, start + DECODE_BLOCK)
            out[block] = self(flat[block], None if mask is None else mask[block])
        return out.reshape(rawvals.shape)
