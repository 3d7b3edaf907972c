"""``/stac/search?federated=true``: the local answer merged with the live peers' answers.

See :mod:`spaceclimate.peers.search` for how peers are asked and what a partial answer is.
The answer is a STAC ItemCollection with ``sco:federation`` (``partial``, the deadline, and
per peer its status, time and count) and the header ``SCO-Federation: complete|partial``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import JSONResponse

from spaceclimate.access import access_for
from spaceclimate.api.stac import links as L
from spaceclimate.api.stac.fields import apply_fields
from spaceclimate.api.stac.search import MAX_LIMIT, ItemSearch
from spaceclimate.errors import InputError
from spaceclimate.params import parse_list
from spaceclimate.peers import PeerRegistry, split_id
from spaceclimate.peers.search import fan_out
from spaceclimate.services.context import HubContext


def federated_search(
    request: Request, ctx: HubContext, search: ItemSearch, base: str
) -> JSONResponse:
    """Answer an item search from this hub and its live peers (see the module)."""
    query = search.query
    want = query.offset + query.limit
    if want > MAX_LIMIT:
        raise InputError(f"parameter 'token': a federated search pages up to {MAX_LIMIT} items")
    params = list(request.query_params.multi_items())
    named = parse_list(request.query_params.get("collections"))
    peers = PeerRegistry(access_for(ctx).engine).list_peers()
    deadline = ctx.settings.federation_deadline
    answers = fan_out(peers, params, named, want, deadline)
    answered = {a.name for a in answers if a.status == "ok"}

    def elsewhere(cid: str) -> bool:
        parts = split_id(cid)
        return parts is not None and parts[0] in answered

    held = ctx.catalog.collection_ids()
    if named is None:
        kept = [c for c in held if not elsewhere(c)]
        local: tuple[str, ...] | None = None if len(kept) == len(held) else tuple(kept)
    else:
        known = set(held)
        local = tuple(c for c in named if c in known and not elsewhere(c))
    features: list[dict[str, Any]] = []
    matched, exact = 0, True
    if local != ():
        result = ctx.catalog.search(replace(query, collections=local, offset=0, limit=want))
        features = [L.item_out(f, base) for f in result.features]
        matched, exact = result.matched, result.matched_exact
    for answer in sorted(answers, key=lambda a: a.name):
        if answer.status != "ok":
            continue
        features.extend(answer.features)
        if answer.matched is None:
            exact = False
            matched += len(answer.features)
        else:
            matched += answer.matched
    page = [apply_fields(f, search.fields) for f in features[query.offset : want]]
    partial = any(a.status != "ok" for a in answers)
    url = f"{base}{request.url.path}"
    kept_params = [(k, v) for k, v in params if k != "token"]
    links = [
        L.link("self", f"{url}?{request.url.query}" if request.url.query else url, L.GEOJSON),
        L.link("root", L.stac_root(base)),
    ]
    if want < matched or (not exact and len(features) > want):
        qs = urlencode([*kept_params, ("token", str(want))], safe=",:/")
        links.append(L.link("next", f"{url}?{qs}", L.GEOJSON))
    if query.offset > 0:
        qs = urlencode(
            [*kept_params, ("token", str(max(0, query.offset - query.limit)))], safe=",:/"
        )
        links.append(L.link("prev", f"{url}?{qs}", L.GEOJSON))
    body: dict[str, Any] = {"type": "FeatureCollection", "features": page, "links": links}
    if exact:
        body["numberMatched"] = matched
    body["numberReturned"] = len(page)
    body["sco:federation"] = {
        "partial": partial,
        "deadline": deadline,
        "peers": [a.as_dict() for a in answers],
    }
    return JSONResponse(
        body,
        media_type=L.GEOJSON,
        headers={"SCO-Federation": "partial" if partial else "complete"},
    )
