"""Agencies' CSV and text time series, laid out by reader options."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import xarray as xr

from spaceclimate.errors import CorruptFileError
from spaceclimate.readers._common import corrupt, head

SUFFIXES = {".csv", ".txt", ".tsv", ".dat"}


def _decimal_years(values: pd.Series) -> np.ndarray:
    years = np.floor(values.to_numpy(dtype="float64")).astype(int)
    frac = values.to_numpy(dtype="float64") - years
    out = []
    for y, f in zip(years, frac, strict=True):
        start = pd.Timestamp(year=int(y), month=1, day=1)
        length = pd.Timestamp(year=int(y) + 1, month=1, day=1) - start
        out.append(start + f * length)
    return pd.DatetimeIndex(out).round("s").values


def _times(frame: pd.DataFrame, spec: dict[str, Any], path: Path) -> tuple[np.ndarray, list[str]]:
    if "columns" in spec:
        cols = spec["columns"]
        used = [cols["year"], cols["month"]] + ([cols["day"]] if "day" in cols else [])
        parts = {
            "year": pd.to_numeric(frame[cols["year"]], errors="coerce"),
            "month": pd.to_numeric(frame[cols["month"]], errors="coerce"),
            "day": pd.to_numeric(frame[cols["day"]], errors="coerce") if "day" in cols else 1,
        }
        stamps = pd.to_datetime(pd.DataFrame(parts), errors="coerce")
    elif "column" in spec:
        # one column, or several joined with spaces (a date and a time of day)
        used = [spec["column"]] if isinstance(spec["column"], str) else list(spec["column"])
        text = frame[used[0]].astype(str).str.strip()
        for column in used[1:]:
            text = text + " " + frame[column].astype(str).str.strip()
        stamps = pd.to_datetime(text, format=spec.get("format"), errors="coerce")
    elif "decimal_year" in spec:
        used = [spec["decimal_year"]]
        numbers = pd.to_numeric(frame[spec["decimal_year"]], errors="coerce")
        if numbers.isna().any():
            bad = int(np.flatnonzero(numbers.isna().to_numpy())[0])
            raise CorruptFileError(f"{path.name}: unparsable time in data row {bad + 1}")
        return _decimal_years(numbers), used
    else:
        raise CorruptFileError(f"{path.name}: the table's time layout is not described")
    if stamps.isna().any():
        bad = int(np.flatnonzero(stamps.isna().to_numpy())[0])
        raise CorruptFileError(f"{path.name}: unparsable time in data row {bad + 1}")
    return stamps.to_numpy(dtype="datetime64[ns]"), used


def _is_number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _resolve_duplicates(ds: xr.Dataset, how: str, path: Path) -> xr.Dataset:
    """Handle repeated timestamps: ``error`` refuses them, ``merge`` keeps the first value
    present in each column (agency tables sometimes pad gaps with rows of missing values)."""
    index = pd.DatetimeIndex(ds["time"].values)
    if not index.has_duplicates:
        return ds
    if how != "merge":
        first = index[index.duplicated()][0]
        raise CorruptFileError(f"{path.name}: time {first:%Y-%m-%d} appears more than once")
    frame = ds.to_dataframe()
    merged = frame.groupby(level="time", sort=False).first()
    return xr.Dataset.from_dataframe(merged).assign_attrs(ds.attrs)


class TableReader:
    """Read a delimited or whitespace-separated text table into a time-indexed dataset."""

    name: ClassVar[str] = "table"
    description: ClassVar[str] = "CSV and text time series (layout given by options)"

    def can_open(self, path: Path) -> bool:
        """Text files with a table suffix."""
        if not path.is_file() or path.suffix.lower() not in SUFFIXES:
            return False
        return b"\x00" not in head(path, 512)

    def open(self, path: Path, **options: Any) -> xr.Dataset:
        """Parse the table; see the recipe documentation for the options."""
        try:
            text = path.read_text(encoding="utf-8", errors="strict")
        except (OSError, UnicodeDecodeError) as exc:
            raise corrupt(path, "text table", exc) from exc
        lines = text.splitlines()
        comment = options.get("comment")
        if comment:
            lines = [ln for ln in lines if not ln.startswith(comment)]
        lines = lines[int(options.get("skip_rows", 0)) :]
        names = options.get("names")
        skip_after = int(options.get("skip_after_header", 0))
        if names is None and skip_after:
            lines = lines[:1] + lines[1 + skip_after :]
        lines = [ln for ln in lines if ln.strip()]
        if not lines:
            raise CorruptFileError(f"{path.name}: the table has no rows")
        delimiter = options.get("delimiter", ",")
        try:
            frame = pd.read_csv(
                io.StringIO("\n".join(lines)),
                sep=r"\s+" if delimiter is None else delimiter,
                header=None if names else 0,
                names=names,
                na_values=[str(v) for v in options.get("na_values", [])],
                skipinitialspace=True,
                engine="python",
                dtype=str,
            )
        except (ValueError, pd.errors.ParserError) as exc:
            raise corrupt(path, "text table", exc) from exc
        frame.columns = [str(c).strip() for c in frame.columns]
        if frame.empty:
            raise CorruptFileError(f"{path.name}: the table has no rows")
        times, used = _times(frame, options.get("time", {}), path)
        drop = set(used) | set(options.get("drop", []))
        data: dict[str, Any] = {}
        na_list = list(options.get("na_values", []))
        for column in frame.columns:
            if column in drop:
                continue
            cleaned = frame[column].astype(str).str.strip()
            values = pd.to_numeric(cleaned, errors="coerce")
            na = {str(v) for v in options.get("na_values", [])} | {"nan", "NaN", ""}
            unparsed = values.isna() & cleaned.notna() & ~cleaned.isin(na)
            if unparsed.all():
                continue  # a text column
            if unparsed.any():
                bad = int(np.flatnonzero(unparsed.to_numpy())[0])
                raise CorruptFileError(f"{path.name}: non-numeric {column!r} in data row {bad + 1}")
            numeric_na = [float(v) for v in na_list if _is_number(v)]
            array = values.to_numpy(dtype="float64", copy=True)
            if numeric_na:
                array[np.isin(array, numeric_na)] = np.nan
            data[column] = ("time", array)
        if options.get("layout") == "points":
            # one row a point (a detection, a sounding): a time of its own beside its values
            points = {name: ("point", values) for name, (_dim, values) in data.items()}
            ds = xr.Dataset({**points, "time": ("point", times)})
            ds.attrs["source_columns"] = ",".join(frame.columns)
            return ds
        ds = xr.Dataset(data, coords={"time": ("time", times)})
        ds = _resolve_duplicates(ds, options.get("duplicates", "error"), path)
        if options.get("sort", True):
            ds = ds.sortby("time")
        ds.attrs["source_columns"] = ",".join(frame.columns)
        return ds
