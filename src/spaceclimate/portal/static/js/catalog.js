// The catalog: search collections by text, ECV, agency, mission, box and time; show results.

import { el, field, select, statusLine, clear } from "./dom.js";
import { allCollections, getJSON, url } from "./api.js";
import { agencies, ecvLabel, isGridded, missions, resolutionLabel, timeRangeLabel, viewRoute } from "./collections.js";
import { createMap, boxTool } from "./mapkit.js";
import { updateQuery } from "./app.js";

const uniqueSorted = (values) => [...new Set(values.filter(Boolean))].sort((a, b) => a.localeCompare(b));
/** Where a record comes from: satellites, or the in situ and reanalysis references beside them. */
const kindOf = (doc) => doc["sco:kind"] || "satellite";
const KIND_LABELS = { satellite: "Satellite", "in-situ": "In situ", reanalysis: "Reanalysis" };

function card(doc) {
  const cid = encodeURIComponent(doc.id);
  const gridded = isGridded(doc);
  const titleId = `title-${doc.id}`;
  return el("li", { class: "card", dataset: { collection: doc.id } },
    el("img", {
      class: "thumb", src: url(`/portal/thumbnails/${cid}.png`), width: 192, height: 108,
      alt: `Preview of ${doc.title || doc.id}`, loading: "lazy", decoding: "async",
    }),
    el("div", { class: "card-body" },
      el("h2", { id: titleId }, el("a", { href: `#/dataset/${cid}` }, doc.title || doc.id),
        kindOf(doc) === "satellite" ? null
          : el("span", { class: "badge kind", title: "A reference record, not a satellite one" }, KIND_LABELS[kindOf(doc)] || kindOf(doc))),
      el("p", { class: "card-id" }, doc.id),
      el("dl", { class: "facts" },
        el("dt", {}, "Agency"), el("dd", {}, agencies(doc).join(", ")),
        el("dt", {}, "ECV"), el("dd", {}, ecvLabel(doc["sco:ecv"])),
        el("dt", {}, "Time"), el("dd", {}, timeRangeLabel(doc)),
        el("dt", {}, "Resolution"), el("dd", {}, resolutionLabel(doc))),
      el("p", { class: "actions" },
        el("a", { class: "button primary", href: viewRoute(doc), "aria-describedby": titleId },
          gridded ? "Open map" : "Open chart"),
        el("a", { class: "button", href: `#/dataset/${cid}`, "aria-describedby": titleId }, "Details"),
        el("a", { class: "button", href: `#/download/${cid}`, "aria-describedby": titleId }, "Download"))));
}

export async function mountCatalog(main, { params }) {
  document.title = "Catalog · spaceclimate hub";
  const docs = await allCollections();
  const ecvs = uniqueSorted(docs.map((d) => d["sco:ecv"]));
  const agencyNames = uniqueSorted(docs.flatMap(agencies));
  const missionNames = uniqueSorted(docs.flatMap(missions));
  const satellite = docs.filter((d) => kindOf(d) === "satellite");
  const references = docs.length - satellite.length;
  const satelliteEcvs = uniqueSorted(satellite.map((d) => d["sco:ecv"])).length;
  const satelliteAgencies = uniqueSorted(satellite.flatMap(agencies)).length;
  const any = { value: "", label: "any" };

  const q = el("input", { type: "search", name: "q", value: params.get("q") || "", placeholder: "e.g. sea ice, OSTIA, salinity" });
  const ecv = select([any, ...ecvs.map((e) => ({ value: e, label: ecvLabel(e) }))], params.get("ecv") || "", { name: "ecv" });
  const agency = select([any, ...agencyNames], params.get("agency") || "", { name: "agency" });
  const mission = select([any, ...missionNames], params.get("mission") || "", { name: "mission" });
  const kinds = uniqueSorted(docs.map(kindOf)).map((k) => ({ value: k, label: KIND_LABELS[k] || k }));
  const kind = select([any, ...kinds], params.get("kind") || "", { name: "kind" });
  const start = el("input", { type: "date", name: "start", value: params.get("start") || "" });
  const end = el("input", { type: "date", name: "end", value: params.get("end") || "" });
  const bboxInput = el("input", { type: "text", name: "bbox", value: params.get("bbox") || "", placeholder: "west,south,east,north", inputmode: "decimal", pattern: "^\\s*-?[0-9.]+(\\s*,\\s*-?[0-9.]+){3}\\s*$" });
  const mapBox = el("div", { class: "mini-map", id: "catalog-map" });
  const clearBox = el("button", { type: "button" }, "Clear box");
  const status = statusLine();
  const results = el("ul", { class: "results", "aria-label": "Search results" });

  const form = el("form", { class: "search panel", role: "search", "aria-label": "Search collections" },
    el("div", { class: "search-grid" },
      field("Free text", q, "Words in titles, descriptions, keywords").wrap,
      field("Essential climate variable", ecv).wrap,
      field("Agency", agency).wrap,
      field("Mission", mission).wrap,
      field("Kind of record", kind, "Satellite records, or in situ and reanalysis references").wrap,
      field("From", start).wrap,
      field("To", end).wrap),
    el("fieldset", { class: "bbox-field" },
      el("legend", {}, "Area"),
      mapBox,
      el("div", { class: "row" }, field("Box (lon/lat)", bboxInput, "Draw it on the map or type it").wrap),
      el("div", { class: "buttons" }, clearBox)),
    el("div", { class: "buttons" },
      el("button", { type: "submit", class: "primary" }, "Search"),
      el("button", { type: "reset" }, "Reset")));

  main.append(el("section", { class: "catalog" },
    el("h1", {}, "Catalog"),
    el("p", { class: "intro" }, `${satellite.length} satellite climate data records of ${satelliteEcvs} essential climate variables from ${satelliteAgencies} agencies${references ? `, and ${references} in situ and reanalysis references beside them` : ""}, harmonised into analysis-ready cubes. Search, then open a map, a chart, the details or the download builder.`),
    el("div", { class: "catalog-layout" }, form,
      el("div", { class: "catalog-results" }, status, results))));

  const map = createMap(mapBox, { scale: "110m", zoom: 0, minZoom: 0, maxBounds: [[-90, -180], [90, 180]], label: "Map to draw the search area" });
  map.fitBounds([[-60, -180], [75, 180]], { animate: false });
  const tool = boxTool(map, {
    label: "Draw box",
    onBox(box) {
      bboxInput.value = box.join(",");
      run();
    },
  });
  mapBox.after(el("div", { class: "buttons" }, tool.button));
  if (bboxInput.value) tool.setBox(bboxInput.value.split(",").map(Number));

  let controller = null;
  async function run() {
    const box = bboxInput.value.trim();
    const datetime = start.value || end.value
      ? `${start.value ? `${start.value}T00:00:00Z` : ".."}/${end.value ? `${end.value}T23:59:59Z` : ".."}`
      : "";
    updateQuery({ q: q.value.trim(), ecv: ecv.value, agency: agency.value, mission: mission.value, kind: kind.value, start: start.value, end: end.value, bbox: box });
    if (controller) controller.abort();
    controller = new AbortController();
    status.textContent = "Searching…";
    try {
      const doc = await getJSON("/stac/collections", { q: q.value.trim(), ecv: ecv.value, agency: agency.value, bbox: box, datetime, limit: 1000 }, { signal: controller.signal });
      let found = doc.collections;
      if (mission.value) found = found.filter((d) => missions(d).includes(mission.value));
      if (kind.value) found = found.filter((d) => kindOf(d) === kind.value);
      clear(results);
      results.append(...found.map(card));
      status.textContent = found.length === 1 ? "1 collection found." : `${found.length} collections found.`;
      results.dataset.count = String(found.length);
    } catch (err) {
      if (err.name === "AbortError") return;
      clear(results);
      status.textContent = `Search failed: ${err.message}`;
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    run();
  });
  form.addEventListener("reset", () => {
    setTimeout(() => {
      tool.setBox(null);
      run();
    }, 0);
  });
  for (const input of [ecv, agency, mission, start, end]) input.addEventListener("change", run);
  bboxInput.addEventListener("change", () => {
    const parts = bboxInput.value.split(",").map(Number);
    tool.setBox(parts.length === 4 && parts.every(Number.isFinite) ? parts : null);
    run();
  });
  clearBox.addEventListener("click", () => {
    bboxInput.value = "";
    tool.setBox(null);
    run();
  });
  await run();
  return {
    destroy() {
      tool.destroy();
      map.remove();
      if (controller) controller.abort();
    },
  };
}
