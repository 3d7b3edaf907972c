"""Reader conformance: what every reader plugin must do, on the real samples of its format.

The readers are found through the ``spaceclimate.readers`` entry points and each is paired
with every bundled sample that :func:`~spaceclimate.readers.guess_reader` gives it, so a new
plugin is held to :mod:`spaceclimate.readers.base`'s contract as soon as it is registered
(and fails here until a sample of its format is bundled). Damaged inputs are made from the
samples: cut short, replaced by random bytes, emptied.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr

from spaceclimate.ecv import match_recipe, match_recipes
from spaceclimate.errors import CorruptFileError
from spaceclimate.readers import Reader, guess_reader, list_readers

from .conftest import SAMPLES
from .reader_oracles import DECLARED, same_value

#: Attributes CF decoding would move from a variable's attributes to its encoding.
CF_DECODING_KEYS = ("scale_factor", "add_offset", "_FillValue", "missing_value", "units")


def _bundled() -> list[Path]:
    """Every sample: the files and stores in the ECV folders (not the attribution notes)."""
    return sorted(
        entry
        for folder in SAMPLES.iterdir()
        if folder.is_dir()
        for entry in folder.iterdir()
        if entry.suffix != ".md"
    )


def _claims() -> dict[str, list[Path]]:
    """The samples each registered reader is picked for (none: the list is empty)."""
    claims: dict[str, list[Path]] = {name: [] for name in list_readers()}
    for path in _bundled():
        try:
            claims[guess_reader(path).name].append(path)
        except CorruptFileError:
            pass  # a sample no reader knows: test_cases_cover_every_reader_and_sample says so
    return claims


CLAIMS = _claims()
CASES = [(name, path) for name, paths in sorted(CLAIMS.items()) for path in paths or [None]]


@dataclass
class Case:
    """A reader and one real sample of its format, with the sample's recipe options."""

    name: str
    reader: Reader
    sample: Path
    options: dict[str, Any] = field(default_factory=dict)
    units_from_file: list[str] = field(default_factory=list)  # sources whose units it declares


@pytest.fixture(params=CASES, ids=[f"{n}:{p.name if p else 'no sample'}" for n, p in CASES])
def case(request: pytest.FixtureRequest) -> Case:
    """Each registered reader with each of its samples; a reader without one fails."""
    name, sample = request.param
    if sample is None:
        pytest.fail(f"reader {name!r} has no bundled sample in data/samples it is guessed for")
    recipe = match_recipes(sample)[0]  # recipes sharing a file read it alike
    ours = recipe.reader == name
    return Case(
        name=name,
        reader=list_readers()[name],
        sample=sample,
        options=dict(recipe.reader_options) if ours else {},
        units_from_file=[
            spec.source
            for spec in recipe.variables.values()
            if ours and isinstance(spec.source, str) and spec.units is None
        ],
    )


def _open_files_under(root: Path) -> list[str]:
    """This process's open file descriptors on *root* or anything inside it."""
    top = str(root.resolve())
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target == top or target.startswith(top + os.sep):
            found.append(target)
    return found


def _files(sample: Path) -> list[Path]:
    return [sample] if sample.is_file() else sorted(p for p in sample.rglob("*") if p.is_file())


def _damaged_copy(sample: Path, folder: Path, damage: Callable[[bytes], bytes]) -> Path:
    """A copy of *sample* under the same name, each of its files passed through *damage*."""
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / sample.name
    for source in _files(sample):
        target = copy if sample.is_file() else copy / source.relative_to(sample)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(damage(source.read_bytes()))
    return copy


def _random_bytes(data: bytes) -> bytes:
    """4 KiB of reproducible noise (with a NUL byte, as binary data has) instead of *data*."""
    noise = bytearray(np.random.default_rng(zlib.crc32(data)).bytes(4096))
    noise[100] = 0
    return bytes(noise)


def _is_text(sample: Path) -> bool:
    """A single file without NUL bytes: a text format, which a cut at a line end leaves valid."""
    return sample.is_file() and b"\x00" not in sample.read_bytes()


def _refused(case: Case, path: Path) -> CorruptFileError:
    """Open *path* with the case's reader and return the CorruptFileError it must raise."""
    with pytest.raises(CorruptFileError) as raised:
        case.reader.open(path, **case.options).close()
    message = str(raised.value)
    assert path.name in message, message
    assert "\n" not in message
    return raised.value


def _values(ds: xr.Dataset) -> int:
    return sum(int(var.size) for var in ds.data_vars.values())


class ReaderSuite:
    """The contract of :class:`spaceclimate.readers.base.Reader`, for one reader and sample.

    Subclass it with another ``case`` fixture to run it on other readers or samples.
    """

    __test__ = True

    def test_declares_its_metadata(self, case: Case) -> None:
        """The ClassVars the protocol declares, on the class; the registered name is its own."""
        assert isinstance(case.reader, Reader)
        cls = type(case.reader)
        required = [
            attr
            for attr, hint in Reader.__annotations__.items()
            if str(hint).startswith("ClassVar")
        ]
        assert {"name", "description"} <= set(required)
        for attr in required:
            value = getattr(cls, attr, None)
            assert isinstance(value, str) and value.strip(), f"{cls.__name__}.{attr}: {value!r}"
        assert cls.name == case.name
        assert callable(case.reader.can_open) and callable(case.reader.open)

    def test_claims_its_sample(self, case: Case) -> None:
        assert case.reader.can_open(case.sample)
        assert type(guess_reader(case.sample)) is type(case.reader)

    def test_refuses_other_formats(self, case: Case) -> None:
        others = [p for name, paths in CLAIMS.items() if name != case.name for p in paths]
        assert others, "no sample of another format to try"
        claimed = [p.name for p in others if case.reader.can_open(p)]
        assert not claimed, f"{case.name} claims files of other formats: {claimed}"

    def test_refuses_random_bytes(self, case: Case, tmp_path: Path) -> None:
        noise = tmp_path / case.sample.name
        noise.write_bytes(_random_bytes(case.sample.name.encode()))
        assert not case.reader.can_open(noise)
        _refused(case, noise)

    def test_opens_its_sample_with_attributes(self, case: Case) -> None:
        """A Dataset whose variables carry what the file declares (units included), as stored."""
        with case.reader.open(case.sample, **case.options) as ds:
            assert isinstance(ds, xr.Dataset)
            assert ds.data_vars, "no data variables"
            for source in case.units_from_file:  # the recipe relies on the file's units
                assert str(ds[source].attrs.get("units", "")).strip(), f"{source}: no units"
            oracle = DECLARED.get(case.name)
            declared = oracle(case.sample, case.options) if oracle else {}
            for name, var in ds.variables.items():
                attrs, dtype = declared.get(str(name), ({}, None))
                for key, value in attrs.items():
                    assert key in var.attrs, f"{name}: attribute {key!r} lost"
                    assert same_value(value, var.attrs[key]), (name, key, value, var.attrs[key])
                if dtype is not None:
                    assert var.dtype == dtype, f"{name}: {var.dtype}, stored as {dtype}"
            if oracle and oracle is not DECLARED["table"]:
                assert set(map(str, ds.data_vars)) & set(declared), "no declared variable read"

    def test_values_are_not_decoded(self, case: Case) -> None:
        """Packing, fills and time units stay attributes for harmonisation to apply."""
        with case.reader.open(case.sample, **case.options) as ds:
            for name, var in ds.variables.items():
                moved = [k for k in CF_DECODING_KEYS if k in var.encoding and k not in var.attrs]
                assert not moved, f"{name}: decoded ({moved} moved to the encoding)"
                if " since " in str(var.attrs.get("units", "")):
                    assert var.dtype.kind in "iuf", f"{name}: times decoded to {var.dtype}"

    def test_closing_releases_the_file(self, case: Case) -> None:
        """Closing the dataset (after reading from it) leaves no file of the sample open."""
        assert Path("/proc/self/fd").is_dir()
        before = _open_files_under(case.sample)
        for _ in range(2):
            ds = case.reader.open(case.sample, **case.options)
            for var in ds.variables.values():
                if var.size:
                    np.asarray(var[(0,) * var.ndim].values)
            ds.close()
        assert _open_files_under(case.sample) == before

    @pytest.mark.parametrize("keep", [64, 0.5], ids=["first-64-bytes", "first-half"])
    def test_truncated_copy_is_refused(self, case: Case, tmp_path: Path, keep: float) -> None:
        """A copy cut short raises CorruptFileError; a text table may read as a shorter one.

        (A text table cut at a line end is a valid table: only its length can tell.)
        """
        cut = _damaged_copy(
            case.sample, tmp_path, lambda data: data[: int(keep if keep >= 1 else len(data) * keep)]
        )
        if not _is_text(case.sample):
            _refused(case, cut)
            return
        try:
            shorter = case.reader.open(cut, **case.options)
        except CorruptFileError as exc:
            assert cut.name in str(exc) and "\n" not in str(exc)
            return
        with shorter, case.reader.open(case.sample, **case.options) as whole:
            assert 0 < _values(shorter) < _values(whole)

    def test_garbage_is_refused(self, case: Case, tmp_path: Path) -> None:
        """Random bytes in place of every file of the sample, an empty copy, a missing path."""
        _refused(case, _damaged_copy(case.sample, tmp_path / "noise", _random_bytes))
        _refused(case, _damaged_copy(case.sample, tmp_path / "empty", lambda data: b""))
        _refused(case, tmp_path / "missing" / case.sample.name)


def test_cases_cover_every_reader_and_sample() -> None:
    """The suite's cases follow the registered readers and the bundled samples."""
    assert {name for name, _ in CASES} == set(list_readers())
    claimed = [p for paths in CLAIMS.values() for p in paths]
    assert sorted(claimed) == _bundled(), "a sample no reader is guessed for"


def test_truncated_classic_netcdf_never_reads_as_zeros(tmp_path: Path) -> None:
    """The netCDF library reads a cut classic file's missing values as zeros: both ways of
    reading one (the reader and the fast path's raw read) refuse it instead."""
    from spaceclimate.harmonise import harmonise_file
    from spaceclimate.readers._classic import classic_size
    from spaceclimate.readers.netcdf import read_raw_variables

    classic = [p for p in CLAIMS["netcdf"] if p.read_bytes()[:3] == b"CDF"]
    assert len(classic) >= 4  # the OSTIA days and the Aquarius maps
    for path in classic:
        needed = classic_size(path)
        assert needed is not None and path.stat().st_size - 3 <= needed <= path.stat().st_size
    ostia = SAMPLES / "sst" / "sst_ostia_l4_anom_daily_20170605.nc"
    cut = tmp_path / ostia.name
    cut.write_bytes(ostia.read_bytes()[:-4096])  # the last rows of the last variable
    assert read_raw_variables(ostia, ["analysed_sst"]) is not None
    assert read_raw_variables(cut, ["analysed_sst"]) is None
    with pytest.raises(CorruptFileError, match=r"sst_ostia_l4_anom_daily_20170605\.nc.*truncated"):
        harmonise_file(cut, match_recipe(ostia))
