// The catalog: search collections by text, ECV, agency, mission, box and time; show results.

import { el, field, select, statusLine, clear } from "./dom.js";
import { allCollections, getJSON, url } from "./api.js";
import { agencies, ecvLabel, isGridded, missions, resolutionLabel, timeRangeLabel, viewRoute } from "./collections.js";
import { createMap, boxTool } from "./mapkit.js";
import { updateQuery } from "./app.js";
import { errorText, t } from "./i18n.js";

const uniqueSorted = (values) => [...new Set(values.filter(Boolean))].sort((a, b) => a.localeCompare(b));
/** Where a record comes from: satellites, or the in situ and reanalysis references beside them. */
const kindOf = (doc) => doc["sco:kind"] || "satellite";
const KINDS = new Set(["satellite", "in-situ", "reanalysis", "derived"]);
const kindLabel = (kind) => (KINDS.has(kind) ? t(`kind.${kind}`) : kind);

/** Who made a derived collection: a key, an anonymous client or the hub. */
function madeBy(doc) {
  const who = String(doc["sco:made_by"] || "hub");
  if (who.startsWith("key:")) return t("catalog.madeByKey", { key: who.slice(4) });
  return who === "anonymous" ? t("catalog.madeByAnonymous") : t("catalog.madeByHub");
}

function card(doc) {
  const cid = encodeURIComponent(doc.id);
  const gridded = isGridded(doc);
  const titleId = `title-${doc.id}`;
  return el("li", { class: "card", dataset: { collection: doc.id } },
    el("img", {
      class: "thumb", src: url(`/portal/thumbnails/${cid}.png`), width: 192, height: 108,
      alt: t("catalog.preview", { title: doc.title || doc.id }), loading: "lazy", decoding: "async",
    }),
    el("div", { class: "card-body" },
      el("h2", { id: titleId }, el("a", { href: `#/dataset/${cid}` }, doc.title || doc.id),
        kindOf(doc) === "satellite" ? null
          : el("span", {
            class: "badge kind",
            title: doc["sco:derived"]
              ? t("catalog.derivedBadge", { who: madeBy(doc) })
              : t("catalog.referenceBadge"),
          }, kindLabel(kindOf(doc)))),
      el("p", { class: "card-id" }, doc.id),
      el("dl", { class: "facts" },
        el("dt", {}, t("fact.agency")), el("dd", {}, agencies(doc).join(", ")),
        el("dt", {}, t("fact.ecv")), el("dd", {}, ecvLabel(doc["sco:ecv"], doc)),
        el("dt", {}, t("fact.time")), el("dd", {}, timeRangeLabel(doc)),
        el("dt", {}, t("fact.resolution")), el("dd", {}, resolutionLabel(doc))),
      el("p", { class: "actions" },
        el("a", { class: "button primary", href: viewRoute(doc), "aria-describedby": titleId },
          gridded ? t("action.openMap") : t("action.openChart")),
        el("a", { class: "button", href: `#/dataset/${cid}`, "aria-describedby": titleId }, t("action.details")),
        el("a", { class: "button", href: `#/download/${cid}`, "aria-describedby": titleId }, t("action.download")))));
}

export async function mountCatalog(main, { params }) {
  document.title = t("catalog.docTitle");
  const docs = await allCollections();
  const ecvs = uniqueSorted(docs.map((d) => d["sco:ecv"]));
  const agencyNames = uniqueSorted(docs.flatMap(agencies));
  const missionNames = uniqueSorted(docs.flatMap(missions));
  const satellite = docs.filter((d) => kindOf(d) === "satellite");
  const references = docs.length - satellite.length;
  const satelliteEcvs = uniqueSorted(satellite.map((d) => d["sco:ecv"])).length;
  const satelliteAgencies = uniqueSorted(satellite.flatMap(agencies)).length;
  const any = { value: "", label: t("catalog.any") };
  const ecvDocs = new Map(docs.map((d) => [d["sco:ecv"], d]));

  const q = el("input", { type: "search", name: "q", value: params.get("q") || "", placeholder: t("catalog.textPlaceholder") });
  const ecv = select([any, ...ecvs.map((e) => ({ value: e, label: ecvLabel(e, ecvDocs.get(e)) })).sort((a, b) => a.label.localeCompare(b.label))], params.get("ecv") || "", { name: "ecv" });
  const agency = select([any, ...agencyNames], params.get("agency") || "", { name: "agency" });
  const mission = select([any, ...missionNames], params.get("mission") || "", { name: "mission" });
  const kinds = uniqueSorted(docs.map(kindOf)).map((k) => ({ value: k, label: kindLabel(k) }));
  const kind = select([any, ...kinds], params.get("kind") || "", { name: "kind" });
  const start = el("input", { type: "date", name: "start", value: params.get("start") || "" });
  const end = el("input", { type: "date", name: "end", value: params.get("end") || "" });
  const bboxInput = el("input", { type: "text", name: "bbox", value: params.get("bbox") || "", placeholder: t("box.placeholder"), inputmode: "decimal", pattern: "^\\s*-?[0-9.]+(\\s*,\\s*-?[0-9.]+){3}\\s*$" });
  const mapBox = el("div", { class: "mini-map", id: "catalog-map" });
  const clearBox = el("button", { type: "button" }, t("box.clear"));
  const status = statusLine();
  const results = el("ul", { class: "results", "aria-label": t("catalog.results") });

  const form = el("form", { class: "search panel", role: "search", "aria-label": t("catalog.searchLabel") },
    el("div", { class: "search-grid" },
      field(t("catalog.text"), q, t("catalog.textHint")).wrap,
      field(t("fact.ecvLong"), ecv).wrap,
      field(t("fact.agency"), agency).wrap,
      field(t("catalog.mission"), mission).wrap,
      field(t("catalog.kind"), kind, t("catalog.kindHint")).wrap,
      field(t("time.from"), start).wrap,
      field(t("time.to"), end).wrap),
    el("fieldset", { class: "bbox-field" },
      el("legend", {}, t("box.area")),
      mapBox,
      el("div", { class: "row" }, field(t("box.label"), bboxInput, t("box.hint")).wrap),
      el("div", { class: "buttons" }, clearBox)),
    el("div", { class: "buttons" },
      el("button", { type: "submit", class: "primary" }, t("catalog.search")),
      el("button", { type: "reset" }, t("catalog.reset"))));

  main.append(el("section", { class: "catalog" },
    el("h1", {}, t("catalog.title")),
    el("p", { class: "intro" }, t(references ? "catalog.introWithReferences" : "catalog.intro", { records: satellite.length, ecvs: satelliteEcvs, agencies: satelliteAgencies, references })),
    el("div", { class: "catalog-layout" }, form,
      el("div", { class: "catalog-results" }, status, results))));

  const map = createMap(mapBox, { scale: "110m", zoom: 0, minZoom: 0, maxBounds: [[-90, -180], [90, 180]], label: t("catalog.mapLabel") });
  map.fitBounds([[-60, -180], [75, 180]], { animate: false });
  const tool = boxTool(map, {
    label: t("box.draw"),
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
    status.textContent = t("catalog.searching");
    try {
      const doc = await getJSON("/stac/collections", { q: q.value.trim(), ecv: ecv.value, agency: agency.value, bbox: box, datetime, limit: 1000 }, { signal: controller.signal });
      let found = doc.collections;
      if (mission.value) found = found.filter((d) => missions(d).includes(mission.value));
      if (kind.value) found = found.filter((d) => kindOf(d) === kind.value);
      clear(results);
      results.append(...found.map(card));
      status.textContent = t("catalog.found", { count: found.length });
      results.dataset.count = String(found.length);
    } catch (err) {
      if (err.name === "AbortError") return;
      clear(results);
      status.textContent = t("catalog.failed", { message: errorText(err) });
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
