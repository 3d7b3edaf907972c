"""Analytics operations, each declared once: what it computes, from which inputs, into what.

An :class:`Operation` is one definition: an id, a title and description, the ECVs it applies
to, its inputs as a typed model (:class:`OperationInputs`: each field with its type, title,
description, limits and units), its outputs, and the function that runs it. Everything else
is derived from it: the OGC API processes (``/processes``), ``sco compute``, the Python
client (which reads ``/processes``) and the portal's analytics forms.

Operations are plugins of the ``spaceclimate.operations`` entry-point group; the built-ins
(:mod:`spaceclimate.compute.operations`) register through the same group. A new operation is
a module holding an :class:`Operation` plus an entry point naming it::

    [project.entry-points."spaceclimate.operations"]
    my-index = "my_package.my_module:my_index"

An operation's function receives an :class:`OperationContext` (opening collections,
computing with progress) and its validated inputs, and returns a :class:`Result`: a series,
a summary, a derived cube or a file. The hub turns the result into the job's outputs (a
derived cube is published as a collection with its provenance), so an operation never
touches the catalog or the store itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Literal, Protocol

import xarray as xr
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError
from shapely.geometry.base import BaseGeometry

from spaceclimate import __version__
from spaceclimate.errors import InputError, NotFoundError
from spaceclimate.plugins import list_plugins

#: The entry-point group of operations.
GROUP = "spaceclimate.operations"

#: What a field of an operation's inputs names: the key ``x-sco-kind`` of its JSON schema,
#: which forms use to choose a widget (and the hub to know which inputs are collections).
InputKind = Literal[
    "collection",
    "variable",
    "variables",
    "interval",
    "period",
    "bbox",
    "region",
    "geometry",
    "quantity",
    "territory",
]
OutputKind = Literal["series", "summary", "collection", "file"]


def _kind(kind: InputKind, **extra: Any) -> dict[str, Any]:
    return {"x-sco-kind": kind, **extra}


def _check_bbox(box: list[float]) -> list[float]:
    west, south, east, north = box
    if not all(math.isfinite(v) for v in box):
        raise ValueError("numbers must be finite")
    if not (-180 <= west <= 180 and -180 <= east <= 180 and -90 <= south <= north <= 90):
        raise ValueError(
            "expected [west, south, east, north] with longitudes in -180..180 and "
            "-90 <= south <= north <= 90 (west > east crosses the antimeridian)"
        )
    return box


def _check_period(text: str) -> str:
    parts = [p.strip() for p in text.split("/")]
    if len(parts) != 2 or not all(parts):
        raise ValueError("expected start/end, e.g. 1981/2010")
    return text


# -- input types shared by operations --------------------------------------------------------
CollectionId = Annotated[
    str,
    Field(
        title="Collection",
        description="Id of a published collection (see /stac/collections).",
        min_length=1,
        max_length=200,
        json_schema_extra=_kind("collection"),
    ),
]
VariableName = Annotated[
    str,
    Field(
        title="Variable",
        description="Data variable of the collection's cube (default, the first one).",
        min_length=1,
        max_length=100,
        json_schema_extra=_kind("variable", **{"x-sco-of": "collection"}),
    ),
]
Interval = Annotated[
    str,
    Field(
        title="Time range",
        description="An RFC 3339 instant or interval start/end ('..' for open), "
        "e.g. 2010-01-01/2010-12-31.",
        max_length=100,
        json_schema_extra=_kind("interval"),
    ),
]
Period = Annotated[
    str,
    AfterValidator(_check_period),
    Field(
        title="Baseline",
        description="Years or dates start/end of the reference period, e.g. 1981/2010 or "
        "2017-06-05/2017-06-07.",
        max_length=60,
        json_schema_extra=_kind("period"),
    ),
]
BBox = Annotated[
    list[float],
    AfterValidator(_check_bbox),
    Field(
        title="Bounding box",
        description="[west, south, east, north] in degrees (lon/lat); west > east crosses the "
        "antimeridian.",
        min_length=4,
        max_length=4,
        json_schema_extra=_kind("bbox"),
    ),
]
Level = Annotated[
    float,
    Field(
        title="Vertical level",
        description="For profile products: the level to work on, in the units of the "
        "collection's vertical axis (e.g. 10 for 10 hPa); the nearest level is taken.",
        allow_inf_nan=False,
    ),
]
RegionName = Annotated[
    str,
    Field(
        title="Named region",
        description="An IPCC AR6 reference region (abbreviation such as NAO, or name) or a "
        "country (ISO alpha-3 such as FRA, or name); see /regions.",
        min_length=1,
        max_length=100,
        json_schema_extra=_kind("region"),
    ),
]
Geometry = Annotated[
    dict[str, Any],
    Field(
        title="Polygon",
        description="A GeoJSON Polygon or MultiPolygon in lon/lat.",
        json_schema_extra=_kind("geometry"),
    ),
]


def variable_of(collection_field: str, title: str = "Variable") -> Any:
    """Return the type of a variable input belonging to collection input *collection_field*."""
    return Annotated[
        str,
        Field(
            title=title,
            description=f"Data variable of {collection_field}'s cube (default, the first one).",
            min_length=1,
            max_length=100,
            json_schema_extra=_kind("variable", **{"x-sco-of": collection_field}),
        ),
    ]


class OperationInputs(BaseModel):
    """The inputs of an operation: a typed model, one field an input.

    Subclasses declare their fields with the shared types above (or any pydantic type with a
    ``Field`` carrying a title, a description, limits and, for quantities, ``x-sco-units``).
    ``one_of`` names inputs of which at most one may be given.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    one_of: ClassVar[tuple[str, ...]] = ()

    def values(self) -> dict[str, Any]:
        """The given and default values as JSON (what provenance records), Nones left out."""
        return self.model_dump(mode="json", exclude_none=True)


@dataclass(frozen=True)
class OutputDef:
    """One output of an operation: its title and kind."""

    title: str
    kind: OutputKind


@dataclass(frozen=True)
class Source:
    """An opened input collection: its id, STAC document and (lazy) cube."""

    id: str
    doc: dict[str, Any]
    ds: xr.Dataset

    @property
    def title(self) -> str:
        """The collection's title (its id when it has none)."""
        return str(self.doc.get("title") or self.id)


@dataclass
class Result:
    """What an operation returns; the hub turns it into the job's outputs.

    series
        A 1-D time series (a DataArray: ``{time, values, units, long_name}``) or several
        sharing one time axis (a Dataset: ``{collection, time, variables}``).
    summary
        Plain JSON values.
    collection
        A gridded (or static) result cube, published as a derived collection named after the
        operation, its inputs and the input collections' versions, with ``title`` and
        ``description``.
    file
        A dataset written to a NetCDF file named ``file_name``.
    sources
        The input collections the result derives from (provenance, ECV, citation).
    message
        What the progress bar says while the lazy result is computed.
    extra
        More keys of a single series' output (e.g. the region and its cell count).
    """

    series: xr.DataArray | xr.Dataset | None = None
    summary: dict[str, Any] | None = None
    collection: xr.Dataset | None = None
    file: xr.Dataset | None = None
    file_name: str = "result.nc"
    title: str = ""
    description: str = ""
    sources: list[Source] = field(default_factory=list)
    message: str = "computing"
    extra: dict[str, Any] = field(default_factory=dict)


class OperationContext(Protocol):
    """What an operation may ask of the hub while it runs."""

    def open(self, collection_id: str, name: str = "collection") -> Source:
        """Return the latest cube of a collection; NotFoundError naming input *name*."""
        ...

    def compute(self, obj: Any, low: float, high: float, message: str) -> Any:
        """Compute a lazy result, reporting progress between fractions *low* and *high*."""
        ...

    def report(self, fraction: float, message: str) -> None:
        """Report progress (0..1); raises when the job must stop."""
        ...

    def series_shaped(self, source: Source, da: xr.DataArray, datetime: str | None) -> xr.DataArray:
        """Return *da* read from the cube's series-shaped copy when it holds the variable."""
        ...

    def territory(self, territory_id: str) -> tuple[BaseGeometry, dict[str, Any]]:
        """Return a territory's polygon and record; NotFoundError unless the submitter sees it."""
        ...

    def collections(self, ecv: str | None = None) -> list[dict[str, Any]]:
        """Return the STAC documents of the published collections (of one ECV)."""
        ...


Runner = Callable[[OperationContext, Any], Result]


@dataclass(frozen=True)
class Operation:
    """One analytics operation, declared once.

    Parameters
    ----------
    id
        Stable identifier: the process id (``/processes/{id}``) and the ``sco compute``
        command.
    title, description
        For people: process lists, ``--help``, form headings.
    inputs
        The typed model of the inputs (a subclass of :class:`OperationInputs`).
    outputs
        Output name -> :class:`OutputDef`; a run returns some of them.
    run
        ``run(ctx, inputs) -> Result``.
    ecvs
        ECV ids the operation applies to (``("*",)``: any).
    label
        A short noun phrase for forms (``"anomaly map"``: "Compute the anomaly map").
    order
        Listing order (lower first), then the id.
    """

    id: str
    title: str
    description: str
    inputs: type[OperationInputs]
    outputs: Mapping[str, OutputDef]
    run: Runner
    ecvs: tuple[str, ...] = ("*",)
    label: str = ""
    order: int = 100
    version: str = __version__

    def applies_to(self, ecv: str | None) -> bool:
        """Whether the operation applies to a collection of ECV *ecv*."""
        return "*" in self.ecvs or (ecv is not None and ecv in self.ecvs)

    def validate(self, raw: Any) -> OperationInputs:
        """Return the typed inputs; InputError naming the first bad input."""
        if not isinstance(raw, Mapping):
            raise InputError("inputs: must be an object of named inputs")
        fields = self.inputs.model_fields
        given: dict[str, Any] = {}
        for name, value in raw.items():
            schema = self.input_schemas().get(str(name), {}).get("schema", {})
            if isinstance(value, dict) and "value" in value and schema.get("type") != "object":
                value = value["value"]  # an OGC qualified input {"value": ...}
            if value is not None:
                given[str(name)] = value
        unknown = sorted(set(given) - set(fields))
        if unknown:
            raise InputError(
                f"inputs: {self.id} has no input {unknown[0]!r}; known: {', '.join(fields)}"
            )
        try:
            inputs = self.inputs.model_validate(given)
        except ValidationError as exc:
            raise InputError(self._reason(exc)) from None
        present = [n for n in self.inputs.one_of if getattr(inputs, n, None) is not None]
        if len(present) > 1:
            raise InputError(f"inputs: give at most one of {', '.join(self.inputs.one_of)}")
        return inputs

    def _reason(self, exc: ValidationError) -> str:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        if error["type"] == "missing":
            return f"inputs.{where}: required by {self.id}"
        message = str(error["msg"]).removeprefix("Value error, ")
        return f"inputs.{where}: {message}"

    def input_schemas(self) -> dict[str, dict[str, Any]]:
        """Return each input's title, description, JSON schema and whether it is required."""
        return _input_schemas(self.inputs)

    def describe(self) -> dict[str, Any]:
        """Return the operation as plain JSON (inputs with schemas, outputs, ECVs)."""
        return {
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "version": self.version,
            "label": self.label or self.title,
            "ecvs": list(self.ecvs),
            "one_of": list(self.inputs.one_of),
            "inputs": self.input_schemas(),
            "outputs": {k: {"title": v.title, "kind": v.kind} for k, v in self.outputs.items()},
        }


_SCHEMAS: dict[type[OperationInputs], dict[str, dict[str, Any]]] = {}


def _input_schemas(model: type[OperationInputs]) -> dict[str, dict[str, Any]]:
    """The JSON schema of each field of *model*, with optional fields made plain."""
    cached = _SCHEMAS.get(model)
    if cached is not None:
        return cached
    doc = model.model_json_schema()
    out: dict[str, dict[str, Any]] = {}
    required = set(doc.get("required", ()))
    for name, prop in doc.get("properties", {}).items():
        prop = dict(prop)
        options = prop.pop("anyOf", None)
        if options:  # X | None: the schema of X, whose title and description win over the
            # ones made up from the field's name
            kept = [o for o in options if o.get("type") != "null"]
            prop = {**prop, **(kept[0] if len(kept) == 1 else {"anyOf": kept})}
        if prop.get("default", 0) is None:
            prop.pop("default")
        title = str(prop.pop("title", name))
        description = str(prop.pop("description", ""))
        out[name] = {
            "title": title,
            "description": description,
            "schema": prop,
            "required": name in required,
        }
    _SCHEMAS[model] = out
    return out


class OperationSet(Protocol):
    """A plugin that registers several operations at once (e.g. indicators defined as data)."""

    def operations(self) -> list[Operation]:
        """The operations, as of now (a set may grow while the hub runs)."""
        ...


def list_operations() -> dict[str, Operation]:
    """Return every registered operation by id, in listing order.

    A plugin is an :class:`Operation` or an :class:`OperationSet`; of two operations with one
    id, the single operation wins over a set's.
    """
    plugins = list_plugins(GROUP).values()
    found = [plugin for plugin in plugins if isinstance(plugin, Operation)]
    singles = {op.id for op in found}
    for plugin in plugins:
        if not isinstance(plugin, Operation) and callable(getattr(plugin, "operations", None)):
            found.extend(op for op in plugin.operations() if op.id not in singles)
    return {op.id: op for op in sorted(found, key=lambda op: (op.order, op.id))}


def get_operation(operation_id: str) -> Operation:
    """Return one operation; NotFoundError naming the known ones."""
    operations = list_operations()
    if operation_id not in operations:
        raise NotFoundError(
            f"no process {operation_id!r}; known: {', '.join(operations)}",
            known=list(operations),
        )
    return operations[operation_id]
