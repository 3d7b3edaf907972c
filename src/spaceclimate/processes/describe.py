"""OGC API Processes 1.0 descriptions of the operations."""

from __future__ import annotations

from typing import Any

from spaceclimate.compute.registry import Operation


def description_document(operation: Operation, base: str) -> dict[str, Any]:
    """Return the OGC API Processes description of an operation.

    Each input carries its JSON schema (with the keys ``x-sco-kind``, ``x-sco-of``,
    ``x-sco-units`` and ``x-sco-labels`` that forms read), ``sco:ecvs`` says which ECVs the
    process applies to and ``sco:label`` names its result for people.
    """
    return {
        "id": operation.id,
        "title": operation.title,
        "description": operation.description,
        "version": operation.version,
        "jobControlOptions": ["sync-execute", "async-execute", "dismiss"],
        "outputTransmission": ["value", "reference"],
        "sco:ecvs": list(operation.ecvs),
        "sco:label": operation.label or operation.title,
        "sco:oneOf": list(operation.inputs.one_of),
        "inputs": {
            name: {
                "title": spec["title"],
                "description": spec["description"],
                "schema": spec["schema"],
                "minOccurs": 1 if spec["required"] else 0,
                "maxOccurs": 1,
            }
            for name, spec in operation.input_schemas().items()
        },
        "outputs": {
            name: {
                "title": out.title,
                "schema": {"type": "object", "contentMediaType": "application/json"},
                "sco:kind": out.kind,
            }
            for name, out in operation.outputs.items()
        },
        "links": [
            {"rel": "self", "href": f"{base}/processes/{operation.id}", "type": "application/json"},
            {
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/execute",
                "href": f"{base}/processes/{operation.id}/execution",
                "type": "application/json",
                "title": "Execute (POST)",
            },
        ],
    }
