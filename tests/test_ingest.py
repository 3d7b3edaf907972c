"""Ingest end to end: publishing, versions, idempotence, atomicity and refusal of bad input."""

from __future__ import annotations

import json
import shutil
import signal
from pathlib import Path

import netCDF4
import numpy as np
import pytest
import xarray as xr

from spaceclimate.catalog import SearchQuery, open_catalog
from spaceclimate.config import Settings
from spaceclimate.ingest import Ingestor
from spaceclimate.store import open_store

from .hubutil import run_sco, snapshot
from .profile import (
    copy_hub,
    hub_settings,
    published_cubes,
    staged_leftovers,
    store_objects,
    tamper_with_a_chunk,
)
from .sourcedata import BUNDLED_COLLECTIONS

OSTIA = "sst/sst_ostia_l4_anom_daily_2017060{}.nc"


def _settings(home: Path) -> Settings:
    return hub_settings(home)  # Settings(home=home), or the scale profile's engines


def _ingest(home: Path, *paths: Path, recipe: str | None = None):  # type: ignore[no-untyped-def]
    ingestor = Ingestor(_settings(home))
    try:
        return ingestor.ingest(list(paths), recipe)
    finally:
        ingestor.close()


@pytest.fixture(scope="module")
def full_hub(hub_home: Path) -> Path:
    """A hub with every bundled sample ingested: the session's shared hub.

    It is made by the same ingest these tests are about (``Ingestor(...).ingest([samples])``,
    every result published, asserted where it is made), on the profile's engines; these tests
    only read it, so building a second one for this module would repeat that work.
    """
    return hub_home


def test_all_samples_published(full_hub: Path, samples: Path) -> None:
    cat = open_catalog(_settings(full_hub).resolved_catalog_url)
    try:
        cols = {c["id"]: c for c in cat.list_collections()}
    finally:
        cat.close()
    assert len(cols) == BUNDLED_COLLECTIONS
    assert len({a for c in cols.values() for a in c["sco:agencies"]}) >= 6
    assert len({c["sco:ecv"] for c in cols.values()}) >= 10
    ostia = cols["ukmo-ostia-sst-daily"]
    assert ostia["extent"]["temporal"]["interval"][0][0].startswith("2017-06-05")
    assert ostia["cube:dimensions"]["time"]["type"] == "temporal"
    assert ostia["cube:variables"]["sst"]["unit"] == "K"
    assert ostia["assets"]["zarr"]["type"] == "application/vnd+zarr"
    assert "UK Met Office" in ostia["keywords"] and "sea_surface_temperature" in ostia["keywords"]
    assert cols["nsidc-seaice-cdr-nh-monthly"]["sci:doi"] == "10.7265/efmz-2t65"
    assert cols["nsidc-seaice-cdr-nh-monthly"]["cube:dimensions"]["x"]["reference_system"] == 3411


def test_cube_is_zarr_v3_and_equals_harmonised(full_hub: Path, samples: Path) -> None:
    settings = _settings(full_hub)
    cat = open_catalog(settings.resolved_catalog_url)
    try:
        col = cat.get_collection("ukmo-ostia-sst-daily")
    finally:
        cat.close()
    cube_path = open_store(settings).path(col["assets"]["zarr"]["href"])
    meta = json.loads((cube_path / "zarr.json").read_text())
    assert meta["zarr_format"] == 3
    ds = xr.open_zarr(cube_path)
    assert ds.sizes["time"] == 3 and ds["sst"].encoding["chunks"] == (3, 256, 256)
    raw_path = samples / OSTIA.format(7)
    with netCDF4.Dataset(raw_path) as nc:
        var = nc.variables["analysed_sst"]
        var.set_auto_maskandscale(False)
        raw = np.asarray(var[0, 400, 880], dtype="float64")  # lat 10.125, lon 220.125
    got = float(ds["sst"].isel(time=2).sel(lat=10.125, lon=-139.875, method="nearest"))
    assert got == pytest.approx(raw * 0.01 + 273.15, abs=1e-4)
    assert "ACDD-1.3" in ds.attrs["Conventions"]
    prov = json.loads(ds.attrs["provenance"])
    assert sorted(s["name"] for s in prov["sources"]) == [
        Path(OSTIA.format(d)).name for d in (5, 6, 7)
    ]


def test_search_by_bbox_time_ecv_agency_text(full_hub: Path) -> None:
    cat = open_catalog(_settings(full_hub).resolved_catalog_url)
    try:
        arctic = cat.search(
            SearchQuery(bbox=(-30, 70, 30, 85), start=None, end=None, ecv="sea_ice", limit=100)
        )
        ids = {f["collection"] for f in arctic.features}
        assert "nsidc-seaice-cdr-nh-monthly" in ids and "nsidc-seaice-cdr-sh-monthly" not in ids
        from datetime import UTC, datetime

        june = cat.search(
            SearchQuery(
                start=datetime(2017, 6, 6, tzinfo=UTC),
                end=datetime(2017, 6, 6, 23, tzinfo=UTC),
                limit=100,
            )
        )
        assert {f["id"] for f in june.features if f["collection"] == "ukmo-ostia-sst-daily"} == {
            "sst_ostia_l4_anom_daily_20170606"
        }
        esa = cat.search_collections(SearchQuery(agency="ESA", limit=100))
        assert {f["id"] for f in esa.features} >= {"esa-cci-sm-combined", "esa-cci-ozone-tc"}
        assert "noaa-ersst-v5" not in {f["id"] for f in esa.features}
        text = cat.search_collections(SearchQuery(q="salinity", limit=100))
        assert {f["id"] for f in text.features} == {
            "nasa-aquarius-cap-sss-monthly-v3",
            "nasa-aquarius-cap-sss-7day-v2",
        }
    finally:
        cat.close()


def test_ingest_twice_is_a_noop(tmp_path: Path, samples: Path) -> None:
    files = [samples / OSTIA.format(d) for d in (5, 6)]
    first = _ingest(tmp_path, *files)
    assert [r.status for r in first] == ["published"]
    before = snapshot(tmp_path)
    again = _ingest(tmp_path, *files)
    assert [r.status for r in again] == ["unchanged"] and again[0].version == 1
    assert snapshot(tmp_path) == before


def test_new_files_make_a_new_version_and_old_versions_stay(tmp_path: Path, samples: Path) -> None:
    _ingest(tmp_path, samples / OSTIA.format(5))
    settings = _settings(tmp_path)
    cat = open_catalog(settings.resolved_catalog_url)
    v1 = cat.latest_version("ukmo-ostia-sst-daily")
    assert v1 is not None
    store = open_store(settings)
    v1_files = store_objects(store.path(v1.cube_href))
    result = _ingest(tmp_path, samples / OSTIA.format(6), samples / OSTIA.format(7))
    assert result[0].version == 2 and result[0].status == "published"
    v2 = cat.latest_version("ukmo-ostia-sst-daily")
    assert v2 is not None and v2.cube_href != v1.cube_href and len(v2.sources) == 3
    assert store_objects(store.path(v1.cube_href)) == v1_files  # versions never change
    ds = xr.open_zarr(store.path(v2.cube_href))
    assert [str(t)[:10] for t in ds.time.values] == ["2017-06-05", "2017-06-06", "2017-06-07"]
    items = cat.list_items("ukmo-ostia-sst-daily", limit=10, offset=0)
    assert items.matched == 3
    cat.close()


@pytest.fixture(scope="module")
def one_day_template(tmp_path_factory: pytest.TempPathFactory, samples: Path) -> Path:
    """A hub where ``sco ingest`` published the first OSTIA day as v1 (made once for the module).

    The crash tests start from a private copy of it (:func:`one_day_hub`): the same state as
    running that first ingest again in each test, which would repeat identical work.
    """
    home = tmp_path_factory.mktemp("one-day")
    done = run_sco(home, "ingest", "-q", str(samples / OSTIA.format(5)))
    assert done.returncode == 0, done.stderr
    assert "ZarrUserWarning" not in done.stderr  # the hub's own messages are not buried
    assert "v1" in done.stdout
    return home


@pytest.fixture()
def one_day_hub(one_day_template: Path, tmp_path: Path) -> Path:
    """A private copy of :func:`one_day_template`, its store objects included."""
    home = tmp_path / "hub"
    copy_hub(one_day_template, home, own_store=True)
    return home


@pytest.mark.parametrize("stage", ["harmonised", "written"])
def test_killed_ingest_leaves_previous_state(one_day_hub: Path, samples: Path, stage: str) -> None:
    home = one_day_hub
    before = snapshot(home)
    killed = run_sco(
        home, "ingest", "-q", str(samples / OSTIA.format(6)), env={"SCO_CRASH_AT": stage}
    )
    assert killed.returncode == -signal.SIGKILL
    assert snapshot(home) == before  # nothing visible changed
    listing = run_sco(home, "catalog", "show", "ukmo-ostia-sst-daily")
    assert "v1" in listing.stdout and "v2" not in listing.stdout
    retry = run_sco(home, "ingest", "-q", str(samples / OSTIA.format(6)))
    assert retry.returncode == 0, retry.stderr
    assert "v2" in retry.stdout
    assert not staged_leftovers(home)  # leftovers cleaned up
    cubes = published_cubes(home, "ukmo-ostia-sst-daily")
    assert len(cubes) == 2  # v1 and v2 only: the crashed run's cube was removed
    verify = run_sco(home, "verify")
    assert verify.returncode == 0, verify.stderr


@pytest.mark.parametrize("stage", ["committed", "promoted"])
def test_ingest_killed_after_commit_keeps_new_version(
    one_day_hub: Path, samples: Path, stage: str
) -> None:
    """Once the catalog commit happened the new version stands, readable and intact."""
    home = one_day_hub
    killed = run_sco(
        home, "ingest", "-q", str(samples / OSTIA.format(6)), env={"SCO_CRASH_AT": stage}
    )
    assert killed.returncode == -signal.SIGKILL
    verify = run_sco(home, "verify")  # readable even before the rename is finished
    assert verify.returncode == 0 and "2 cube version" in verify.stdout, verify.stderr
    settings = _settings(home)
    cat = open_catalog(settings.resolved_catalog_url)
    try:
        v2 = cat.latest_version("ukmo-ostia-sst-daily")
    finally:
        cat.close()
    assert v2 is not None and v2.version == 2
    again = run_sco(home, "ingest", "-q", str(samples / OSTIA.format(6)))
    assert again.returncode == 0 and "unchanged" in again.stdout, again.stderr
    assert not staged_leftovers(home)  # rename finished (or the local copy dropped)
    cube = open_store(settings).path(v2.cube_href)
    assert (cube / "zarr.json").is_file()
    ds = xr.open_zarr(cube)
    assert ds.sizes["time"] == 2


def _assert_refused(home: Path, path: Path, *reason: str, recipe: str | None = None) -> None:
    before = snapshot(home)
    args = ["ingest", "-q", str(path)] + (["--recipe", recipe] if recipe else [])
    proc = run_sco(home, *args)
    assert proc.returncode == 2, proc.stderr
    message = proc.stderr.strip()
    assert len(message.splitlines()) == 1, message
    assert path.name in message
    for word in reason:
        assert word in message.lower(), message
    assert snapshot(home) == before


@pytest.fixture(scope="module")
def small_template(tmp_path_factory: pytest.TempPathFactory, samples: Path) -> Path:
    """A hub holding one small collection (ingested once for the module)."""
    home = tmp_path_factory.mktemp("small")
    results = _ingest(home, samples / "sea_level" / "mss_cnes_cls_v2_quarterdeg.nc")
    assert [r.status for r in results] == ["published"]
    return home


@pytest.fixture()
def small_hub(small_template: Path, tmp_path: Path) -> Path:
    """A private copy of :func:`small_template` for a test that must leave it unchanged."""
    home = tmp_path / "hub"
    copy_hub(small_template, home)
    return home


def test_truncated_file_refused(small_hub: Path, tmp_path: Path, samples: Path) -> None:
    src = samples / "counterparts" / "ersst_v5_monthly_2010-2020_insitu.nc"
    bad = tmp_path / src.name
    bad.write_bytes(src.read_bytes()[: src.stat().st_size // 2])
    _assert_refused(small_hub, bad)


def test_corrupt_file_refused(small_hub: Path, tmp_path: Path) -> None:
    bad = tmp_path / "sst_ostia_l4_anom_daily_20170608.nc"
    bad.write_bytes(np.random.default_rng(0).bytes(50_000))
    _assert_refused(small_hub, bad)


def test_file_without_recipe_refused(small_hub: Path, tmp_path: Path, samples: Path) -> None:
    bad = tmp_path / "mystery_product.nc"
    shutil.copy(samples / "counterparts" / "ersst_v5_monthly_2010-2020_insitu.nc", bad)
    _assert_refused(small_hub, bad, "no recipe")


def test_unconvertible_unit_refused(small_hub: Path, tmp_path: Path, samples: Path) -> None:
    src = samples / "counterparts" / "ersst_v5_monthly_2010-2020_insitu.nc"
    bad = tmp_path / src.name
    with xr.open_dataset(src, decode_times=False, mask_and_scale=False) as ds:
        ds = ds.load()
    ds["sst"].attrs["units"] = "m s-1"
    ds.to_netcdf(bad)
    _assert_refused(small_hub, bad, "convert")


def test_wrong_scale_refused(small_hub: Path, tmp_path: Path, samples: Path) -> None:
    src = samples / "counterparts" / "ersst_v5_monthly_2010-2020_insitu.nc"
    bad = tmp_path / src.name
    with xr.open_dataset(src, decode_times=False, mask_and_scale=False) as ds:
        ds = ds.load()
    ds["sst"].attrs["units"] = "K"  # really degC: values ~0..30 K are implausible for SST
    ds.to_netcdf(bad)
    _assert_refused(small_hub, bad, "valid range")


def test_non_monotonic_coordinate_refused(small_hub: Path, tmp_path: Path, samples: Path) -> None:
    src = samples / "counterparts" / "ersst_v5_monthly_2010-2020_insitu.nc"
    bad = tmp_path / src.name
    with xr.open_dataset(src, decode_times=False, mask_and_scale=False) as ds:
        ds = ds.load()
    order = np.arange(ds.sizes["lat"])
    order[[10, 11]] = order[[11, 10]]
    ds.isel(lat=order).to_netcdf(bad)
    _assert_refused(small_hub, bad, "monotonic")


def test_bad_file_among_good_ones_changes_nothing(
    small_hub: Path, tmp_path: Path, samples: Path
) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copy(samples / OSTIA.format(5), folder)
    src = samples / "soil_moisture" / "sm_esacci_combined_v02.2_20000101.nc"
    (folder / src.name).write_bytes(src.read_bytes()[:1000])
    before = snapshot(small_hub)
    proc = run_sco(small_hub, "ingest", "-q", str(folder))
    assert proc.returncode == 2 and src.name in proc.stderr
    assert snapshot(small_hub) == before


def test_verify_reports_tampering(tmp_path: Path, samples: Path) -> None:
    _ingest(tmp_path, samples / "ozone" / "o3_esacci_total_column_merged_200505_subset.nc")
    ok = run_sco(tmp_path, "verify")
    assert ok.returncode == 0 and "1 cube version" in ok.stdout
    tamper_with_a_chunk(tmp_path)
    bad = run_sco(tmp_path, "verify")
    assert bad.returncode == 4
    assert "checksum differs" in bad.stderr


def test_cli_catalog_json(full_hub: Path) -> None:
    listing = run_sco(full_hub, "catalog", "list", "--json")
    assert listing.returncode == 0, listing.stderr
    cols = json.loads(listing.stdout)["collections"]
    assert len(cols) == BUNDLED_COLLECTIONS
    search = run_sco(
        full_hub,
        "catalog",
        "search",
        "--ecv",
        "sea_ice",
        "--datetime",
        "2021-12-01/2021-12-31",
        "--json",
    )
    assert search.returncode == 0, search.stderr
    found = {f["collection"] for f in json.loads(search.stdout)["features"]}
    assert found == {
        "nsidc-seaice-cdr-nh-monthly",
        "nsidc-seaice-cdr-sh-monthly",
        "nsidc-seaice-cdr-nh-daily",
        "nsidc-sea-ice-index-north",  # daily extent series 1978-10 .. 2022-03
        "nsidc-sea-ice-index-south",
    }
    show = run_sco(full_hub, "catalog", "show", "noaa-ersst-v5")
    assert show.returncode == 0 and "10.7289/V5T72FNM" in show.stdout
    human = run_sco(full_hub, "catalog", "list")
    assert "nsidc-sea-ice-index-north" in human.stdout and "1978-10-26" in human.stdout
    missing = run_sco(full_hub, "catalog", "show", "no-such-collection")
    assert missing.returncode == 2 and len(missing.stderr.strip().splitlines()) == 1
    badbbox = run_sco(full_hub, "catalog", "search", "--bbox", "1,2,3")
    assert badbbox.returncode == 2 and "--bbox" in badbbox.stderr


def _arrays(cube: Path) -> dict[str, tuple[np.ndarray, dict[str, object]]]:
    """Every array of a local cube (map, overviews, series copy) with its attributes."""
    import zarr

    out: dict[str, tuple[np.ndarray, dict[str, object]]] = {}

    def walk(group: zarr.Group, prefix: str) -> None:
        for name, array in group.arrays():
            out[f"{prefix}{name}"] = (np.asarray(array[...]), dict(array.attrs))
        for name, child in group.groups():
            walk(child, f"{prefix}{name}/")

    walk(zarr.open_group(str(cube), mode="r", zarr_format=3), "")
    return out


@pytest.mark.local_disk  # two local hubs, one monkeypatched: not for the cluster's workers
def test_fast_path_cube_identical_to_general_path(
    tmp_path: Path, samples: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The OSTIA cube, its overviews and series copy: the same with the fast path or without."""
    from spaceclimate.harmonise import fast

    files = [samples / OSTIA.format(d) for d in (7, 5, 6)]  # out of order: the merge path too
    cubes = []
    for name in ("quick", "general"):
        if name == "general":
            monkeypatch.setattr(fast, "applies", lambda _recipe: False)
        home = tmp_path / name
        (result,) = _ingest(home, *files)
        (cube,) = published_cubes(home, result.collection_id)
        cubes.append(Path(str(open_store(_settings(home)).path(result.collection_id))) / cube)
    quick, general = (_arrays(c) for c in cubes)
    assert quick.keys() == general.keys() and any(k.startswith("series/") for k in quick)
    assert any(k.startswith("overviews/") for k in quick)
    for key, (values, attrs) in general.items():
        got, got_attrs = quick[key]
        assert got.dtype == values.dtype and got_attrs == attrs, key
        assert np.array_equal(got, values, equal_nan=values.dtype.kind == "f"), key
