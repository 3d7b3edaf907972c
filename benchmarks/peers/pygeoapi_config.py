"""Write the pygeoapi configuration and OpenAPI document of the benchmarks.

Usage (in benchmarks/.venv-peers): ``python pygeoapi_config.py OUT.yml ZARR [GROUP]``. The
collection ``sst`` is served by pygeoapi's EDR provider ``xarray-edr``.
"""

import subprocess
import sys
from pathlib import Path

import yaml

out, zarr_path = Path(sys.argv[1]), sys.argv[2]
group = sys.argv[3] if len(sys.argv) > 3 else None
provider = {
    "type": "edr",
    "name": "xarray-edr",
    "data": zarr_path,
    "x_field": "lon",
    "y_field": "lat",
    "time_field": "time",
    "format": {"name": "zarr", "mimetype": "application/zip"},
}
if group:
    provider["options"] = {"zarr": {"group": group}}
config = {
    "server": {
        "bind": {"host": "127.0.0.1", "port": 5000},
        "url": "http://127.0.0.1:5000",
        "mimetype": "application/json; charset=UTF-8",
        "encoding": "utf-8",
        "languages": ["en-US"],
        "limits": {"default_items": 10, "max_items": 10},
        "map": {"url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png", "attribution": "OSM"},
    },
    "logging": {"level": "ERROR"},
    "metadata": {
        "identification": {
            "title": "bench",
            "description": "benchmark",
            "keywords": ["sst"],
            "keywords_type": "theme",
            "terms_of_service": "none",
            "url": "http://127.0.0.1",
        },
        "license": {"name": "none", "url": "http://127.0.0.1"},
        "provider": {"name": "bench", "url": "http://127.0.0.1"},
        "contact": {"name": "bench"},
    },
    "resources": {
        "sst": {
            "type": "collection",
            "title": "sst",
            "description": "OSTIA-shaped SST",
            "keywords": ["sst"],
            "extents": {
                "spatial": {
                    "bbox": [-180, -90, 180, 90],
                    "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
                }
            },
            "providers": [provider],
        }
    },
}
out.write_text(yaml.safe_dump(config, sort_keys=False))
openapi = out.with_suffix(".openapi.yml")
doc = subprocess.run(
    [str(Path(sys.executable).with_name("pygeoapi")), "openapi", "generate", str(out)],
    check=True,
    capture_output=True,
    text=True,
).stdout
openapi.write_text(doc)
print(openapi)
