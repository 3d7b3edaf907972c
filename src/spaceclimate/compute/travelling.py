"""Indicators that travel: defined once as data, run on any territory with one call.

An indicator is a YAML document (``data/indicators/*.yaml`` in this package, or imported into
a hub's ``indicators`` folder): its input named by ECV and variable (not by collection), the
analytics operation it applies (an id of the registry: ``trend``, ``indicator`` (xclim),
``resample``, ...), the operation's inputs it fixes, the parameters a user may change (with
types and defaults), its units, description, method, authors, citation and version::

    id: sst-warming-trend
    version: "1.0.0"
    title: Sea-surface warming trend of a territory's waters
    input: {ecv: sea_surface_temperature, variable: sst, prefer: [noaa-ersst-v5]}
    operation: trend
    fixed: {per: decade}
    parameters:
      method: {type: string, default: ols, choices: [ols, sen], title: Method}

Each definition becomes an operation of the registry (a process at ``/processes/{id}`` and a
``sco compute`` command) whose inputs are ``territory`` (a territory id), the parameters,
``datetime`` and optionally ``collection`` (to choose the record). A run reads the territory's
area-weighted mean series of the input (the cells whose centres lie inside; the cell at its
centre for a territory smaller than a cell), applies the operation to that series and records
the indicator's id and version, the territory, the collection and version it read and the
parameters. Running it on another territory is the same call with ``territory`` changed.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import xarray as xr
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from shapely.geometry.base import BaseGeometry

from spaceclimate.compute.regions import mean_or_centre
from spaceclimate.compute.registry import (
    CollectionId,
    Interval,
    Operation,
    OperationContext,
    OperationInputs,
    OutputDef,
    Result,
    Source,
    get_operation,
    list_operations,
)
from spaceclimate.compute.selection import select
from spaceclimate.errors import InputError, NotFoundError, RecipeError

#: The indicators shipped with the hub.
BUNDLED = Path(__file__).parent / "data" / "indicators"
#: Version of the exchange package format (``GET /indicators/{id}/package``).
PACKAGE_FORMAT = "spaceclimate-indicator/1"
_ID = r"^[a-z][a-z0-9-]{2,60}$"

ParameterType = Literal["number", "integer", "string", "boolean", "period", "interval"]


class ParameterDef(BaseModel):
    """A parameter a user may set: type, default, title, description, limits or choices."""

    model_config = ConfigDict(extra="forbid")

    type: ParameterType
    title: str
    description: str = ""
    default: Any = None
    choices: list[Any] | None = None
    minimum: float | None = None
    maximum: float | None = None


class InputDef(BaseModel):
    """What the indicator reads: an ECV's variable, with preferred records first."""

    model_config = ConfigDict(extra="forbid")

    ecv: str
    variable: str
    prefer: list[str] = Field(default_factory=list)
    min_steps: int = Field(default=3, ge=1)


class IndicatorDef(BaseModel):
    """One indicator, as its YAML document says."""

    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, Field(pattern=_ID)]
    version: Annotated[str, Field(pattern=r"^\d+\.\d+(\.\d+)?$")]
    title: str
    description: str
    method: str
    units: str
    authors: list[str]
    citation: str
    references: list[str] = Field(default_factory=list)
    input: InputDef
    operation: str
    fixed: dict[str, Any] = Field(default_factory=dict)
    parameters: dict[str, ParameterDef] = Field(default_factory=dict)

    def document(self) -> dict[str, Any]:
        """The definition as plain data (what its YAML file holds)."""
        return self.model_dump(mode="json", exclude_defaults=False)


# -- loading ------------------------------------------------------------------------------------
_DIRS: list[Path] = []
_LOCK = threading.Lock()
_CACHE: dict[tuple[str, float, int], tuple[IndicatorDef, Operation]] = {}


def register_directory(path: Path) -> None:
    """Also load the indicators imported into *path* (a hub's ``indicators`` folder)."""
    with _LOCK:
        if path not in _DIRS:
            _DIRS.append(path)


def hub_indicators(home: Path | str) -> Path:
    """The folder of the indicators imported into the hub at *home* (loaded from now on)."""
    folder = Path(home) / "indicators"
    register_directory(folder)
    return folder


def parse_definition(doc: Any, where: str = "indicator") -> IndicatorDef:
    """Read and check a definition; RecipeError naming the first wrong field."""
    if not isinstance(doc, Mapping):
        raise RecipeError(f"{where}: an indicator definition is a mapping")
    try:
        return IndicatorDef.model_validate(dict(doc))
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise RecipeError(f"{where}: {field}: {first['msg']}") from None


def _files() -> list[Path]:
    with _LOCK:
        dirs = [BUNDLED, *_DIRS]
    return [f for d in dirs if d.is_dir() for f in sorted(d.glob("*.yaml"))]


def _load(path: Path) -> tuple[IndicatorDef, Operation]:
    stat = path.stat()
    key = (str(path), stat.st_mtime, stat.st_size)
    found = _CACHE.get(key)
    if found is None:
        definition = parse_definition(yaml.safe_load(path.read_text(encoding="utf-8")), path.name)
        found = (definition, build_operation(definition))
        _CACHE[key] = found
    return found


def definitions() -> dict[str, IndicatorDef]:
    """Every indicator definition (bundled first; an imported one of the same id is ignored)."""
    out: dict[str, IndicatorDef] = {}
    for path in _files():
        definition, _ = _load(path)
        out.setdefault(definition.id, definition)
    return out


def get_definition(indicator_id: str) -> IndicatorDef:
    """One definition; NotFoundError naming the known ones."""
    found = definitions()
    if indicator_id not in found:
        raise NotFoundError(
            f"no indicator {indicator_id!r}; known: {', '.join(found)}", known=list(found)
        )
    return found[indicator_id]


class _IndicatorSet:
    """The registry plugin: every definition as an operation."""

    def operations(self) -> list[Operation]:
        seen: dict[str, Operation] = {}
        for path in _files():
            definition, operation = _load(path)
            seen.setdefault(definition.id, operation)
        return list(seen.values())


#: Entry point of the ``spaceclimate.operations`` group.
indicator_set = _IndicatorSet()


# -- the operation of a definition --------------------------------------------------------------
TerritoryId = Annotated[
    str,
    Field(
        title="Territory",
        description="Id of a territory (see /territories): the area the indicator is made for.",
        min_length=1,
        max_length=100,
        json_schema_extra={"x-sco-kind": "territory"},
    ),
]
_PY_TYPES: dict[str, Any] = {
    "number": float,
    "integer": int,
    "string": str,
    "boolean": bool,
    "period": str,
    "interval": str,
}


def _field(name: str, p: ParameterDef) -> tuple[Any, Any]:
    base: Any = _PY_TYPES[p.type]
    if p.choices:
        base = Literal[tuple(p.choices)]
    extra: dict[str, Any] = {}
    if p.type in ("period", "interval"):
        extra["x-sco-kind"] = p.type
    info = Field(
        default=p.default,
        title=p.title,
        description=p.description,
        ge=p.minimum,
        le=p.maximum,
        json_schema_extra=extra or None,
    )
    kind = base if p.default is not None else base | None
    return (Annotated[kind, info], p.default)


def build_operation(definition: IndicatorDef) -> Operation:
    """The registry operation that runs *definition* on a territory."""
    fields: dict[str, Any] = {
        "territory": (TerritoryId, ...),
        "collection": (
            Annotated[
                CollectionId | None,
                Field(
                    title="Record",
                    description=f"The {definition.input.ecv.replace('_', ' ')} record to read "
                    "(default: the first of the indicator's preferred records that covers the "
                    "territory).",
                ),
            ],
            None,
        ),
        "datetime": (Interval | None, None),
    }
    for name, parameter in definition.parameters.items():
        if name in fields:
            raise RecipeError(f"indicator {definition.id}: parameter {name!r} is reserved")
        fields[name] = _field(name, parameter)
    model_name = "".join(part.title() for part in definition.id.split("-")) + "Inputs"
    inputs = create_model(model_name, __base__=OperationInputs, **fields)
    authors = ", ".join(definition.authors)
    description = (
        f"{definition.description} Method: {definition.method} Units: {definition.units}. "
        f"By {authors}; cite: {definition.citation} (indicator version {definition.version})"
    )

    def run(ctx: OperationContext, given: OperationInputs) -> Result:
        return run_indicator(definition, ctx, given)

    return Operation(
        id=definition.id,
        title=definition.title,
        description=description,
        inputs=inputs,
        outputs={
            "summary": OutputDef("Indicator value", "summary"),
            "series": OutputDef("Indicator series", "series"),
            "collection": OutputDef("The series, catalogued as a derived collection", "collection"),
        },
        run=run,
        ecvs=(definition.input.ecv,),
        label=definition.title.lower(),
        order=200,
        version=definition.version,
    )


# -- running ------------------------------------------------------------------------------------
def _overlaps(doc: Mapping[str, Any], geometry: BaseGeometry) -> bool:
    try:
        west, south, east, north = doc["extent"]["spatial"]["bbox"][0][:4]
    except (KeyError, IndexError, TypeError, ValueError):
        return True
    g_west, g_south, g_east, g_north = geometry.bounds
    if west > east:  # crosses the antimeridian: test both halves
        return g_south <= north and g_north >= south and (g_east >= west or g_west <= east)
    return g_south <= north and g_north >= south and g_west <= east and g_east >= west


def choose_collection(
    definition: IndicatorDef, ctx: OperationContext, geometry: BaseGeometry
) -> str:
    """The first record of the indicator's ECV that holds its variable and covers the area."""
    docs = {str(d["id"]): d for d in ctx.collections(definition.input.ecv)}
    order = [c for c in definition.input.prefer if c in docs]
    order += sorted(c for c in docs if c not in order)
    for collection_id in order:
        doc = docs[collection_id]
        if not _overlaps(doc, geometry):
            continue
        cube = ctx.open(collection_id).ds
        variable = cube.data_vars.get(definition.input.variable)
        if variable is None or "time" not in variable.dims:
            continue
        if cube.sizes["time"] >= definition.input.min_steps and (
            "lat" in variable.dims or "y" in variable.dims
        ):
            return collection_id
    raise InputError(
        f"inputs.territory: no {definition.input.ecv.replace('_', ' ')} record with "
        f"{definition.input.variable!r} and at least {definition.input.min_steps} time steps "
        "covers this territory; name one with 'collection'"
    )


def territory_series(da: xr.DataArray, geometry: BaseGeometry) -> tuple[xr.DataArray, str]:
    """The area-weighted mean of *da* over *geometry*, or its cell at the centre."""
    series, note = mean_or_centre(da, geometry, "territory")
    series = series.load()
    how = note or "area-weighted mean of the cells whose centres lie in the territory"
    keep = [c for c in series.coords if c != "time" and series[c].ndim == 0]
    series = series.drop_vars(keep)
    series.attrs = {
        k: v for k, v in da.attrs.items() if k in ("units", "long_name", "standard_name")
    }
    series.name = da.name
    return series, how


class _SeriesContext:
    """The context the inner operation sees: the territory's series as the collection."""

    def __init__(self, outer: OperationContext, source: Source) -> None:
        self.outer = outer
        self.source = source

    def open(self, collection_id: str, name: str = "collection") -> Source:
        if collection_id != self.source.id:
            return self.outer.open(collection_id, name)
        return self.source

    def compute(self, obj: Any, low: float, high: float, message: str) -> Any:
        return obj.compute() if hasattr(obj, "compute") else obj

    def report(self, fraction: float, message: str) -> None:
        self.outer.report(0.5 + fraction / 2, message)

    def series_shaped(self, source: Source, da: xr.DataArray, datetime: str | None) -> xr.DataArray:
        return da

    def territory(self, territory_id: str) -> tuple[BaseGeometry, dict[str, Any]]:
        return self.outer.territory(territory_id)

    def collections(self, ecv: str | None = None) -> list[dict[str, Any]]:
        return self.outer.collections(ecv)


def run_indicator(
    definition: IndicatorDef, ctx: OperationContext, given: OperationInputs
) -> Result:
    """Read the territory's series of the input and apply the indicator's operation to it."""
    values = given.values()
    geometry, territory = ctx.territory(str(values["territory"]))
    collection_id = values.get("collection") or choose_collection(definition, ctx, geometry)
    source = ctx.open(str(collection_id))
    name = definition.input.variable
    if name not in source.ds.data_vars:
        raise InputError(f"inputs.collection: {collection_id!r} has no variable {name!r}")
    ds = select(source.ds, values.get("datetime"))
    ctx.report(0.05, "reading the territory's series")
    series, how = territory_series(ds[name], geometry)
    series_ds = series.to_dataset()
    if "time_bnds" in ds.variables:
        series_ds["time_bnds"] = ds["time_bnds"].load()
        series_ds["time"].attrs["bounds"] = "time_bnds"
    valid = int(np.isfinite(series.values).sum())
    if valid < definition.input.min_steps:
        raise InputError(
            f"inputs.territory: {collection_id} has {valid} valid time step(s) over the "
            f"territory; the indicator needs {definition.input.min_steps}"
        )
    operation = get_operation(definition.operation)
    parameters = {k: values.get(k) for k in definition.parameters}
    raw = {"collection": source.id, "variable": name, **definition.fixed, **parameters}
    raw = {k: v for k, v in raw.items() if k in operation.inputs.model_fields}
    inner = _SeriesContext(ctx, Source(source.id, source.doc, series_ds))
    result = operation.run(inner, operation.validate(raw))
    provenance = {
        "indicator": {
            "id": definition.id,
            "version": definition.version,
            "title": definition.title,
            "citation": definition.citation,
        },
        "territory": {"id": territory.get("id"), "name": territory.get("name")},
        "read": [{"collection": source.id, "version": source.doc.get("version"), "variable": name}],
        "parameters": {
            **definition.fixed,
            **parameters,
            **({"datetime": values["datetime"]} if values.get("datetime") else {}),
        },
        "area": how,
        "valid_steps": valid,
    }
    if result.collection is not None and "time" in result.collection.dims:
        data = result.collection
        result.series = data[next(iter(data.data_vars))]
        result.collection = None  # a territory's series is the caller's, not a catalog entry
    if isinstance(result.series, xr.DataArray) and result.series.attrs.get("units") in ("1", ""):
        # a count of time steps: the definition says of what (months per year, ...)
        result.series.attrs["units"] = definition.units
    if result.summary is not None:
        result.summary = {**result.summary, "provenance": provenance}
    else:
        result.extra = {**result.extra, "provenance": provenance}
    if isinstance(result.series, xr.DataArray) and "time" in result.series.dims:
        # the series is also catalogued: a derived collection, private to the submitter's key
        place = territory.get("name") or territory.get("id")
        data = result.series.to_dataset(name=definition.id.replace("-", "_"))
        data.attrs = {
            "indicator_id": definition.id,
            "indicator_version": definition.version,
            "territory": str(territory.get("id")),
        }
        result.collection = data
        result.title = f"{definition.title}: {place}"
        result.description = (
            f"{definition.description} Territory: {place} ({territory.get('id')}). Indicator "
            f"{definition.id} version {definition.version}, read from {source.id} "
            f"v{source.doc.get('sco:version')}. Method: {definition.method}"
        )
    result.sources = [source]
    return result


# -- exchange -----------------------------------------------------------------------------------
def package(definition: IndicatorDef) -> dict[str, Any]:
    """A self-describing package of *definition*: the definition and what it needs to run."""
    operation = get_operation(definition.operation)
    return {
        "format": PACKAGE_FORMAT,
        "indicator": definition.document(),
        "requires": {
            "operations": [{"id": operation.id, "version": operation.version}],
            "ecvs": [definition.input.ecv],
            "input": {"ecv": definition.input.ecv, "variable": definition.input.variable},
        },
    }


def check_package(doc: Any) -> IndicatorDef:
    """The definition of a package after checking it can run here (InputError otherwise)."""
    if not isinstance(doc, Mapping) or doc.get("format") != PACKAGE_FORMAT:
        raise InputError(f"not an indicator package: 'format' must be {PACKAGE_FORMAT!r}")
    try:
        definition = parse_definition(doc.get("indicator"), "indicator")
    except RecipeError as exc:
        raise InputError(exc.message) from None
    known = list_operations()
    if definition.operation not in known or known[definition.operation].order == 200:
        raise InputError(
            f"indicator.operation: this hub has no analytics operation {definition.operation!r}"
        )
    if definition.id in known and definition.id not in definitions():
        raise InputError(f"indicator.id: {definition.id!r} is an operation of this hub")
    from spaceclimate.ecv import get_ecv

    try:
        get_ecv(definition.input.ecv)
    except RecipeError:
        raise InputError(f"indicator.input.ecv: unknown ECV {definition.input.ecv!r}") from None
    build_operation(definition)  # its parameters make a valid operation
    return definition


def save_package(doc: Any, folder: Path) -> IndicatorDef:
    """Check a package and write its definition into *folder* (atomically)."""
    definition = check_package(doc)
    bundled = {
        parse_definition(yaml.safe_load(p.read_text()), p.name).id for p in BUNDLED.glob("*.yaml")
    }
    if definition.id in bundled:
        raise InputError(f"indicator.id: {definition.id!r} is bundled with the hub")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{definition.id}.yaml"
    temporary = folder / f".{definition.id}.yaml.tmp"
    temporary.write_text(
        yaml.safe_dump(definition.document(), sort_keys=False, allow_unicode=True), encoding="utf-8"
    )
    temporary.replace(target)
    return definition
