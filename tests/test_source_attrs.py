"""Global attributes a cube carries over from its source files, and a recipe's own.

Who made a product and whom to contact (``creator_*``, ``project``, ...) come from the source
files, read here independently with netCDF4; attributes of one file (``date_created``,
``history``, ids) stay behind; values the files disagree on are dropped, whatever the order
and the number of ingests that bring the files in.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import netCDF4
import pytest
import xarray as xr
from pydantic import ValidationError

from spaceclimate.catalog import open_catalog
from spaceclimate.compute import export
from spaceclimate.ecv import get_recipe
from spaceclimate.ecv.models import PRODUCT_ATTRS, Recipe
from spaceclimate.harmonise import finalize, harmonise_file
from spaceclimate.harmonise.sourceattrs import SOURCE_ATTRS_KEY, agree, pick
from spaceclimate.ingest import Ingestor
from spaceclimate.store import open_store

from .profile import hub_settings

OSTIA = "sst/sst_ostia_l4_anom_daily_2017060{}.nc"
OSTIA_ID = "ukmo-ostia-sst-daily"


def _ingest(home: Path, *paths: Path) -> list[Any]:
    ingestor = Ingestor(hub_settings(home))
    try:
        return ingestor.ingest(list(paths))
    finally:
        ingestor.close()


def _cube(home: Path, collection: str = OSTIA_ID) -> xr.Dataset:
    settings = hub_settings(home)
    catalog = open_catalog(settings.resolved_catalog_url)
    try:
        version = catalog.latest_version(collection)
        assert version is not None
        return xr.open_zarr(open_store(settings).path(version.cube_href))
    finally:
        catalog.close()


def _global_attrs(path: Path) -> dict[str, Any]:
    with netCDF4.Dataset(path) as nc:
        return {k: nc.getncattr(k) for k in nc.ncattrs()}


def _carried(cube: xr.Dataset) -> dict[str, Any]:
    return {k: v for k, v in cube.attrs.items() if k in PRODUCT_ATTRS}


def test_ostia_cube_carries_the_sources_contact(tmp_path: Path, samples: Path) -> None:
    files = [samples / OSTIA.format(d) for d in (5, 6, 7)]
    sources = [_global_attrs(f) for f in files]
    (result,) = _ingest(tmp_path / "hub", *files)
    assert result.status == "published"
    cube = _cube(tmp_path / "hub")
    src = sources[0]
    assert src["creator_email"] == "servicedesk.cmems@mercator-ocean.eu"
    assert cube.attrs["creator_email"] == src["creator_email"]
    assert cube.attrs["creator_url"] == src["creator_url"]
    assert cube.attrs["creator_name"] == src["creator_name"]  # not the recipe's producer
    assert cube.attrs["project"] == src["project"]
    assert cube.attrs["acknowledgement"] == src["acknowledgment"]  # ACDD 1.3's spelling
    # what describes one file stays behind: each file's date_created and history differ
    assert len({s["date_created"] for s in sources}) == 3
    assert cube.attrs["date_created"] not in {s["date_created"] for s in sources}
    assert cube.attrs["history"] != src["history"] and "spaceclimate" in cube.attrs["history"]
    assert cube.attrs["id"] == OSTIA_ID and "uuid" not in cube.attrs
    # the hub publishes the cube: the sources' publisher is not carried
    assert "publisher_email" not in cube.attrs
    assert cube.attrs["publisher_name"] != src["publisher_name"]
    assert SOURCE_ATTRS_KEY not in cube.attrs
    recorded = json.loads(cube.attrs["provenance"])["source_attrs"]
    assert recorded == _carried(cube)

    # and a NetCDF download of it names the same creator, over the catalog's producer
    settings = hub_settings(tmp_path / "hub")
    catalog = open_catalog(settings.resolved_catalog_url)
    try:
        collection = catalog.get_collection(OSTIA_ID)
    finally:
        catalog.close()
    selection = cube.isel(time=[0], lat=slice(0, 4), lon=slice(0, 4))
    content = export.to_netcdf_bytes(selection, export.collection_attrs(collection, "a test"))
    with netCDF4.Dataset("download.nc", memory=content) as nc:
        assert nc.creator_email == src["creator_email"]
        assert nc.creator_name == src["creator_name"] and nc.creator_url == src["creator_url"]
        assert nc.project == src["project"]
        assert nc.publisher_name == export.collection_attrs(collection)["publisher_name"]
        assert "publisher_email" not in nc.ncattrs()


def test_values_files_disagree_on_are_dropped(tmp_path: Path, samples: Path) -> None:
    """Whatever the order and the ingests, the cube keeps what all its files agree on."""
    folder = tmp_path / "files"
    folder.mkdir()
    files = []
    for day in (5, 6, 7):
        copy = folder / Path(OSTIA.format(day)).name
        shutil.copyfile(samples / OSTIA.format(day), copy)
        files.append(copy)
    with netCDF4.Dataset(files[2], "a") as nc:  # one file of another project
        nc.setncattr("project", "another project")
    whole = _global_attrs(files[0])

    _ingest(tmp_path / "steps", files[0], files[1])
    first = _carried(_cube(tmp_path / "steps"))
    assert first["project"] == whole["project"]
    (added,) = _ingest(tmp_path / "steps", files[2])  # merged with the kept version
    assert added.status == "published" and added.version == 2
    stepwise = _carried(_cube(tmp_path / "steps"))
    assert "project" not in stepwise
    assert stepwise["creator_email"] == whole["creator_email"]
    assert stepwise == {k: v for k, v in first.items() if k != "project"}

    _ingest(tmp_path / "once", files[2], files[0], files[1])
    assert _carried(_cube(tmp_path / "once")) == stepwise

    (again,) = _ingest(tmp_path / "once", *files)  # the same files: nothing changes
    assert again.status == "unchanged" and again.version == 1


def test_only_product_attributes_with_a_value_are_picked(samples: Path) -> None:
    ostia = _global_attrs(samples / OSTIA.format(5))
    picked = pick(ostia)
    assert set(picked) <= set(PRODUCT_ATTRS) and "creator_email" in picked
    assert not {"date_created", "history", "id", "uuid", "publisher_email"} & set(picked)
    # NASA-SSH leaves its creator_email blank: nothing is carried for it
    ssh = harmonise_file(
        samples / "sea_level/ssha_nasa_ssh_simple_grid_v1_20240923.nc",
        get_recipe("nasa-ssh-simple-grid"),
    )
    assert ssh.attrs[SOURCE_ATTRS_KEY]["project"] == "NASA-SSH"
    assert "creator_email" not in ssh.attrs[SOURCE_ATTRS_KEY]
    # ERSST names its creator without any contact: the recipe's producer stays the creator
    ersst_path = samples / "counterparts/ersst_v5_monthly_2010-2020_insitu.nc"
    assert _global_attrs(ersst_path)["creator_name"]
    ersst = harmonise_file(ersst_path, get_recipe("noaa-ersst-v5"))
    assert not any(k.startswith("creator_") for k in ersst.attrs[SOURCE_ATTRS_KEY])
    assert agree({"a": "1", "b": "2"}, {"a": "1", "b": "3"}, {"a": "1"}) == {"a": "1"}


def test_recipe_attrs_stand_over_the_sources(samples: Path) -> None:
    recipe = get_recipe(OSTIA_ID)
    ds = harmonise_file(samples / OSTIA.format(5), recipe)
    carried = ds.attrs[SOURCE_ATTRS_KEY]
    own = recipe.model_copy(update={"attrs": {"project": "declared by the recipe"}})
    out = finalize(ds, own, [], "0" * 64, 1, carried)
    assert out.attrs["project"] == "declared by the recipe"
    assert out.attrs["creator_email"] == carried["creator_email"]
    plain = finalize(ds, recipe, [], "0" * 64, 1)  # nothing carried: the recipe's producer
    assert plain.attrs["creator_name"] == "UK Met Office"
    assert plain.attrs["creator_type"] == "institution" and "creator_email" not in plain.attrs
    fields = recipe.model_dump(exclude={"source_path"})
    for bad in ({"history": "made up"}, {"creator_email": " "}):
        with pytest.raises(ValidationError):
            Recipe.model_validate({**fields, "attrs": bad})


def test_sea_ice_index_names_the_contact_its_recipe_declares(samples: Path) -> None:
    recipe = get_recipe("nsidc-sea-ice-index-north")
    cdr = _global_attrs(samples / "sea_ice/seaice_conc_cdr_v4_monthly_nh_202112.nc")
    assert recipe.attrs["creator_email"] == cdr["creator_email"]  # NSIDC's, from its own files
    ds = harmonise_file(samples / "sea_ice/nsidc_seaice_index_extent_daily_N_v3.0.csv", recipe)
    out = finalize(ds, recipe, [], "0" * 64, 1, ds.attrs[SOURCE_ATTRS_KEY])
    assert out.attrs["creator_email"] == cdr["creator_email"]
    assert out.attrs["creator_name"] == "National Snow and Ice Data Center (NSIDC)"
