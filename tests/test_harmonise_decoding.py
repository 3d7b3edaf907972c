"""The one decoding kernel: hand-computed cases, and the real samples of every kind of variable.

Packed, recoded and flag-masked variables all decode through
:class:`spaceclimate.harmonise.decoding.Decoding`; these tests pin its steps to values worked
out by hand (binary-exact numbers, so float rounding cannot hide a wrong order of steps) and
check the general path's decoding of the recoded and flag-masked samples against
independent calculations and against the kernel the fast path calls.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr

from spaceclimate.ecv import get_variable, match_recipe
from spaceclimate.ecv.models import FlagMaskSpec, VariableSpec
from spaceclimate.errors import InputError
from spaceclimate.harmonise.decoding import DECODE_BLOCK, Decoding, flag_invalid
from spaceclimate.harmonise.variables import (
    decode_packed,
    decode_variable,
    flag_mask,
    plan,
    unit_conversion,
)
from spaceclimate.readers import open_dataset

NAN = np.nan


def _decode(
    raw: np.ndarray,
    attrs: dict[str, Any],
    units: tuple[float, float] = (1.0, 0.0),
    invalid: np.ndarray | None = None,
    **spec: Any,
) -> np.ndarray:
    """Decode stored values as a recipe variable with *spec* and the file's *attrs*."""
    variable = VariableSpec(source="v", **spec)
    return plan(variable, attrs, raw.dtype, "f.nc", units, "v").decode(raw, invalid)


def _same(got: np.ndarray, want: list[float]) -> None:
    """float32, and equal to the last bit with NaN where *want* has NaN."""
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, np.asarray(want, dtype="float32"))


def test_packed_fill_flag_stored_range_scale_and_units() -> None:
    raw = np.array([-32768, 0, 4, 7, 2000, 2001, -1, 6], dtype="int16")
    attrs = {
        "_FillValue": np.int16(-32768),
        "flag_values": np.array([7], dtype="int16"),
        "valid_range": np.array([0, 2000], dtype="int16"),  # stored type: stored values
        "scale_factor": 0.5,
        "add_offset": 10.0,
    }
    # kept values: (raw * 0.5 + 10) * 2 + 1 = raw + 21
    got = _decode(raw, attrs, units=(2.0, 1.0), mask_flag_values=True)
    _same(got, [NAN, 21, 25, NAN, 2021, NAN, NAN, 27])
    # without mask_flag_values the flag value 7 is an ordinary value
    _same(_decode(raw, attrs, units=(2.0, 1.0))[3:4], [28])


def test_valid_range_in_decoded_units_applies_after_packing() -> None:
    raw = np.array([0, 10, 20, 30], dtype="int16")
    decoded_range = {"scale_factor": 0.5, "valid_min": 4.0, "valid_max": 12.5}
    _same(_decode(raw, decoded_range), [NAN, 5, 10, NAN])  # 0, 5, 10, 15 tested
    stored_range = {"scale_factor": 0.5, "valid_range": np.array([4, 12], dtype="int16")}
    _same(_decode(raw, stored_range), [NAN, 5, NAN, NAN])  # 0, 10, 20, 30 tested


def test_recipe_overrides_fills_and_thresholds() -> None:
    raw = np.array([-3.0, -1.0, 0.0, 2.0, 5.0, 1e36, -999.0, NAN], dtype="float32")
    attrs = {"_FillValue": np.float32(NAN), "scale_factor": 100.0}
    got = _decode(
        raw,
        attrs,
        scale_factor=2.0,  # the recipe's packing wins over the file's
        add_offset=1.0,
        fill_values=[-999.0],
        mask_above=1e30,
        mask_below=-2.0,
    )
    # decoded: -5, -1, 1, 5, 11, 2e36, fill, NaN; thresholds apply to decoded values
    _same(got, [NAN, -1, 1, 5, 11, NAN, NAN, NAN])


def test_recode_ignores_packing_and_stored_range() -> None:
    raw = np.array([200, 25, 50, 255, 200, 1, 3], dtype="uint8")
    attrs = {
        "_FillValue": np.uint8(255),
        "flag_values": np.array([1], dtype="uint8"),
        "valid_range": np.array([0, 100], dtype="uint8"),  # would mask class 200
        "scale_factor": 0.01,  # would scale the classes
    }
    table = {200.0: 1.0, 25.0: 0.0, 50.0: None, 1.0: 0.5, 255.0: 7.0}
    got = _decode(raw, attrs, units=(2.0, 0.0), recode=table, mask_flag_values=True)
    # 50 -> None and unlisted 3 are missing; 255 is a fill and 1 a flag value before recoding
    _same(got, [2, 0, NAN, NAN, 2, NAN, NAN])
    thresholded = _decode(raw, attrs, recode=table, mask_above=0.75, mask_flag_values=True)
    _same(thresholded, [NAN, 0, NAN, NAN, NAN, NAN, NAN])


def test_flag_test_set_unset_and_missing_flags() -> None:
    high = float(2**31)
    flags = np.array([NAN, 0.0, high, high + 1, 1.0, 3.0])
    np.testing.assert_array_equal(
        flag_invalid(flags, 2**31, "set"), [True, True, False, False, True, True]
    )
    np.testing.assert_array_equal(
        flag_invalid(flags, 2**31, "unset"), [False, False, True, True, False, False]
    )
    ints = np.array([0, 2**31, 5, 4], dtype="uint32")
    np.testing.assert_array_equal(flag_invalid(ints, 4, "set"), [True, True, False, False])
    np.testing.assert_array_equal(flag_invalid(ints, 6, "unset"), [False, False, True, True])


def test_recoded_and_flag_masked_values_share_one_kernel_call() -> None:
    """A quality-flag mask joins the stored-value masks, for packed and recoded values alike."""
    raw = np.array([200, 25, 200, 25, 9], dtype="uint8")
    failed = flag_invalid(np.array([1.0, NAN, 0.0, 3.0, 1.0]), 1, "set")
    recoded = Decoding(recode=[(200.0, 1.0), (25.0, 0.0)]).decode(raw, failed)
    _same(recoded, [1, NAN, NAN, 0, NAN])
    packed = Decoding(scale=0.5, offset=-4.0).decode(raw, failed)
    _same(packed, [96, NAN, NAN, 8.5, 0.5])
    with pytest.raises(ValueError, match="mask of shape"):
        Decoding().decode(raw, failed[:3])


def test_blocks_join_seamlessly() -> None:
    """Values beyond one block (with a mask and a shape) decode as one whole-array formula."""
    n = 3 * DECODE_BLOCK + 6
    raw = (np.arange(n) % 30000).astype("int16").reshape(6, -1)
    failed = (np.arange(n) % 7 == 0).reshape(raw.shape)
    attrs = {"_FillValue": np.int16(29999), "scale_factor": 0.25, "add_offset": -3.0}
    got = _decode(raw, attrs, units=(4.0, 0.0), invalid=failed)
    want = np.where(failed | (raw == 29999), np.nan, raw.astype("float64") - 12.0)
    assert got.shape == raw.shape
    np.testing.assert_array_equal(got, want.astype("float32"))


def test_missing_flag_values_and_flag_mask_are_refused() -> None:
    raw = np.array([1, 2], dtype="int16")
    with pytest.raises(InputError, match="declares no flag_values"):
        _decode(raw, {}, mask_flag_values=True)
    spec = VariableSpec(source="v", valid_if_flag={"variable": "q", "mask": 1})
    with pytest.raises(InputError, match="flag variable"):
        decode_packed(raw, spec, {}, "f.nc", (1.0, 0.0), "v")


def _small_cube(flag: xr.DataArray) -> xr.Dataset:
    values = np.arange(12, dtype="float32").reshape(2, 2, 3)
    coords = {"time": [0.0, 1.0], "lat": [10.0, 20.0], "lon": [1.0, 2.0, 3.0]}
    return xr.Dataset(
        {"v": (("time", "lat", "lon"), values, {"units": "1"}), "q": flag}, coords=coords
    )


def test_flag_mask_broadcast_to_the_variable() -> None:
    """A (lon, lat) flag map masks every time step of a (time, lat, lon) variable."""
    flag = xr.DataArray(
        [[1.0, 0.0], [NAN, 1.0], [3.0, 2.0]],
        dims=("lon", "lat"),
        coords={"lon": [1.0, 2.0, 3.0], "lat": [10.0, 20.0]},
    )
    raw = _small_cube(flag)
    spec = VariableSpec(source="v", valid_if_flag={"variable": "q", "mask": 1})
    # (lat, lon) pass: (10, 1), (10, 3), (20, 2) -> flat 0, 2, 4 of each step
    step = [False, True, False, True, False, True]
    want = np.array(step + step).reshape(2, 2, 3)
    np.testing.assert_array_equal(flag_mask(raw, raw["v"], spec, "f.nc"), want)
    got = decode_variable(raw, "snow_cover", spec, get_variable("snow_cover"), "f.nc")
    assert got.dims == ("time", "lat", "lon")
    _same(got.values.ravel(), [0, NAN, 2, NAN, 4, NAN, 6, NAN, 8, NAN, 10, NAN])


def test_flag_with_more_dimensions_is_refused() -> None:
    """A flag map per band cannot mask a variable without bands."""
    flag = xr.DataArray(np.ones((2, 2, 3)), dims=("band", "lat", "lon"))
    raw = _small_cube(flag).isel(time=0, drop=True)
    spec = VariableSpec(source="v", valid_if_flag={"variable": "q", "mask": 1})
    with pytest.raises(
        InputError, match=r"f\.nc: flag variable 'q' has dimensions 'v' lacks: band"
    ):
        decode_variable(raw, "snow_cover", spec, get_variable("snow_cover"), "f.nc")
    missing = VariableSpec(source="v", valid_if_flag={"variable": "nope", "mask": 1})
    with pytest.raises(InputError, match="'nope' not found"):
        decode_variable(raw, "snow_cover", missing, get_variable("snow_cover"), "f.nc")


def _sample_variable(path: Path, name: str) -> tuple[xr.Dataset, VariableSpec, xr.DataArray]:
    recipe = match_recipe(path)
    raw = open_dataset(path, reader=recipe.reader, **recipe.reader_options)
    spec = recipe.variables[name]
    got = decode_variable(raw, name, spec, get_variable(name), path.name)
    return raw, spec, got


def test_recoded_sample_through_the_kernel(samples: Path) -> None:
    """MODIS snow classes: 200 snow -> 1, 25 no snow -> 0, every other class missing."""
    path = samples / "snow" / "snow_modis_mod10a2_h09v05_2022033_max_snow_extent_cog.tif"
    raw, spec, got = _sample_variable(path, "snow_cover")
    classes = np.asarray(raw["Maximum_Snow_Extent"].values)
    want = np.where(classes == 200, 1.0, np.where(classes == 25, 0.0, np.nan))
    assert {0.0, 1.0} <= set(np.unique(want[np.isfinite(want)]))
    assert np.isnan(want).any()  # other classes exist in the tile
    np.testing.assert_array_equal(got.values, want.astype("float32"))
    units = unit_conversion(
        "Maximum_Snow_Extent",
        dict(raw["Maximum_Snow_Extent"].attrs),
        spec,
        get_variable("snow_cover"),
        path.name,
    )[1]
    direct = decode_packed(
        classes,
        spec,
        dict(raw["Maximum_Snow_Extent"].attrs),
        path.name,
        units,
        "Maximum_Snow_Extent",
    )
    np.testing.assert_array_equal(direct, got.values)


def test_flag_masked_sample_through_the_kernel(samples: Path) -> None:
    """OLCI C2RCC: the recipe keeps values whose c2rcc_flags has bit 31 (Valid_PE) set.

    On this sample every value with Valid_PE unset is already missing, so a second test
    on the same real flags keeps only values with bit 3 (Cloud_risk) unset, which masks many.
    """
    path = samples / "ocean_colour" / "chl_olci_c2rcc_cube_southern_north_sea_201701.zarr"
    recipe = match_recipe(path)
    full = open_dataset(path, reader=recipe.reader, **recipe.reader_options)
    try:  # the first scene (the richest in valid values), read once
        names = ["c2rcc_flags", "conc_chl", "conc_tsm", "kd489"]
        raw = full[names].isel(time=[0]).load()
        flags = np.asarray(raw["c2rcc_flags"].values)
        assert np.isnan(flags).any()  # missing flags: no bit set
        bits = np.nan_to_num(flags, nan=0.0).astype("int64")
        tested: dict[tuple[str, int, str], np.ndarray] = {}
        for name in ("chl", "tsm", "kd489"):
            spec = recipe.variables[name]
            assert isinstance(spec.source, str)
            source = raw[spec.source]
            values = np.asarray(source.values)
            attrs = dict(source.attrs)
            target = get_variable(name)
            assert unit_conversion(spec.source, attrs, spec, target, path.name)[1] == (1.0, 0.0)
            cloud_free = spec.model_copy(
                update={
                    "valid_if_flag": FlagMaskSpec(
                        variable="c2rcc_flags", mask=8, valid_when="unset"
                    )
                }
            )
            for variant, keep in ((spec, (bits >> 31) & 1 == 1), (cloud_free, bits & 8 == 0)):
                want = np.where(keep, values, np.nan).astype("float32")
                got = decode_variable(raw, name, variant, target, path.name, tested)
                np.testing.assert_array_equal(got.values, want)
                assert variant.valid_if_flag is not None
                failed = flag_invalid(
                    flags, variant.valid_if_flag.mask, variant.valid_if_flag.valid_when
                )
                direct = decode_packed(values, variant, attrs, path.name, (1.0, 0.0), name, failed)
                np.testing.assert_array_equal(direct, got.values)
            cloudy = np.isfinite(values) & (bits & 8 != 0)
            assert cloudy.sum() > 10_000  # the second test really masks values
        assert len(tested) == 2  # three variables, two distinct flag tests, each read once
    finally:
        full.close()
