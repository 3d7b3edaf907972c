"""Conformance classes of the STAC API: core, features, item search and its extensions."""

from __future__ import annotations

STAC_API = "https://api.stacspec.org"
OGC_FEATURES = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf"
OGC_FILTER = "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf"
CQL2 = "http://www.opengis.net/spec/cql2/1.0/conf"

#: Federated item search (``/stac/search?federated=true``), an extension of this hub.
FEDERATED_SEARCH = "urn:spaceclimate:conformance:federated-search:1.0"

CONFORMANCE: tuple[str, ...] = (
    # STAC API core, collections, features and item search
    f"{STAC_API}/v1.0.0/core",
    f"{STAC_API}/v1.0.0/collections",
    f"{STAC_API}/v1.0.0/ogcapi-features",
    f"{STAC_API}/v1.0.0/item-search",
    f"{OGC_FEATURES}/core",
    f"{OGC_FEATURES}/oas30",
    f"{OGC_FEATURES}/geojson",
    # collection search (bbox, datetime, q, limit, paging)
    f"{STAC_API}/v1.0.0-rc.1/collection-search",
    f"{STAC_API}/v1.0.0-rc.1/collection-search#free-text",
    "http://www.opengis.net/spec/ogcapi-common-2/1.0/conf/simple-query",
    # free text on items
    f"{STAC_API}/v1.0.0-rc.1/item-search#free-text",
    f"{STAC_API}/v1.0.0-rc.1/ogcapi-features#free-text",
    # filter (CQL2 text and JSON)
    f"{STAC_API}/v1.0.0-rc.2/item-search#filter",
    f"{STAC_API}/v1.0.0-rc.2/ogcapi-features#filter",
    f"{OGC_FILTER}/filter",
    f"{OGC_FILTER}/features-filter",
    f"{CQL2}/cql2-text",
    f"{CQL2}/cql2-json",
    f"{CQL2}/basic-cql2",
    f"{CQL2}/advanced-comparison-operators",
    f"{CQL2}/basic-spatial-functions",
    f"{CQL2}/basic-spatial-functions-plus",
    # sort and fields
    f"{STAC_API}/v1.0.0/item-search#sort",
    f"{STAC_API}/v1.0.0/ogcapi-features#sort",
    f"{STAC_API}/v1.0.0/item-search#fields",
    f"{STAC_API}/v1.0.0/ogcapi-features#fields",
    # federated search over the hub's peers (spaceclimate.peers.search)
    FEDERATED_SEARCH,
)
