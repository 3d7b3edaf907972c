"""The hub's analytics operations as Python callables, made from its process descriptions.

The hub declares each operation once; its OGC process description (``/processes/{id}``)
carries the inputs with their JSON schemas. :class:`Operations` (``hub.ops``) turns each into
a method with the inputs as keyword arguments and a docstring listing them::

    hub.ops.trend(collection="nsidc-sea-ice-index-north", month=9)   # outputs, at once
    job = hub.ops.trend.submit(collection="...", month=9)               # as a job
    help(hub.ops.trend)

Input names are checked here, before anything is sent: a misspelt name raises
:class:`~spaceclimate.client.errors.HubBadRequest` naming the known ones.
"""

from __future__ import annotations

import keyword
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from spaceclimate.client.errors import HubBadRequest

if TYPE_CHECKING:
    from spaceclimate.client.hub import Hub, Job


@dataclass(frozen=True)
class OperationInfo:
    """One operation as the hub describes it."""

    id: str
    title: str
    description: str
    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    ecvs: tuple[str, ...] = ("*",)

    @classmethod
    def from_description(cls, doc: dict[str, Any]) -> OperationInfo:
        """Read an OGC API Processes description."""
        return cls(
            id=str(doc["id"]),
            title=str(doc.get("title", doc["id"])),
            description=str(doc.get("description", "")),
            inputs=dict(doc.get("inputs", {})),
            outputs=dict(doc.get("outputs", {})),
            ecvs=tuple(doc.get("sco:ecvs", ("*",))),
        )

    @property
    def required(self) -> list[str]:
        """The inputs that must be given."""
        return [n for n, spec in self.inputs.items() if int(spec.get("minOccurs", 0)) > 0]

    def check(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """Return *inputs* without Nones; HubBadRequest for unknown or missing names."""
        given = {k: v for k, v in inputs.items() if v is not None}
        unknown = sorted(set(given) - set(self.inputs))
        if unknown:
            detail = (
                f"inputs: {self.id} has no input {unknown[0]!r}; known: {', '.join(self.inputs)}"
            )
            raise HubBadRequest(400, "Bad Request", detail, {"detail": detail})
        missing = [n for n in self.required if n not in given]
        if missing:
            detail = f"inputs.{missing[0]}: required by {self.id}"
            raise HubBadRequest(400, "Bad Request", detail, {"detail": detail})
        return given

    def docstring(self) -> str:
        """A docstring listing the inputs (type, default, limits) and the outputs."""
        lines = [f"{self.title}.", "", self.description, "", "Parameters", "----------"]
        for name, spec in self.inputs.items():
            schema = spec.get("schema", {})
            kind = str(schema.get("type", "any"))
            if "enum" in schema:
                kind = "{" + ", ".join(repr(v) for v in schema["enum"]) + "}"
            extra = "" if int(spec.get("minOccurs", 0)) > 0 else ", optional"
            lines.append(f"{name} : {kind}{extra}")
            text = f"{spec.get('title', name)}. {spec.get('description', '')}".strip()
            if "default" in schema:
                text += f" Default: {schema['default']!r}."
            if schema.get("x-sco-units"):
                text += f" Units: {schema['x-sco-units']}."
            lines.append(f"    {text}")
        lines += ["", "Returns", "-------", "dict"]
        for name, out in self.outputs.items():
            lines.append(f"    {name}: {out.get('title', name)} ({out.get('sco:kind', '')})")
        return "\n".join(lines)


class OperationCall:
    """One operation of a hub: call it for its outputs, or ``.submit`` it as a job."""

    def __init__(self, hub: Hub, info: OperationInfo) -> None:
        self.hub = hub
        self.info = info
        self.__doc__ = info.docstring()
        self.__name__ = info.id

    def __repr__(self) -> str:
        return f"<operation {self.info.id!r} of {self.hub!r}: {self.info.title}>"

    def __call__(self, **inputs: Any) -> Any:
        """Run the operation at once and return its outputs (413: submit it instead)."""
        return self.hub.execute(self.info.id, **inputs)

    def submit(self, **inputs: Any) -> Job:
        """Run the operation as an asynchronous job."""
        return self.hub.submit(self.info.id, **inputs)


def attribute_name(operation_id: str) -> str:
    """The Python name of an operation: ``area-mean`` -> ``area_mean``."""
    name = operation_id.replace("-", "_").replace(".", "_")
    return f"{name}_" if keyword.iskeyword(name) or not name.isidentifier() else name


class Operations:
    """The operations of a hub as attributes (``hub.ops.area_mean``), read once."""

    def __init__(self, hub: Hub, describe: Callable[[], dict[str, OperationInfo]]) -> None:
        self._hub = hub
        self._describe = describe

    def _calls(self) -> dict[str, OperationCall]:
        return {
            attribute_name(op_id): OperationCall(self._hub, info)
            for op_id, info in self._describe().items()
        }

    def __getattr__(self, name: str) -> OperationCall:
        if name.startswith("_"):
            raise AttributeError(name)
        calls = self._calls()
        if name not in calls:
            raise AttributeError(f"the hub has no operation {name!r}; known: {', '.join(calls)}")
        return calls[name]

    def __dir__(self) -> list[str]:
        return sorted(self._calls())

    def __iter__(self) -> Iterator[OperationCall]:
        return iter(self._calls().values())

    def __repr__(self) -> str:
        return f"<operations of {self._hub!r}: {', '.join(self._calls())}>"
