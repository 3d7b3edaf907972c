// The dataset page: what a scientist needs before using a collection.

import { el, copyText, humanBytes, statusLine } from "./dom.js";
import { BASE, collection, getJSON } from "./api.js";
import {
  agencies, bbox, dataVariables, ecvLabel, hasTime, isGridded, resolutionLabel, timeRangeLabel,
  unitsLabel, variableInfo, viewRoute,
} from "./collections.js";

/** An http(s) URL from metadata, or null (never javascript: or data: links). */
export function safeHref(value) {
  try {
    const parsed = new URL(String(value), window.location.href);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
  } catch {
    return null;
  }
}

function link(href, text) {
  const safe = safeHref(href);
  return safe ? el("a", { href: safe, rel: "noopener noreferrer" }, text || safe) : el("span", {}, text || "");
}

function table(caption, head, rows) {
  return el("div", { class: "table-wrap" }, el("table", {},
    el("caption", {}, caption),
    el("thead", {}, el("tr", {}, head.map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, rows.map((r) => el("tr", {}, r.map((c, i) => (i === 0 ? el("th", { scope: "row" }, c) : el("td", {}, c))))))));
}

function snippet(title, code) {
  const status = statusLine("copy-status");
  const pre = el("pre", { tabindex: "0" }, el("code", {}, code));
  return el("div", { class: "snippet" },
    el("div", { class: "snippet-head" }, el("h3", {}, title),
      el("button", { type: "button", onclick: () => copyText(code, status), "aria-label": `Copy: ${title}` }, "Copy")),
    pre, status);
}

function extentText(dim) {
  if (!dim.extent) return dim.values ? dim.values.join(", ") : "";
  return dim.extent.map((v) => (typeof v === "number" ? Number(v.toPrecision(7)) : String(v))).join(" to ");
}

export function snippets(doc, base) {
  const cid = doc.id;
  const vars = dataVariables(doc);
  const v = vars[0];
  const [w, s, e, n] = bbox(doc);
  const lon = Number(((w + e) / 2).toFixed(2));
  const lat = Number(((s + n) / 2).toFixed(2));
  const list = [
    ["Python client", [
      "from spaceclimate.client import Hub",
      "",
      `hub = Hub("${base}")`,
      `ds = hub.open("${cid}")              # lazy xarray.Dataset over Zarr`,
      isGridded(doc)
        ? `ts = hub.timeseries("${cid}", ${lon}, ${lat}, variables="${v}")  # pandas DataFrame`
        : `print(ds["${v}"].to_series().tail())`,
      `hub.download("${cid}", "${cid}.nc", format="netcdf")`,
    ].join("\n")],
    ["xarray over Zarr", [
      "import xarray as xr",
      "",
      `ds = xr.open_zarr("${base}/zarr/${cid}", zarr_format=3)`,
      `print(ds["${v}"])`,
    ].join("\n")],
  ];
  if (isGridded(doc)) {
    list.push(["curl: EDR time series at a point (CSV)",
      `curl "${base}/edr/collections/${cid}/position?coords=POINT(${lon}%20${lat})&parameter-name=${v}&f=CSV"`]);
  } else {
    list.push(["curl: the series as CSV", `curl -o ${cid}.csv "${base}/download/${cid}?format=csv"`]);
  }
  list.push(["curl: STAC collection and items",
    `curl "${base}/stac/collections/${cid}"\ncurl "${base}/stac/collections/${cid}/items?limit=10"`]);
  return list;
}

export async function mountDataset(main, { args }) {
  const cid = args[0];
  const [doc, items] = await Promise.all([
    collection(cid),
    getJSON(`/stac/collections/${encodeURIComponent(cid)}/items`, { limit: 100 }).catch(() => ({ features: [] })),
  ]);
  document.title = `${doc.title || cid} · Details · spaceclimate hub`;
  const base = `${window.location.origin}${BASE}`;
  const licenseLinks = (doc.links || []).filter((l) => l.rel === "license");
  const variables = dataVariables(doc);
  const dims = doc["cube:dimensions"] || {};
  const publications = doc["sci:publications"] || [];
  const doi = doc["sci:doi"];

  main.append(el("article", { class: "dataset" },
    el("div", { class: "view-head" },
      el("h1", {}, doc.title || cid),
      el("p", { class: "links" },
        el("a", { class: "button primary", href: viewRoute(doc) }, isGridded(doc) ? "Open map" : "Open chart"), " ",
        el("a", { class: "button", href: `#/download/${encodeURIComponent(cid)}` }, "Download"))),
    el("dl", { class: "facts wide" },
      el("dt", {}, "Collection id"), el("dd", {}, el("code", {}, cid)),
      el("dt", {}, "Essential climate variable"), el("dd", {}, ecvLabel(doc["sco:ecv"])),
      el("dt", {}, "Agencies"), el("dd", {}, agencies(doc).join(", ")),
      el("dt", {}, "Time"), el("dd", {}, timeRangeLabel(doc)),
      el("dt", {}, "Resolution"), el("dd", {}, resolutionLabel(doc)),
      el("dt", {}, "Keywords"), el("dd", {}, (doc.keywords || []).join(", "))),
    el("section", {}, el("h2", {}, "Description"), el("p", { class: "description" }, doc.description || "")),
    el("section", {}, el("h2", {}, "Variables"),
      table("Data variables of the harmonised cube", ["name", "description", "units", "CF standard name", "dimensions"],
        variables.map((v) => {
          const info = variableInfo(doc, v);
          return [v, info.description || "", unitsLabel(info.unit), info["sco:standard_name"] || "", (info.dimensions || []).join(", ")];
        }))),
    el("section", {}, el("h2", {}, "Grid and time coverage"),
      table("Dimensions of the cube", ["dimension", "type", "extent", "step", "reference system"],
        Object.entries(dims).map(([name, d]) => [name, d.type || "", extentText(d), d.step === undefined || d.step === null ? "irregular" : String(d.step), d.reference_system ? `EPSG:${d.reference_system}` : ""])),
      el("p", {}, `Bounding box (lon/lat): ${bbox(doc).map((x) => Number(Number(x).toFixed(3))).join(", ")}`),
      hasTime(doc) ? null : el("p", {}, "This collection is static: it has no time axis.")),
    el("section", {}, el("h2", {}, "Licence"),
      el("p", {}, `Licence: ${doc.license || "not stated"}`),
      licenseLinks.length ? el("ul", {}, licenseLinks.map((l) => el("li", {}, link(l.href, l.title || l.href)))) : null),
    el("section", {}, el("h2", {}, "How to cite"),
      doc["sci:citation"] ? el("blockquote", { class: "citation" }, doc["sci:citation"]) : el("p", {}, "No citation given."),
      doi ? el("p", {}, "DOI: ", link(`https://doi.org/${doi}`, doi)) : el("p", { class: "muted" }, "No DOI is known for this product."),
      publications.length ? el("div", {}, el("h3", {}, "Publications"), el("ul", {}, publications.map((p) =>
        el("li", {}, p.citation || "", p.doi ? [" DOI: ", link(`https://doi.org/${p.doi}`, p.doi)] : null)))) : null),
    el("section", {}, el("h2", {}, "Provenance"),
      el("dl", { class: "facts wide" },
        el("dt", {}, "Product version"), el("dd", {}, String(doc.version ?? "not stated")),
        el("dt", {}, "Hub version of the cube"), el("dd", {}, `v${doc["sco:version"] ?? 1}`),
        el("dt", {}, "Recipe"), el("dd", {}, el("code", {}, doc["sco:recipe"] || "")),
        el("dt", {}, "Providers"), el("dd", {}, el("ul", { class: "plain" }, (doc.providers || []).map((p) =>
          el("li", {}, p.url ? link(p.url, p.name) : p.name, p.roles ? ` (${p.roles.join(", ")})` : ""))))),
      table(`Source files (${items.features.length} item${items.features.length === 1 ? "" : "s"})`,
        ["item", "time", "source file", "size", "checksum (multihash SHA-256)"],
        items.features.map((f) => {
          const src = ((f.assets || {}).source || {})["sco:source_file"] || {};
          const p = f.properties || {};
          const time = p.start_datetime ? `${String(p.start_datetime).slice(0, 10)} to ${String(p.end_datetime || "").slice(0, 10)}` : String(p.datetime || "static").slice(0, 10);
          return [f.id, time, src.title || "", src["file:size"] ? humanBytes(src["file:size"]) : "", el("code", { class: "checksum" }, src["file:checksum"] || "")];
        }))),
    el("section", {}, el("h2", {}, "Use it"), snippets(doc, base).map(([t, c]) => snippet(t, c)))));
  return {};
}
