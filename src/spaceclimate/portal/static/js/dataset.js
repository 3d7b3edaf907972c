// The dataset page: what a scientist needs before using a collection.

import { el, copyText, dataTable as table, humanBytes, statusLine } from "./dom.js";
import { BASE, collection, getJSON } from "./api.js";
import {
  agencies, bbox, dataVariables, ecvLabel, hasTime, isGridded, resolutionLabel, timeRangeLabel,
  unitsLabel, variableInfo, variableLabel, viewRoute,
} from "./collections.js";
import { formatDate, formatPlain, t } from "./i18n.js";

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

function snippet(title, code) {
  const status = statusLine("copy-status");
  const pre = el("pre", { tabindex: "0" }, el("code", {}, code));
  return el("div", { class: "snippet" },
    el("div", { class: "snippet-head" }, el("h3", {}, title),
      el("button", { type: "button", onclick: () => copyText(code, status), "aria-label": t("dataset.copyLabel", { title }) }, t("dataset.copy"))),
    pre, status);
}

function extentText(dim) {
  if (!dim.extent) return dim.values ? dim.values.join(", ") : "";
  const [low, high] = dim.extent.map((v) => (typeof v === "number" ? formatPlain(v, 7) : formatDate(v)));
  return t("time.range", { start: low, end: high });
}

export function snippets(doc, base) {
  const cid = doc.id;
  const vars = dataVariables(doc);
  const v = vars[0];
  const [w, s, e, n] = bbox(doc);
  const lon = Number(((w + e) / 2).toFixed(2));
  const lat = Number(((s + n) / 2).toFixed(2));
  const list = [
    [t("dataset.snippet.python"), [
      "from spaceclimate.client import Hub",
      "",
      `hub = Hub("${base}")`,
      `ds = hub.open("${cid}")              # lazy xarray.Dataset over Zarr`,
      isGridded(doc)
        ? `ts = hub.timeseries("${cid}", ${lon}, ${lat}, variables="${v}")  # pandas DataFrame`
        : `print(ds["${v}"].to_series().tail())`,
      `hub.download("${cid}", "${cid}.nc", format="netcdf")`,
    ].join("\n")],
    [t("dataset.snippet.xarray"), [
      "import xarray as xr",
      "",
      `ds = xr.open_zarr("${base}/zarr/${cid}", zarr_format=3)`,
      `print(ds["${v}"])`,
    ].join("\n")],
  ];
  if (isGridded(doc)) {
    list.push([t("dataset.snippet.edr"),
      `curl "${base}/edr/collections/${cid}/position?coords=POINT(${lon}%20${lat})&parameter-name=${v}&f=CSV"`]);
  } else {
    list.push([t("dataset.snippet.csv"), `curl -o ${cid}.csv "${base}/download/${cid}?format=csv"`]);
  }
  list.push([t("dataset.snippet.stac"),
    `curl "${base}/stac/collections/${cid}"\ncurl "${base}/stac/collections/${cid}/items?limit=10"`]);
  return list;
}

export async function mountDataset(main, { args }) {
  const cid = args[0];
  const [doc, items] = await Promise.all([
    collection(cid),
    getJSON(`/stac/collections/${encodeURIComponent(cid)}/items`, { limit: 100 }).catch(() => ({ features: [] })),
  ]);
  document.title = t("dataset.docTitle", { title: doc.title || cid });
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
        el("a", { class: "button primary", href: viewRoute(doc) }, isGridded(doc) ? t("action.openMap") : t("action.openChart")), " ",
        el("a", { class: "button", href: `#/download/${encodeURIComponent(cid)}` }, t("action.download")))),
    el("dl", { class: "facts wide" },
      el("dt", {}, t("dataset.id")), el("dd", {}, el("code", {}, cid)),
      el("dt", {}, t("fact.ecvLong")), el("dd", {}, ecvLabel(doc["sco:ecv"], doc)),
      el("dt", {}, t("dataset.agencies")), el("dd", {}, agencies(doc).join(", ")),
      el("dt", {}, t("fact.time")), el("dd", {}, timeRangeLabel(doc)),
      el("dt", {}, t("fact.resolution")), el("dd", {}, resolutionLabel(doc)),
      el("dt", {}, t("dataset.keywords")), el("dd", {}, (doc.keywords || []).join(", "))),
    el("section", {}, el("h2", {}, t("dataset.description")), el("p", { class: "description" }, doc.description || "")),
    el("section", {}, el("h2", {}, t("dataset.variables")),
      table(t("dataset.variablesCaption"), [t("dataset.col.name"), t("dataset.col.description"), t("dataset.col.units"), t("dataset.col.standardName"), t("dataset.col.dimensions")],
        variables.map((v) => {
          const info = variableInfo(doc, v);
          return [v, variableLabel(doc, v) === v ? "" : variableLabel(doc, v), unitsLabel(info.unit), info["sco:standard_name"] || "", (info.dimensions || []).join(", ")];
        }))),
    el("section", {}, el("h2", {}, t("dataset.grid")),
      table(t("dataset.dimensionsCaption"), [t("dataset.col.dimension"), t("dataset.col.type"), t("dataset.col.extent"), t("dataset.col.step"), t("dataset.col.crs")],
        Object.entries(dims).map(([name, d]) => [name, d.type || "", extentText(d), d.step === undefined || d.step === null ? t("dataset.irregular") : String(d.step), d.reference_system ? `EPSG:${d.reference_system}` : ""])),
      el("p", {}, t("dataset.bbox", { bbox: bbox(doc).map((x) => formatPlain(Number(Number(x).toFixed(3)), 7)).join(t("list.numbers")) })),
      hasTime(doc) ? null : el("p", {}, t("dataset.static"))),
    el("section", {}, el("h2", {}, t("dataset.licence")),
      el("p", {}, t("dataset.licenceIs", { licence: doc.license || t("dataset.notStated") })),
      licenseLinks.length ? el("ul", {}, licenseLinks.map((l) => el("li", {}, link(l.href, l.title || l.href)))) : null),
    el("section", {}, el("h2", {}, t("dataset.cite")),
      doc["sci:citation"] ? el("blockquote", { class: "citation" }, doc["sci:citation"]) : el("p", {}, t("dataset.noCitation")),
      doi ? el("p", {}, "DOI: ", link(`https://doi.org/${doi}`, doi)) : el("p", { class: "muted" }, t("dataset.noDoi")),
      publications.length ? el("div", {}, el("h3", {}, t("dataset.publications")), el("ul", {}, publications.map((p) =>
        el("li", {}, p.citation || "", p.doi ? [" DOI: ", link(`https://doi.org/${p.doi}`, p.doi)] : null)))) : null),
    el("section", {}, el("h2", {}, t("dataset.provenance")),
      el("dl", { class: "facts wide" },
        el("dt", {}, t("dataset.productVersion")), el("dd", {}, String(doc.version ?? t("dataset.notStated"))),
        el("dt", {}, t("dataset.hubVersion")), el("dd", {}, `v${doc["sco:version"] ?? 1}`),
        el("dt", {}, t("dataset.recipe")), el("dd", {}, el("code", {}, doc["sco:recipe"] || "")),
        el("dt", {}, t("dataset.providers")), el("dd", {}, el("ul", { class: "plain" }, (doc.providers || []).map((p) =>
          el("li", {}, p.url ? link(p.url, p.name) : p.name, p.roles ? ` (${p.roles.map((r) => t(`role.${r}`)).join(", ")})` : ""))))),
      table(t("dataset.sources", { count: items.features.length }),
        [t("dataset.col.item"), t("dataset.col.time"), t("dataset.col.source"), t("dataset.col.size"), t("dataset.col.checksum")],
        items.features.map((f) => {
          const src = ((f.assets || {}).source || {})["sco:source_file"] || {};
          const p = f.properties || {};
          const time = p.start_datetime ? t("time.range", { start: formatDate(p.start_datetime), end: formatDate(p.end_datetime || "") }) : p.datetime ? formatDate(p.datetime) : t("dataset.staticItem");
          return [f.id, time, src.title || "", src["file:size"] ? humanBytes(src["file:size"]) : "", el("code", { class: "checksum" }, src["file:checksum"] || "")];
        }))),
    el("section", {}, el("h2", {}, t("dataset.use")), snippets(doc, base).map(([title, code]) => snippet(title, code)))));
  return {};
}
