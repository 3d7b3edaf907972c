"""The ECV table and the product recipes, loaded from the YAML files shipped in this package.

Adding a product is adding a recipe file: ``src/spaceclimate/ecv/recipes/<product>.yaml``
(or any folder listed in ``SCO_RECIPE_PATH``). A recipe may declare ``variants``: each
becomes its own collection (``<id>-<variant>``) with the variant's fields merged over the
recipe's.
"""

from __future__ import annotations

import contextlib
import copy
import fnmatch
import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from spaceclimate.ecv.models import BINNED_SUFFIXES, ECVDef, Recipe, VariableDef
from spaceclimate.errors import NoRecipeError, RecipeError

HERE = Path(__file__).parent

__all__ = [
    "ECVDef",
    "Recipe",
    "VariableDef",
    "get_ecv",
    "get_recipe",
    "get_variable",
    "list_ecvs",
    "list_recipes",
    "match_recipe",
    "match_recipes",
    "recipe_digest",
    "unit_table",
]


#: The C parser when PyYAML was built with libyaml (ten times faster), else the Python one;
#: both safe (plain data only).
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)  # noqa: S506
    except (OSError, yaml.YAMLError) as exc:
        raise RecipeError(f"{path.name}: cannot read YAML ({exc})") from exc


@lru_cache(maxsize=1)
def _ecv_document() -> dict[str, Any]:
    doc = _read_yaml(HERE / "ecvs.yaml")
    if not isinstance(doc, dict) or "ecvs" not in doc:
        raise RecipeError("ecvs.yaml: missing 'ecvs'")
    return doc


@lru_cache(maxsize=1)
def list_ecvs() -> dict[str, ECVDef]:
    """Return the ECV table as ``{ecv id: ECVDef}``."""
    out: dict[str, ECVDef] = {}
    for ecv_id, body in _ecv_document()["ecvs"].items():
        variables = {
            name: VariableDef(name=name, ecv=ecv_id, **spec)
            for name, spec in (body.get("variables") or {}).items()
        }
        try:
            out[ecv_id] = ECVDef(
                id=ecv_id,
                title=body["title"],
                domain=body["domain"],
                variables=variables,
                vertical=body.get("vertical"),
                names=tuple((body.get("names") or {}).items()),
            )
        except (KeyError, ValidationError) as exc:
            raise RecipeError(f"ecvs.yaml: ECV {ecv_id!r} is malformed ({exc})") from exc
    return out


def unit_table() -> dict[str, Any]:
    """Return the ``units`` section of the ECV table (definitions and aliases)."""
    return dict(_ecv_document().get("units") or {})


def get_ecv(ecv_id: str) -> ECVDef:
    """Return one ECV by id."""
    ecvs = list_ecvs()
    if ecv_id not in ecvs:
        raise RecipeError(f"unknown ECV {ecv_id!r}; known: {', '.join(sorted(ecvs))}")
    return ecvs[ecv_id]


def get_variable(name: str) -> VariableDef:
    """Return the canonical variable *name* from whichever ECV defines it.

    ``<v>_count`` and ``<v>_std`` are the companions binning adds beside a canonical
    variable ``v`` (see :class:`~spaceclimate.ecv.models.BinningSpec`).
    """
    for ecv in list_ecvs().values():
        if name in ecv.variables:
            return ecv.variables[name]
    for suffix in BINNED_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            with contextlib.suppress(RecipeError):
                return _binned_companion(get_variable(name[: -len(suffix)]), suffix)
    raise RecipeError(f"unknown canonical variable {name!r}")


@lru_cache(maxsize=256)
def _binned_companion(base: VariableDef, suffix: str) -> VariableDef:
    """The count or spread binning publishes beside canonical variable *base*."""
    if suffix == "_count":
        return VariableDef(
            name=base.name + suffix,
            ecv=base.ecv,
            standard_name="number_of_observations",
            long_name=f"Number of accepted level-2 observations of {base.long_name.lower()}",
            units="1",
            valid_range=(0.0, 2.0**31 - 1),
            colormap="viridis",
            display_range=(0.0, 50.0),
            coverage_content_type="auxiliaryInformation",
        )
    lo, hi = base.valid_range
    d_lo, d_hi = base.display_range
    return VariableDef(
        name=base.name + suffix,
        ecv=base.ecv,
        standard_name=base.standard_name,  # with cell_methods "area: standard_deviation"
        long_name=f"Standard deviation within the cell of {base.long_name.lower()}",
        units=base.units,
        valid_range=(0.0, hi - lo),
        colormap="magma",
        display_range=(0.0, (d_hi - d_lo) / 10.0),
        display_units=base.display_units,
        coverage_content_type="qualityInformation",
    )


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and key != "variables":
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _expand(doc: dict[str, Any], path: Path) -> list[Recipe]:
    variants = doc.pop("variants", None)
    bodies: list[dict[str, Any]] = []
    if variants:
        for suffix, over in variants.items():
            body = _deep_merge(doc, over or {})
            body["id"] = f"{doc['id']}-{suffix}"
            bodies.append(body)
    else:
        bodies.append(doc)
    recipes = []
    for body in bodies:
        body["source_path"] = path.name
        try:
            recipe = Recipe(**body)
        except (ValidationError, TypeError) as exc:
            first = str(exc).splitlines()
            raise RecipeError(f"{path.name}: invalid recipe ({' '.join(first[:3])})") from exc
        ecv = get_ecv(recipe.ecv)
        for var in recipe.variables:
            if var not in ecv.variables:
                raise RecipeError(
                    f"{path.name}: variable {var!r} is not a variable of ECV {recipe.ecv!r}"
                )
        recipes.append(recipe)
    return recipes


def _recipe_dirs() -> list[Path]:
    dirs = [HERE / "recipes"]
    extra = os.environ.get("SCO_RECIPE_PATH", "")
    dirs.extend(Path(p) for p in extra.split(os.pathsep) if p)
    return dirs


def list_recipes() -> dict[str, Recipe]:
    """Return every recipe (variants expanded) as ``{collection id: Recipe}``."""
    return dict(_load_recipes(tuple(str(d) for d in _recipe_dirs())))


@lru_cache(maxsize=4)
def _load_recipes(dirs: tuple[str, ...]) -> tuple[tuple[str, Recipe], ...]:
    found: dict[str, Recipe] = {}
    for folder in dirs:
        for path in sorted(Path(folder).glob("*.yaml")):
            doc = _read_yaml(path)
            if not isinstance(doc, dict):
                raise RecipeError(f"{path.name}: a recipe must be a mapping")
            for recipe in _expand(doc, path):
                if recipe.id in found:
                    raise RecipeError(f"{path.name}: duplicate collection id {recipe.id!r}")
                found[recipe.id] = recipe
    return tuple(found.items())


def get_recipe(recipe_id: str) -> Recipe:
    """Return the recipe of collection *recipe_id*, or raise NoRecipeError naming the known ones."""
    recipes = list_recipes()
    if recipe_id not in recipes:
        raise NoRecipeError(f"no recipe {recipe_id!r}; known: {', '.join(sorted(recipes))}")
    return recipes[recipe_id]


def match_recipes(path: Path) -> list[Recipe]:
    """Guess the recipes of a source file from its name: one, or several that share it.

    A multi-parameter product (a radiometer's SST, wind, water vapour and rain in one file)
    feeds one collection per ECV: recipes that say ``shared_source: true`` may match the
    same files, and each takes its own variables from them.

    Raises
    ------
    NoRecipeError
        When no recipe matches the file name, or several do and not all share their files.
    """
    name = path.name
    hits = [r for r in list_recipes().values() if any(fnmatch.fnmatch(name, p) for p in r.match)]
    if not hits:
        raise NoRecipeError(f"{name}: no recipe matches this file; name one with --recipe")
    if len(hits) > 1 and not all(r.shared_source for r in hits):
        ids = ", ".join(r.id for r in hits)
        raise NoRecipeError(f"{name}: several recipes match ({ids}); name one with --recipe")
    return hits


def match_recipe(path: Path) -> Recipe:
    """Guess the one recipe of a source file from its name (see :func:`match_recipes`).

    Raises
    ------
    NoRecipeError
        When no recipe, or more than one, matches the file name.
    """
    hits = match_recipes(path)
    if len(hits) > 1:
        ids = ", ".join(r.id for r in hits)
        raise NoRecipeError(f"{path.name}: several recipes match ({ids}); name one with --recipe")
    return hits[0]


def recipe_digest(recipe: Recipe) -> str:
    """Return a sha256 over the recipe and the ECV definitions of its variables."""
    payload = {
        "recipe": recipe.model_dump(mode="json", exclude={"source_path"}),
        "variables": {v: get_variable(v).model_dump(mode="json") for v in recipe.variables},
    }
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()
