"""Process descriptions (from ``processes.yaml``), input validation and the run environment."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from spaceclimate import __version__
from spaceclimate.errors import InputError

DEFINITIONS = Path(__file__).with_name("processes.yaml")

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "number": (int, float),
    "integer": (int,),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


@dataclass(frozen=True)
class InputDef:
    """One input of a process: its JSON schema and whether it is required."""

    name: str
    title: str
    description: str
    schema: dict[str, Any]
    required: bool = False


@dataclass(frozen=True)
class Process:
    """A process: description, inputs, outputs and the name of the function that runs it."""

    id: str
    title: str
    description: str
    run: str
    inputs: dict[str, InputDef]
    outputs: dict[str, dict[str, Any]]
    one_of: tuple[str, ...] = ()
    version: str = __version__

    def validate(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """Return *inputs* with defaults filled in; InputError naming the first bad input."""
        if not isinstance(inputs, Mapping):
            raise InputError("inputs: must be an object of named inputs")
        unknown = sorted(set(inputs) - set(self.inputs))
        if unknown:
            raise InputError(
                f"inputs: {self.id} has no input {unknown[0]!r}; known: {', '.join(self.inputs)}"
            )
        out: dict[str, Any] = {}
        for name, spec in self.inputs.items():
            value = inputs.get(name)
            if isinstance(value, dict) and "value" in value and spec.schema.get("type") != "object":
                value = value["value"]  # OGC qualified input {"value": ...}
            if value is None:
                if spec.required:
                    raise InputError(f"inputs.{name}: required by {self.id}")
                if "default" in spec.schema:
                    out[name] = spec.schema["default"]
                continue
            out[name] = _check(value, spec.schema, f"inputs.{name}")
        if self.one_of:
            given = [n for n in self.one_of if out.get(n) is not None]
            if len(given) > 1:
                raise InputError(f"inputs: give at most one of {', '.join(self.one_of)}")
        return out

    def description_document(self, base: str) -> dict[str, Any]:
        """Return the OGC API Processes description of the process."""
        return {
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "version": self.version,
            "jobControlOptions": ["sync-execute", "async-execute", "dismiss"],
            "outputTransmission": ["value", "reference"],
            "inputs": {
                name: {
                    "title": spec.title,
                    "description": spec.description,
                    "schema": spec.schema,
                    "minOccurs": 1 if spec.required else 0,
                    "maxOccurs": 1,
                }
                for name, spec in self.inputs.items()
            },
            "outputs": {
                name: {
                    "title": out.get("title", name),
                    "schema": {"type": "object", "contentMediaType": "application/json"},
                    "sco:kind": out.get("kind"),
                }
                for name, out in self.outputs.items()
            },
            "links": [
                {"rel": "self", "href": f"{base}/processes/{self.id}", "type": "application/json"},
                {
                    "rel": "http://www.opengis.net/def/rel/ogc/1.0/execute",
                    "href": f"{base}/processes/{self.id}/execution",
                    "type": "application/json",
                    "title": "Execute (POST)",
                },
            ],
        }


def _check(value: Any, schema: Mapping[str, Any], name: str) -> Any:
    kind = schema.get("type")
    if kind is not None:
        allowed = _TYPES[str(kind)]
        if isinstance(value, bool) and kind not in ("boolean",):
            raise InputError(f"{name}: expected {kind}, got a boolean")
        if not isinstance(value, allowed):
            raise InputError(f"{name}: expected {kind}, got {type(value).__name__}")
        if kind == "integer" and isinstance(value, float):
            raise InputError(f"{name}: expected an integer")
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError(f"{name}: must be finite")
    if "enum" in schema and value not in schema["enum"]:
        raise InputError(f"{name}: must be one of {', '.join(map(str, schema['enum']))}")
    if isinstance(value, str):
        if len(value) < int(schema.get("minLength", 0)):
            raise InputError(f"{name}: must not be empty")
        if len(value) > int(schema.get("maxLength", 10_000)):
            raise InputError(f"{name}: longer than {schema['maxLength']} characters")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            raise InputError(f"{name}: must be at least {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            raise InputError(f"{name}: must be at most {schema['maximum']}")
    if isinstance(value, list):
        if len(value) < int(schema.get("minItems", 0)):
            raise InputError(f"{name}: needs at least {schema['minItems']} items")
        if len(value) > int(schema.get("maxItems", 100_000)):
            raise InputError(f"{name}: at most {schema['maxItems']} items")
        if "items" in schema:
            value = [_check(v, schema["items"], f"{name}[{i}]") for i, v in enumerate(value)]
    return value


@cache
def load_processes() -> dict[str, Process]:
    """Return every process described in ``processes.yaml``, by id."""
    doc = yaml.safe_load(DEFINITIONS.read_text(encoding="utf-8"))
    shared: dict[str, dict[str, Any]] = doc.get("inputs", {})
    out: dict[str, Process] = {}
    for pid, spec in doc["processes"].items():
        inputs: dict[str, InputDef] = {}
        for name, raw in spec.get("inputs", {}).items():
            merged = {**shared.get(raw.get("use", ""), {}), **raw}
            inputs[name] = InputDef(
                name=name,
                title=str(merged.get("title", name)),
                description=str(merged.get("description", "")),
                schema=dict(merged.get("schema", {})),
                required=bool(merged.get("required", False)),
            )
        out[pid] = Process(
            id=pid,
            title=spec["title"],
            description=" ".join(str(spec["description"]).split()),
            run=spec["run"],
            inputs=inputs,
            outputs=dict(spec.get("outputs", {})),
            one_of=tuple(spec.get("one_of", ())),
        )
    return out
