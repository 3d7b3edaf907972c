// Compare two collections of one ECV: side by side with a shared colour range, or as a
// difference map (A - B, B resampled to A's tile pixels by the hub).

import { el, field, select, clear, dateLabel } from "./dom.js";
import { allCollections, getJSON, hasPath, url } from "./api.js";
import { bbox, dataVariables, ecvLabel, isGridded, unitsLabel, variableInfo } from "./collections.js";
import { createMap, legend, syncMaps } from "./mapkit.js";
import { updateQuery } from "./app.js";
import { t } from "./i18n.js";

const L = window.L;
const DEFAULT_PAIR = ["ukmo-ostia-sst-monthly:sst", "noaa-ersst-v5:sst"];
const DAY = 86400000;
const WORLD = [[-85.05, -180], [85.05, 180]];

function splitLayer(text) {
  const i = (text || "").indexOf(":");
  return i < 0 ? [text || "", ""] : [text.slice(0, i), text.slice(i + 1)];
}

/** Index in `times` nearest the instant `iso`. */
function nearest(times, iso) {
  const target = Date.parse(iso);
  let best = 0;
  times.forEach((t, i) => {
    if (Math.abs(Date.parse(t) - target) < Math.abs(Date.parse(times[best]) - target)) best = i;
  });
  return best;
}

/** The latest pair of steps of A and B less than 16 days apart (or the latest of each). */
function overlap(timesA, timesB) {
  for (let i = timesA.length - 1; i >= 0; i -= 1) {
    const j = nearest(timesB, timesA[i]);
    if (timesB.length && Math.abs(Date.parse(timesA[i]) - Date.parse(timesB[j])) <= 16 * DAY) return [i, j];
  }
  return [Math.max(0, timesA.length - 1), Math.max(0, timesB.length - 1)];
}

export async function mountCompare(main, { params }) {
  document.title = t("compare.docTitle");
  const docs = (await allCollections()).filter(isGridded);
  const byId = new Map(docs.map((d) => [d.id, d]));
  let [aId, aVar] = splitLayer(params.get("a") || DEFAULT_PAIR[0]);
  if (!byId.has(aId)) [aId, aVar] = [docs[0].id, ""];
  const sameEcv = (id) => docs.filter((d) => d["sco:ecv"] === byId.get(id)["sco:ecv"]);
  let [bId, bVar] = splitLayer(params.get("b") || DEFAULT_PAIR[1]);
  if (!byId.has(bId) || byId.get(bId)["sco:ecv"] !== byId.get(aId)["sco:ecv"]) {
    const partners = sameEcv(aId).filter((d) => d.id !== aId);
    [bId, bVar] = [(partners[0] || byId.get(aId)).id, ""];
  }
  const pickVar = (id, v) => (dataVariables(byId.get(id)).includes(v) ? v : dataVariables(byId.get(id))[0]);
  aVar = pickVar(aId, aVar);
  bVar = pickVar(bId, bVar);
  const diffPath = (await hasPath("/tiles/diff/{z}/{x}/{y}.png")) ? "/tiles/diff" : "/portal/diff";

  const tiles = (id, v) => `/tiles/${encodeURIComponent(id)}/${encodeURIComponent(v)}`;
  let [tjA, tjB] = await Promise.all([getJSON(`${tiles(aId, aVar)}/tilejson.json`), getJSON(`${tiles(bId, bVar)}/tilejson.json`)]);
  let timesA = tjA["sco:times"] || [];
  let timesB = tjB["sco:times"] || [];
  let [ia, ib] = overlap(timesA, timesB);
  if (params.get("ta") && timesA.length) ia = nearest(timesA, params.get("ta"));
  if (params.get("tb") && timesB.length) ib = nearest(timesB, params.get("tb"));
  let range = [tjA["sco:range"][0], tjA["sco:range"][1]];
  if (params.has("min") && params.has("max") && Number(params.get("min")) < Number(params.get("max"))) range = [Number(params.get("min")), Number(params.get("max"))];
  let half = Number(params.get("d")) > 0 ? Number(params.get("d")) : Number(((range[1] - range[0]) / 16).toPrecision(1));
  let mode = params.get("mode") === "diff" ? "diff" : "side";

  // -- controls -----------------------------------------------------------------------------
  const aSelect = select(docs.map((d) => ({ value: d.id, label: `${d.title || d.id}` })), aId);
  const bSelect = select([], bId);
  const aVarSelect = select([], aVar);
  const bVarSelect = select([], bVar);
  const aTime = select([], "");
  const bTime = select([], "");
  const minInput = el("input", { type: "number", step: "any", value: range[0] });
  const maxInput = el("input", { type: "number", step: "any", value: range[1] });
  const halfInput = el("input", { type: "number", step: "any", min: 0, value: half });
  const sideRadio = el("input", { type: "radio", name: "mode", value: "side", id: "mode-side", checked: mode === "side" });
  const diffRadio = el("input", { type: "radio", name: "mode", value: "diff", id: "mode-diff", checked: mode === "diff" });
  const note = el("p", { class: "muted", role: "status", "aria-live": "polite" });
  const fill = (node, options, value) => {
    clear(node);
    for (const o of options) node.add(new Option(o.label, o.value, false, o.value === value));
  };
  const syncOptions = () => {
    fill(bSelect, sameEcv(aId).map((d) => ({ value: d.id, label: d.title || d.id })), bId);
    fill(aVarSelect, dataVariables(byId.get(aId)).map((v) => ({ value: v, label: v })), aVar);
    fill(bVarSelect, dataVariables(byId.get(bId)).map((v) => ({ value: v, label: v })), bVar);
    fill(aTime, timesA.map((t, i) => ({ value: String(i), label: dateLabel(t) })), String(ia));
    fill(bTime, timesB.map((t, i) => ({ value: String(i), label: dateLabel(t) })), String(ib));
    aTime.disabled = !timesA.length;
    bTime.disabled = !timesB.length;
  };
  syncOptions();

  const mapA = el("div", { class: "map compare-map", id: "compare-map-a" });
  const mapB = el("div", { class: "map compare-map", id: "compare-map-b" });
  const mapD = el("div", { class: "map compare-map", id: "compare-map-diff" });
  const capA = el("figcaption", {});
  const capB = el("figcaption", {});
  const capD = el("figcaption", {});
  const legShared = legend();
  const legDiff = legend();
  const sidePanel = el("div", { class: "compare-side" }, el("figure", {}, capA, mapA), el("figure", {}, capB, mapB));
  const diffPanel = el("div", { class: "compare-diff" }, el("figure", {}, capD, mapD));

  main.append(el("section", { class: "compare" },
    el("h1", {}, t("compare.title")),
    el("p", { class: "intro" }, t("compare.intro")),
    el("form", { class: "panel compare-form", onsubmit: (e) => e.preventDefault(), "aria-label": t("compare.settings") },
      el("fieldset", {}, el("legend", {}, "A"), field(t("compare.collection", { which: "A" }), aSelect).wrap, field(t("compare.variable", { which: "A" }), aVarSelect).wrap, field(t("compare.time", { which: "A" }), aTime).wrap),
      el("fieldset", {}, el("legend", {}, t("compare.sameEcv")), field(t("compare.collection", { which: "B" }), bSelect).wrap, field(t("compare.variable", { which: "B" }), bVarSelect).wrap, field(t("compare.time", { which: "B" }), bTime).wrap),
      el("fieldset", {}, el("legend", {}, t("compare.view")),
        el("div", { class: "check" }, sideRadio, el("label", { for: "mode-side" }, t("compare.side"))),
        el("div", { class: "check" }, diffRadio, el("label", { for: "mode-diff" }, t("compare.difference"))),
        el("div", { class: "row two" }, field(t("compare.sharedMin"), minInput).wrap, field(t("compare.sharedMax"), maxInput).wrap),
        field(t("compare.diffRange"), halfInput).wrap)),
    note,
    el("div", { class: "compare-legends" }, legShared.node, legDiff.node),
    sidePanel, diffPanel));

  const maps = {
    a: createMap(mapA, { label: t("compare.mapOf", { which: "A" }) }),
    b: createMap(mapB, { label: t("compare.mapOf", { which: "B" }) }),
    d: createMap(mapD, { label: t("compare.diffMap") }),
  };
  /** Show where A and B overlap (a long thin band: a piece about four times as wide as tall). */
  const overlapView = () => {
    const [aw, as, ae, an] = bbox(byId.get(aId));
    const [bw, bs, be, bn] = bbox(byId.get(bId));
    const w = Math.max(aw, bw);
    const e = Math.min(ae, be);
    const s = Math.max(as, bs, -80);
    const n = Math.min(an, bn, 80);
    if (!(w < e && s < n)) return L.latLngBounds([[-60, -180], [75, 180]]);
    const half = Math.min(e - w, 4 * (n - s)) / 2;
    const mid = (w + e) / 2;
    return L.latLngBounds([[s, mid - half], [n, mid + half]]);
  };
  const showOverlap = () => {
    const visible = mode === "side" ? maps.a : maps.d;
    visible.invalidateSize();
    visible.fitBounds(overlapView(), { animate: false });
  };
  syncMaps(maps.a, maps.b);
  const layers = {};
  const setLayer = (key, template) => {
    if (layers[key]) layers[key].setUrl(template);
    else layers[key] = L.tileLayer(template, { noWrap: true, bounds: WORLD, maxNativeZoom: 4, maxZoom: 10, className: "data-layer" }).addTo(maps[key]);
  };

  async function refresh() {
    const units = variableInfo(byId.get(aId), aVar).unit || "";
    const unitsB = variableInfo(byId.get(bId), bVar).unit || "";
    const rescale = `${range[0]},${range[1]}`;
    const ta = timesA.length ? timesA[ia] : "";
    const tb = timesB.length ? timesB[ib] : "";
    updateQuery({ a: `${aId}:${aVar}`, b: `${bId}:${bVar}`, ta, tb, mode, min: range[0], max: range[1], d: half });
    sidePanel.hidden = mode !== "side";
    diffPanel.hidden = mode !== "diff";
    legShared.node.hidden = mode !== "side";
    legDiff.node.hidden = mode !== "diff";
    const cmap = tjA["sco:colormap"];
    capA.textContent = `A: ${byId.get(aId).title} — ${aVar}${ta ? `, ${dateLabel(ta)}` : ""}`;
    capB.textContent = `B: ${byId.get(bId).title} — ${bVar}${tb ? `, ${dateLabel(tb)}` : ""}`;
    capD.textContent = t("compare.diffCaption", { a: `${aId} ${dateLabel(ta)}`, b: `${bId} ${dateLabel(tb)}` });
    note.textContent = units !== unitsB
      ? t("compare.unitsDiffer", { a: unitsLabel(units), b: unitsLabel(unitsB) })
      : t("compare.bothIn", { ecv: ecvLabel(byId.get(aId)["sco:ecv"], byId.get(aId)), units: unitsLabel(units) });
    if (mode === "side") {
      setLayer("a", url(`${tiles(aId, aVar)}/{z}/{x}/{y}.png`, { datetime: ta, colormap: cmap, rescale }));
      setLayer("b", url(`${tiles(bId, bVar)}/{z}/{x}/{y}.png`, { datetime: tb, colormap: cmap, rescale }));
      mapA.dataset.rescale = mapB.dataset.rescale = rescale;
      const doc = await getJSON(`${tiles(aId, aVar)}/legend.json`, { colormap: cmap, rescale });
      legShared.update(doc, t("compare.sharedLegend", { units: unitsLabel(units) }));
      for (const m of [maps.a, maps.b]) m.invalidateSize();
    } else if (units === unitsB) {
      const drange = `${-half},${half}`;
      setLayer("d", url(`${diffPath}/{z}/{x}/{y}.png`, { a: `${aId}:${aVar}`, b: `${bId}:${bVar}`, datetime_a: ta, datetime_b: tb, rescale: drange, colormap: "RdBu_r" }));
      mapD.dataset.rescale = drange;
      const doc = await getJSON(`${tiles(aId, aVar)}/legend.json`, { colormap: "RdBu_r", rescale: drange });
      legDiff.update(doc, t("compare.diffLegend", { units: unitsLabel(units) }));
      maps.d.invalidateSize();
    }
  }

  async function reloadTimes() {
    [tjA, tjB] = await Promise.all([getJSON(`${tiles(aId, aVar)}/tilejson.json`), getJSON(`${tiles(bId, bVar)}/tilejson.json`)]);
    timesA = tjA["sco:times"] || [];
    timesB = tjB["sco:times"] || [];
    [ia, ib] = overlap(timesA, timesB);
    range = [tjA["sco:range"][0], tjA["sco:range"][1]];
    half = Number(((range[1] - range[0]) / 16).toPrecision(1));
    minInput.value = String(range[0]);
    maxInput.value = String(range[1]);
    halfInput.value = String(half);
    syncOptions();
    await refresh();
    showOverlap();
  }
  aSelect.addEventListener("change", () => {
    aId = aSelect.value;
    aVar = pickVar(aId, "");
    if (byId.get(bId)["sco:ecv"] !== byId.get(aId)["sco:ecv"]) {
      const partners = sameEcv(aId).filter((d) => d.id !== aId);
      bId = (partners[0] || byId.get(aId)).id;
      bVar = pickVar(bId, "");
    }
    reloadTimes();
  });
  bSelect.addEventListener("change", () => {
    bId = bSelect.value;
    bVar = pickVar(bId, "");
    reloadTimes();
  });
  aVarSelect.addEventListener("change", () => { aVar = aVarSelect.value; reloadTimes(); });
  bVarSelect.addEventListener("change", () => { bVar = bVarSelect.value; reloadTimes(); });
  aTime.addEventListener("change", () => { ia = Number(aTime.value); refresh(); });
  bTime.addEventListener("change", () => { ib = Number(bTime.value); refresh(); });
  for (const r of [sideRadio, diffRadio]) {
    r.addEventListener("change", () => {
      const from = mode === "side" ? maps.a : maps.d;
      const view = [from.getCenter(), from.getZoom()];
      mode = r.value;
      refresh().then(() => {
        const to = mode === "side" ? maps.a : maps.d;
        to.invalidateSize();
        to.setView(view[0], view[1], { animate: false });
      });
    });
  }
  const applyRange = () => {
    const lo = Number(minInput.value);
    const hi = Number(maxInput.value);
    if (lo < hi) range = [lo, hi];
    if (Number(halfInput.value) > 0) half = Number(halfInput.value);
    refresh();
  };
  for (const i of [minInput, maxInput, halfInput]) i.addEventListener("change", applyRange);
  await refresh();
  showOverlap();
  note.dataset.ready = "true";
  return { destroy: () => Object.values(maps).forEach((m) => m.remove()) };
}

