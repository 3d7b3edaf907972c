"""Typed models of the ECV table and of product recipes (both are YAML data files)."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

#: ACDD global attributes about who made a product and whom to contact: a cube carries them
#: over from its source files (:mod:`spaceclimate.harmonise.sourceattrs`), and a recipe may
#: declare those its files lack (``attrs``), with values from the product's files or documents.
PRODUCT_ATTRS = (
    "creator_name",
    "creator_email",
    "creator_url",
    "creator_type",
    "creator_institution",
    "contributor_name",
    "contributor_role",
    "project",
    "program",
    "acknowledgement",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


#: A language code of the ECV table's translated names: ISO 639-1 (fr, zh), lowercase.
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")


def _check_names(names: Any) -> tuple[tuple[str, str], ...]:
    """Read translated names ``{language code: name}`` (English is the table's own text).

    They are kept as sorted ``(code, name)`` pairs: the models are frozen and hashable.
    """
    pairs = names.items() if isinstance(names, dict) else names
    out = []
    for code, text in pairs:
        if not isinstance(code, str) or not _LANGUAGE.match(code) or code == "en":
            raise ValueError(f"names: {code!r} is not a language code other than en (fr, zh...)")
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"names: the {code} name is empty")
        out.append((code, text))
    return tuple(sorted(out))


class VariableDef(_Strict):
    """A canonical variable of an ECV: CF name, units, valid and display ranges."""

    name: str
    ecv: str
    standard_name: str | None
    long_name: str
    units: str
    valid_range: tuple[float, float]
    colormap: str
    display_range: tuple[float, float]
    display_units: str | None = Field(
        default=None, description="Units to show values in, when not the canonical units."
    )
    coverage_content_type: Literal[
        "physicalMeasurement",
        "thematicClassification",
        "qualityInformation",
        "auxiliaryInformation",
        "referenceInformation",
        "modelResult",
        "image",
    ] = Field(
        default="physicalMeasurement",
        description="ACDD/ISO 19115-1 kind of content (uncertainties are qualityInformation).",
    )
    names: tuple[tuple[str, str], ...] = Field(
        default=(),
        description="The long name in other languages: {language code: name} (fr, zh).",
    )

    _names = field_validator("names", mode="before")(_check_names)

    def all_names(self) -> dict[str, str]:
        """Return the long name in every language the table gives: ``{"en": ..., "fr": ...}``."""
        return {"en": self.long_name, **dict(self.names)}


class VerticalExtent(_Strict):
    """Where in the vertical an ECV's products lie (ACDD ``geospatial_vertical_*``)."""

    min: float
    max: float
    units: str = "m"
    positive: Literal["up", "down"]
    crs: str | None = Field(
        default=None, description="Vertical CRS (EPSG:5829, height above sea level), if any."
    )


class ECVDef(_Strict):
    """An Essential Climate Variable and the canonical variables the hub publishes for it."""

    id: str
    title: str
    domain: Literal["ocean", "land", "atmosphere"]
    variables: dict[str, VariableDef]
    vertical: VerticalExtent | None = None
    names: tuple[tuple[str, str], ...] = Field(
        default=(),
        description="The title in other languages: {language code: name} (fr, zh).",
    )

    _names = field_validator("names", mode="before")(_check_names)

    def all_names(self) -> dict[str, str]:
        """Return the title in every language the table gives: ``{"en": ..., "fr": ...}``."""
        return {"en": self.title, **dict(self.names)}


class ProviderSpec(_Strict):
    """A STAC provider: an organisation and its roles for the product."""

    name: str
    roles: list[Literal["licensor", "producer", "processor", "host"]]
    url: str | None = None


class LicenseSpec(_Strict):
    """Licence of the data: an SPDX id (or "other") with the licence text and link."""

    id: str
    text: str
    url: str | None = None


class GridSpec(_Strict):
    """How the source's spatial grid is laid out."""

    type: Literal["latlon", "projected", "none"]
    lat: str | None = None
    lon: str | None = None
    x: str | None = None
    y: str | None = None
    crs: str | None = Field(
        default=None, description="CRS of a projected grid (EPSG code, PROJ or WKT string)."
    )
    crs_wkt_from: str | None = Field(
        default=None, description="Source variable whose crs_wkt attribute gives the CRS."
    )
    bbox: tuple[float, float, float, float] | None = Field(
        default=None, description="Region a gridless series describes (lon/lat)."
    )

    @model_validator(mode="after")
    def _check(self) -> GridSpec:
        if self.type == "latlon" and not (self.lat and self.lon):
            raise ValueError("a latlon grid needs 'lat' and 'lon'")
        if self.type == "projected" and not (self.x and self.y and (self.crs or self.crs_wkt_from)):
            raise ValueError("a projected grid needs 'x', 'y' and 'crs' or 'crs_wkt_from'")
        if self.type == "none" and self.bbox is None:
            raise ValueError("a series without grid needs the 'bbox' of the region it describes")
        return self


class TimeSpec(_Strict):
    """Where the time of each source file comes from, and what period a step covers.

    Every harmonised step is a cell ``time_bnds = [start, end)`` stamped at its middle. The
    cell is the step's whole period (``bounds: period``: the calendar month, year or the
    ``n`` days of ``resolution`` that the source's stamp lies in, following ``anchor``), the
    source's own bounds (``bounds: source``: the variable the time variable's CF ``bounds``
    attribute names), or, for an irregular series whose source gives only its stamps
    (``bounds: midpoints``), the span halfway to the neighbouring stamps, at most half a
    ``resolution`` from the stamp, which is kept.
    """

    variable: str | None = None
    dim: str | None = Field(default=None, description="Source dimension that becomes 'time'.")
    from_filename: str | None = Field(default=None, description="Regex with one group.")
    filename_format: str | None = None
    round: str | None = Field(default=None, description="Round timestamps to this frequency.")
    resolution: str | None = Field(
        default=None, description="ISO 8601 period of one step: P1D, P7D, P8D, P10D, P1M, P1Y."
    )
    anchor: Literal["start", "center"] = Field(
        default="start", description="Where in its period the source's stamp lies."
    )
    units: str | None = Field(
        default=None,
        description="CF units of the time variable when the file's are not CF "
        "(Aura MLS: 'seconds since 1993-01-01').",
    )
    bounds: Literal["period", "source", "midpoints"] = Field(
        default="period", description="Where each step's cell (time_bnds) comes from."
    )

    @model_validator(mode="after")
    def _check(self) -> TimeSpec:
        if self.from_filename and not self.filename_format:
            raise ValueError("'from_filename' needs 'filename_format'")
        if self.bounds == "source" and not self.variable:
            raise ValueError("'bounds: source' needs the time 'variable' that names them")
        if self.bounds == "midpoints" and not self.resolution:
            raise ValueError("'bounds: midpoints' needs the nominal 'resolution'")
        return self


class FlagMaskSpec(_Strict):
    """Keep a value only where a bit mask of a flag variable is set (or unset)."""

    variable: str
    mask: int
    valid_when: Literal["set", "unset"] = "set"


class QualitySpec(_Strict):
    """Keep a value only where a quality variable passes the product's recommended threshold.

    The quality variable is decoded as CF says (fill values missing, ``scale_factor`` and
    ``add_offset`` applied), then compared: ``min`` keeps values at or above it (GHRSST
    ``quality_level >= 4``), ``above`` keeps values strictly above it (TROPOMI
    ``qa_value > 0.5``). A file without the quality variable is refused (the product's
    own filter cannot be applied to it) unless ``if_missing: keep``, for products whose
    distributed subsets drop it: its pixels are then kept, and its catalog item says the
    filter was not applied.
    """

    variable: str
    min: float | None = None
    above: float | None = None
    max: float | None = Field(default=None, description="Keep values at or below (flags: 0).")
    below: float | None = Field(default=None, description="Keep values strictly below.")
    if_missing: Literal["refuse", "keep"] = "refuse"

    def describe(self) -> str:
        """The test as people read it (``quality_level >= 4``)."""
        if self.min is not None:
            return f"{self.variable} >= {self.min:g}"
        if self.above is not None:
            return f"{self.variable} > {self.above:g}"
        if self.below is not None:
            return f"{self.variable} < {self.below:g}"
        return f"{self.variable} <= {self.max:g}"

    @model_validator(mode="after")
    def _check(self) -> QualitySpec:
        if sum(v is not None for v in (self.min, self.above, self.max, self.below)) != 1:
            raise ValueError("a quality test needs one of 'min', 'above', 'max' and 'below'")
        return self


class LevelSpec(_Strict):
    """The vertical axis of a profile product: binning keeps its levels (within a range)."""

    dim: str = Field(description="Source dimension of the levels (MLS: nLevels).")
    coordinate: str = Field(description="Source variable of the levels' values (Pressure).")
    name: str = Field(default="plev", pattern=r"^[a-z][a-z0-9_]*$")
    standard_name: str = "air_pressure"
    units: str = Field(default="hPa", description="Units of the source's level values.")
    positive: Literal["up", "down"] = "down"
    min: float | None = Field(default=None, description="Keep levels at or above this value.")
    max: float | None = Field(default=None, description="Keep levels at or below this value.")


class BinningSpec(_Strict):
    """Bin level-2 values (swath, along-track, points) onto a regular lon/lat grid.

    With binning, the recipe's ``grid.lat`` and ``grid.lon`` name the geolocation of every
    pixel (arrays of the variables' shape, or of their leading dimensions), and every time
    step of the cube holds, per cell, the mean of the accepted pixels that fall in it (the
    granules of one ``time.resolution`` period together), with ``<v>_count`` (how many) and
    ``<v>_std`` (their population standard deviation) beside each variable ``v``.
    """

    resolution: float = Field(gt=0, le=10, description="Cell size in degrees.")
    bbox: tuple[float, float, float, float] = Field(
        default=(-180.0, -90.0, 180.0, 90.0), description="Extent of the grid (lon/lat)."
    )
    levels: LevelSpec | None = Field(
        default=None, description="Profiles: each level binned apart (a vertical axis)."
    )

    @model_validator(mode="after")
    def _check(self) -> BinningSpec:
        west, south, east, north = self.bbox
        if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
            raise ValueError("binning bbox must be west,south,east,north within the globe")
        for span in (east - west, north - south):
            cells = span / self.resolution
            if abs(cells - round(cells)) > 1e-6:
                raise ValueError("binning bbox must hold a whole number of cells")
        return self


#: Suffixes of the variables binning adds beside each binned variable.
BINNED_SUFFIXES = ("_count", "_std")


class VariableSpec(_Strict):
    """How one canonical variable is made from the source."""

    source: str | dict[str, str]
    stack_dim: str | None = None
    standard_name: str | None = Field(
        default=None,
        pattern=r"^[a-z][a-z0-9_]*$",
        description="A CF standard name more precise than the ECV table's, for this product.",
    )
    units: str | None = Field(default=None, description="Source units when the file is wrong.")
    scale_factor: float | None = Field(default=None, description="Overrides the file's.")
    add_offset: float | None = Field(default=None, description="Overrides the file's.")
    fill_values: list[float] = Field(default_factory=list, description="Extra raw fill values.")
    mask_flag_values: bool = Field(
        default=False, description="Mask raw values listed in the source's flag_values."
    )
    mask_above: float | None = Field(default=None, description="Mask decoded values above.")
    mask_below: float | None = Field(default=None, description="Mask decoded values below.")
    recode: dict[float, float | None] | None = Field(
        default=None, description="Map raw class values; every other value becomes missing."
    )
    valid_if_flag: FlagMaskSpec | None = None
    statistic: Literal["mean", "sum"] = Field(
        default="mean",
        description="Binning: what a cell holds of its pixels' values (sum: e.g. fire power).",
    )
    valid_if_quality: list[QualitySpec] = Field(
        default_factory=list, description="The product's quality tests a value must all pass."
    )
    attrs: dict[str, Any] = Field(default_factory=dict)
    comment: str | None = None

    @field_validator("valid_if_quality", mode="before")
    @classmethod
    def _one_or_more(cls, value: Any) -> Any:
        return [value] if isinstance(value, dict) else value

    @model_validator(mode="after")
    def _check(self) -> VariableSpec:
        if isinstance(self.source, dict) and not self.stack_dim:
            raise ValueError("a mapping 'source' needs 'stack_dim'")
        return self


class Recipe(_Strict):
    """A product recipe: how one provider's product maps onto the ECV table."""

    # the collection id: never a ":", which separates a peer's name from its collections
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
    title: str
    description: str
    ecv: str
    product_version: str
    match: list[str]
    reader: str
    reader_options: dict[str, Any] = Field(default_factory=dict)
    grid: GridSpec
    time: TimeSpec | None = None
    variables: dict[str, VariableSpec]
    license: LicenseSpec
    citation: str
    doi: str | None = None
    publications: list[dict[str, str]] = Field(default_factory=list)
    providers: list[ProviderSpec]
    agencies: list[str]
    missions: list[str]
    instruments: list[str]
    keywords: list[str] = Field(default_factory=list)
    processing_level: str | None = None
    binning: BinningSpec | None = None
    shared_source: bool = Field(
        default=False,
        description="The files also feed other collections (one per ECV of a product).",
    )
    kind: Literal["satellite", "in-situ", "reanalysis"] = Field(
        default="satellite",
        description="Where the record comes from: satellites (the hub's ECV records), or the "
        "in situ networks and reanalyses that serve as references beside them.",
    )
    attrs: dict[str, str] = Field(
        default_factory=dict,
        description="Global attributes (of PRODUCT_ATTRS) the source files lack or get wrong.",
    )
    source_path: str | None = Field(default=None, description="File the recipe came from.")

    @model_validator(mode="after")
    def _check(self) -> Recipe:
        if self.binning is not None:
            if self.grid.type != "latlon":
                raise ValueError("binning needs grid type 'latlon' naming the pixels' lat/lon")
            if self.time is None or not self.time.resolution or self.time.bounds != "period":
                raise ValueError("binning needs a time 'resolution' with 'bounds: period'")
        return self

    @model_validator(mode="after")
    def _check_attrs(self) -> Recipe:
        unknown = sorted(set(self.attrs) - set(PRODUCT_ATTRS))
        if unknown:
            raise ValueError(f"'attrs' may name only {', '.join(PRODUCT_ATTRS)}; not {unknown}")
        if any(not v.strip() for v in self.attrs.values()):
            raise ValueError("'attrs' values may not be empty")
        return self

    @property
    def published_variables(self) -> list[str]:
        """The cube's variables: the recipe's, with binning's count and spread beside each."""
        if self.binning is None:
            return list(self.variables)
        return [f"{v}{suffix}" for v in self.variables for suffix in ("", *BINNED_SUFFIXES)]
