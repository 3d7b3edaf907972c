// The map viewer: a collection's variable as a tile layer over the basemap, with a time
// slider, colour controls, a legend, the value under the cursor, and point / area series.

import { el, field, select, statusLine, fmt, dateLabel, clear } from "./dom.js";
import { allCollections, collection, getCached, getJSON, url } from "./api.js";
import { dataVariables, displayOf, isGridded, unitsLabel, variableInfo, variableLabel, variableStyle, viewRoute } from "./collections.js";
import { createMap, boxTool, legend } from "./mapkit.js";
import { chartPanel, slug } from "./charts.js";
import { areaSeries, canAreaMean, listRegions, lonLatLabel, pointSeries, wrapLon } from "./analysis.js";
import { polarMap, polarRegion } from "./polar.js";
import { updateQuery } from "./app.js";
import { analysisPanel, derivedNote, seriesAnomalySwitch } from "./mapanalysis.js";
import { errorText, formatInteger, formatPlain, t } from "./i18n.js";

const L = window.L;
const FAVOURITE_COLORMAPS = ["viridis", "cividis", "plasma", "magma", "inferno", "RdYlBu_r", "RdBu_r", "coolwarm", "Blues", "Blues_r", "YlGnBu", "terrain", "tab20", "Greys"];

/** #/map: choose a gridded collection. */
export async function mountViewerChooser(main) {
  document.title = t("viewer.docTitle");
  const docs = (await allCollections()).filter(isGridded);
  main.append(el("section", { class: "panel" },
    el("h1", {}, t("viewer.chooserTitle")),
    el("p", {}, t("viewer.chooserIntro")),
    el("ul", { class: "link-list" }, docs.map((d) =>
      el("li", {}, el("a", { href: viewRoute(d) }, d.title || d.id), " ", el("span", { class: "muted" }, d.id))))));
  return {};
}

/** A debounced function. */
function debounce(fn, ms) {
  let timer = null;
  const wrapped = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  wrapped.cancel = () => clearTimeout(timer);
  return wrapped;
}

/** #/map/{cid}?var=&t=&cmap=&min=&max= */
export async function mountViewer(main, { args, params }) {
  const cid = args[0];
  const doc = await collection(cid);
  if (!isGridded(doc)) {
    window.location.replace(viewRoute(doc));
    return {};
  }
  document.title = t("viewer.docTitleOf", { title: doc.title || cid });
  const variables = dataVariables(doc);
  let variable = variables.includes(params.get("var")) ? params.get("var") : variables[0];
  const gridded = (await allCollections()).filter(isGridded);
  if (!gridded.some((d) => d.id === cid)) gridded.push(doc); // e.g. just derived by a job
  const [colormaps, regions, areaAvailable] = await Promise.all([
    getCached("/tiles/colormaps").then((d) => d.colormaps).catch(() => FAVOURITE_COLORMAPS),
    listRegions(),
    canAreaMean(),
  ]);
  const tileBase = () => `/tiles/${encodeURIComponent(cid)}/${encodeURIComponent(variable)}`;
  let tj = await getJSON(`${tileBase()}/tilejson.json`);
  let times = tj["sco:times"] || [];

  // -- controls ---------------------------------------------------------------------------
  const collectionSelect = select(gridded.map((d) => ({ value: d.id, label: d.title || d.id })), cid);
  const variableSelect = select(variables.map((v) => ({ value: v, label: `${v} (${variableLabel(doc, v)})` })), variable);
  // profile products: a map per vertical level (pressure levels of a limb sounder)
  const vertical = Object.entries(doc["cube:dimensions"] || {}).find(([, d]) => d.type === "spatial" && d.axis === "z" && Array.isArray(d.values));
  const levels = vertical ? vertical[1].values : [];
  const levelUnit = vertical ? vertical[1].unit || "" : "";
  const levelSelect = levels.length
    ? select(levels.map((v) => ({ value: String(v), label: `${formatPlain(v, 4)} ${levelUnit}` })), String(levels.includes(Number(params.get("lvl"))) ? Number(params.get("lvl")) : levels[0]), { name: "level" })
    : null;
  const level = () => (levelSelect ? Number(levelSelect.value) : undefined);
  const slider = el("input", { type: "range", min: 0, step: 1, class: "time-slider" });
  const timeLabel = el("output", { class: "time-label", "aria-live": "polite" });
  const prev = el("button", { type: "button", "aria-label": t("viewer.previous") }, "◀");
  const next = el("button", { type: "button", "aria-label": t("viewer.next") }, "▶");
  const cmapSelect = select([...new Set([...FAVOURITE_COLORMAPS, ...colormaps])].filter((c) => colormaps.includes(c)), "");
  const minInput = el("input", { type: "number", step: "any", inputmode: "decimal" });
  const maxInput = el("input", { type: "number", step: "any", inputmode: "decimal" });
  const resetStyle = el("button", { type: "button" }, t("viewer.defaultColours"));
  const styleStatus = el("p", { class: "error", role: "alert" });
  const leg = legend();
  const cursor = statusLine("cursor-value");
  cursor.textContent = t("viewer.cursorHint");
  const regionSelect = select([{ value: "", label: regions.length ? t("viewer.chooseRegion") : t("viewer.noRegions") }], "", { disabled: !regions.length });
  for (const [kind, title] of [["ar6", t("viewer.ar6Regions")], ["country", t("viewer.countries")]]) {
    const group = el("optgroup", { label: title });
    for (const r of regions.filter((x) => x.kind === kind)) group.append(new Option(r.name, r.id));
    if (group.children.length) regionSelect.append(group);
  }
  const areaStatus = statusLine();
  const timeField = el("fieldset", { class: "time-field" },
    el("legend", {}, t("fact.time")),
    el("div", { class: "row" }, prev, slider, next),
    timeLabel);
  slider.setAttribute("aria-label", t("viewer.timeStep"));

  const mapNode = el("div", { class: "map", id: "viewer-map" });
  const chart = chartPanel({
    heading: t("chart.timeSeries"),
    filename: slug(`${cid}-${variable}`),
    onClear: () => clearMarks(),
    emptyText: t("viewer.chartEmpty"),
  });
  const heading = el("h1", {}, doc.title || cid);
  const note = await derivedNote(doc);
  const analysis = analysisPanel({
    doc,
    getVariable: () => variable,
    times,
    onResult({ cid: derived, variable: derivedVariable }) {
      const at = times.length ? times[index] : "";
      window.location.hash = `#/map/${encodeURIComponent(derived)}?var=${encodeURIComponent(derivedVariable)}${at ? `&at=${encodeURIComponent(at)}` : ""}`;
    },
  });
  const asAnomalies = times.length ? seriesAnomalySwitch(times) : null;
  const controls = el("form", { class: "controls panel", "aria-label": t("viewer.controls"), onsubmit: (e) => e.preventDefault() },
    field(t("field.collection"), collectionSelect).wrap,
    field(t("field.variable"), variableSelect).wrap,
    levelSelect ? field(t("viewer.level"), levelSelect, t("viewer.levelHint")).wrap : null,
    timeField,
    el("fieldset", {}, el("legend", {}, t("viewer.colours")),
      field(t("viewer.colourMap"), cmapSelect).wrap,
      el("div", { class: "row two" }, field(t("viewer.minimum"), minInput).wrap, field(t("viewer.maximum"), maxInput).wrap),
      el("div", { class: "buttons" }, resetStyle), styleStatus),
    leg.node,
    el("fieldset", {}, el("legend", {}, t("chart.timeSeries")),
      el("p", { class: "hint" }, t("viewer.seriesHint")),
      el("div", { class: "buttons" }, el("span", { class: "tool-slot" })),
      field(t("viewer.region"), regionSelect).wrap,
      asAnomalies ? asAnomalies.node : null,
      areaStatus),
    analysis ? analysis.node : null);
  main.append(el("section", { class: "viewer" },
    el("div", { class: "view-head" }, heading,
      el("p", { class: "links" },
        el("a", { href: `#/dataset/${encodeURIComponent(cid)}` }, t("action.details")), " · ",
        el("a", { href: `#/download/${encodeURIComponent(cid)}` }, t("action.download")), " · ",
        el("a", { href: `#/compare?a=${encodeURIComponent(`${cid}:${variable}`)}` }, t("nav.compare")))),
    note,
    el("div", { class: "viewer-layout" }, controls,
      el("div", { class: "map-column" }, el("div", { class: "map-frame" }, mapNode, cursor), chart.node))));

  // -- the map ------------------------------------------------------------------------------
  const polar = await polarMap(mapNode, doc, variable);
  const map = polar ? polar.map : createMap(mapNode, { label: t("viewer.mapOf", { title: doc.title || cid }) });
  const [w, s, e, n] = tj.bounds || [-180, -85, 180, 85];
  if (!polar) {
    const fill = Math.ceil(2 * Math.log2(Math.max(256, mapNode.clientWidth) / 256)) / 2;
    if (e - w > 300) map.setView([Math.max(-60, Math.min(60, (s + n) / 2)), 0], Math.max(1, fill));
    else map.fitBounds([[s, w], [n, e]], { padding: [10, 10] });
  }
  let layer = null;
  const marks = L.layerGroup().addTo(map);
  const toLonLat = polar ? polar.toLonLat : (ll) => [wrapLon(ll.lng), ll.lat];

  let style = { colormap: tj["sco:colormap"], min: tj["sco:range"][0], max: tj["sco:range"][1] };
  if (params.get("cmap") && colormaps.includes(params.get("cmap"))) style.colormap = params.get("cmap");
  if (params.has("min") && params.has("max") && Number(params.get("min")) < Number(params.get("max"))) {
    style.min = Number(params.get("min"));
    style.max = Number(params.get("max"));
  }
  let index = times.length ? times.length - 1 : 0;
  if (params.has("t")) index = Math.max(0, Math.min(times.length - 1, Number(params.get("t")) || 0));
  else if (params.has("at") && times.length) { // the time step nearest a date (from another layer)
    const at = Date.parse(params.get("at"));
    if (Number.isFinite(at)) {
      const gaps = times.map((t) => Math.abs(Date.parse(t) - at));
      index = gaps.indexOf(Math.min(...gaps));
    }
  }

  // the colour range is edited in the units people read (ozone in DU), sent in stored units
  const shownScale = () => displayOf(variableInfo(doc, variable)).scale;
  const shownValue = (stored) => Number((stored * shownScale()).toPrecision(7));
  const layerQuery = () => ({
    datetime: times.length ? times[index] : "",
    colormap: style.colormap,
    rescale: `${style.min},${style.max}`,
    level: levelSelect ? levelSelect.value : "",
  });
  function syncControls() {
    cmapSelect.value = style.colormap;
    minInput.value = String(shownValue(style.min));
    maxInput.value = String(shownValue(style.max));
    timeField.hidden = times.length === 0;
    slider.max = String(Math.max(0, times.length - 1));
    slider.value = String(index);
    timeLabel.textContent = times.length
      ? t("viewer.timeLabel", { time: dateLabel(times[index], true), step: index + 1, steps: times.length })
      : t("time.static");
    slider.setAttribute("aria-valuetext", times.length ? dateLabel(times[index], true) : t("dataset.staticItem"));
    prev.disabled = index <= 0;
    next.disabled = index >= times.length - 1;
  }
  async function refreshLegend() {
    const doc2 = await getJSON(`${tileBase()}/legend.json`, { colormap: style.colormap, rescale: `${style.min},${style.max}` });
    const info = variableInfo(doc, variable);
    leg.update(doc2, `${variableLabel(doc, variable)} (${unitsLabel(displayOf(info).units) || t("units.none")})`);
  }
  function refreshLayer() {
    const q = layerQuery();
    mapNode.dataset.time = q.datetime;
    mapNode.dataset.layer = `${cid}:${variable}`;
    updateQuery({ var: variable, t: times.length ? index : "", cmap: style.colormap, min: style.min, max: style.max, lvl: levelSelect ? levelSelect.value : "" });
    if (polar) {
      polar.setImage(url(`/portal/native/${encodeURIComponent(cid)}/${encodeURIComponent(variable)}.png`, q));
    } else {
      const template = url(`${tileBase()}/{z}/{x}/{y}.png`, q);
      if (layer) layer.setUrl(template);
      else {
        layer = L.tileLayer(template, {
          maxNativeZoom: Math.max(0, tj.maxzoom || 0),
          maxZoom: 12,
          noWrap: true,
          bounds: [[Math.max(-85.05, s), w], [Math.min(85.05, n), e]],
          className: "data-layer",
          attribution: "",
        }).addTo(map);
      }
    }
    syncControls();
  }
  const refreshSoon = debounce(refreshLayer, 120);

  // -- events -------------------------------------------------------------------------------
  collectionSelect.addEventListener("change", () => {
    window.location.hash = `#/map/${encodeURIComponent(collectionSelect.value)}`;
  });
  variableSelect.addEventListener("change", async () => {
    variable = variableSelect.value;
    tj = await getJSON(`${tileBase()}/tilejson.json`);
    times = tj["sco:times"] || [];
    index = Math.min(index, Math.max(0, times.length - 1));
    style = { colormap: tj["sco:colormap"], min: tj["sco:range"][0], max: tj["sco:range"][1] };
    chart.show([], { units: "" });
    refreshLayer();
    refreshLegend();
  });
  if (levelSelect) levelSelect.addEventListener("change", () => refreshLayer());
  slider.addEventListener("input", () => {
    index = Number(slider.value);
    syncControls();
    refreshSoon();
  });
  prev.addEventListener("click", () => {
    index = Math.max(0, index - 1);
    refreshLayer();
  });
  next.addEventListener("click", () => {
    index = Math.min(times.length - 1, index + 1);
    refreshLayer();
  });
  const applyStyle = () => {
    const low = Number(minInput.value);
    const high = Number(maxInput.value);
    if (!(minInput.value !== "" && maxInput.value !== "" && low < high)) {
      styleStatus.textContent = t("viewer.minBelowMax");
      return;
    }
    styleStatus.textContent = "";
    style = { colormap: cmapSelect.value, min: low / shownScale(), max: high / shownScale() };
    refreshLayer();
    refreshLegend();
  };
  cmapSelect.addEventListener("change", applyStyle);
  minInput.addEventListener("change", applyStyle);
  maxInput.addEventListener("change", applyStyle);
  resetStyle.addEventListener("click", () => {
    style = { colormap: tj["sco:colormap"], min: tj["sco:range"][0], max: tj["sco:range"][1] };
    styleStatus.textContent = "";
    refreshLayer();
    refreshLegend();
  });

  let hoverController = null;
  const readValue = debounce(async (latlng) => {
    const [lon, lat] = toLonLat(latlng);
    if (!Number.isFinite(lon) || !Number.isFinite(lat) || Math.abs(lat) > 90) return;
    if (hoverController) hoverController.abort();
    hoverController = new AbortController();
    try {
      const found = await pointSeries(cid, variable, lon, lat, { datetime: times.length ? times[index] : undefined, z: level(), signal: hoverController.signal });
      const value = found.values.length ? found.values[found.values.length - 1] : null;
      Object.assign(cursor.dataset, { lon: found.lon, lat: found.lat, value: value === null ? "" : value, time: found.times.length ? found.times[found.times.length - 1] : "" });
      const info = variableInfo(doc, variable);
      const shown = found.units === info.unit ? displayOf(info) : { units: found.units, scale: 1 };
      cursor.textContent = `${lonLatLabel(lon, lat)}: ${value === null ? t("value.noData") : `${fmt(value * shown.scale)} ${unitsLabel(shown.units)}`}`;
    } catch (err) {
      if (err.name !== "AbortError") cursor.textContent = `${lonLatLabel(lon, lat)}: ${err.status === 400 ? t("viewer.outside") : errorText(err)}`;
    }
  }, 150);
  map.on("mousemove", (ev) => readValue(ev.latlng));

  let lastArea = null; // the last box or region averaged: {what, label}
  function clearMarks() {
    lastArea = null;
    marks.clearLayers();
    if (tool) tool.setBox(null);
  }
  /** A series as read, or as anomalies against the chosen baseline (computed here). */
  function seriesShown(series) {
    const name = variableLabel(doc, variable);
    if (!asAnomalies || !asAnomalies.enabled()) {
      return { series, title: `${name}, ${doc.title || cid}`, suffix: "" };
    }
    const anomaly = asAnomalies.apply(series);
    const against = t("viewer.anomalyAgainst", { period: anomaly.period.label });
    const climatology = t(anomaly.kind === "dayofyear" ? "climatology.dayofyear" : anomaly.kind === "month" ? "climatology.month" : "climatology.all");
    return {
      series: { ...series, label: `${series.label}, ${against}`, values: anomaly.values },
      title: `${name}, ${against}, ${doc.title || cid}`,
      suffix: t("viewer.asAnomalies", { period: anomaly.period.label, climatology }),
    };
  }
  if (asAnomalies) {
    asAnomalies.onChange(() => { // never mix plain series and anomalies in one chart
      chart.show([], { units: "" });
      marks.clearLayers(); // point series are gone; the last box or region is plotted again
      if (lastArea) plotArea(lastArea.what, lastArea.label);
    });
  }
  async function plotPoint(latlng) {
    const [lon, lat] = toLonLat(latlng);
    if (!Number.isFinite(lon) || !Number.isFinite(lat)) return;
    chart.setStatus(t("viewer.reading", { where: lonLatLabel(lon, lat) }));
    try {
      const found = await pointSeries(cid, variable, lon, lat, { z: level() });
      L.circleMarker(latlng, { radius: 5, color: "#111", weight: 2, fillColor: "#fff", fillOpacity: 1 }).addTo(marks);
      if (!found.times.length) {
        chart.setStatus(t("viewer.staticValue", { where: lonLatLabel(lon, lat), value: `${fmt(found.values[0])} ${unitsLabel(found.units)}` }));
        return;
      }
      const shown = seriesShown({ label: t("viewer.pointLabel", { where: lonLatLabel(found.lon, found.lat) }), times: found.times, values: found.values });
      chart.add(shown.series, { units: found.units, title: shown.title });
      chart.setStatus(t("viewer.pointAdded", { where: lonLatLabel(lon, lat), suffix: shown.suffix }));
    } catch (err) {
      chart.setStatus(err.status === 400 ? t("viewer.noDataAt", { where: lonLatLabel(lon, lat), message: errorText(err) }) : t("viewer.readFailed", { message: errorText(err) }));
    }
  }
  map.on("click", (ev) => {
    if (tool && tool.justDrew()) return;
    plotPoint(ev.latlng);
  });
  map.getContainer().addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && ev.target === map.getContainer()) plotPoint(map.getCenter());
  });

  async function plotArea(what, label) {
    if (!areaAvailable) {
      areaStatus.textContent = t("viewer.noProcesses");
      return;
    }
    lastArea = { what, label };
    areaStatus.textContent = t("viewer.computingMean", { where: label });
    try {
      const found = await areaSeries(cid, variable, { ...what, z: level() });
      const shown = seriesShown({ label: t("viewer.meanLabel", { where: label }), times: found.times, values: found.values });
      chart.add(shown.series, { units: found.units, title: shown.title });
      areaStatus.textContent = t("viewer.meanAdded", { where: label, cells: found.cells === undefined || found.cells === null ? "?" : formatInteger(found.cells), suffix: shown.suffix });
    } catch (err) {
      areaStatus.textContent = t("viewer.meanFailed", { message: errorText(err) });
    }
  }
  const tool = boxTool(map, {
    label: t("viewer.drawBox"),
    toBox: polar ? polar.toBbox : undefined,
    onBox(box) {
      if (polar) {
        const geometry = polar.boxGeometry(box);
        if (geometry) plotArea({ geometry }, t("viewer.theDrawnBox"));
        else areaStatus.textContent = t("viewer.poleBox");
      }
      else plotArea({ bbox: box }, t("viewer.boxLabel", { box: box.map((v) => formatPlain(v, 7)).join(t("list.numbers")) }));
    },
  });
  controls.querySelector(".tool-slot").replaceWith(tool.button);
  let regionLayer = null;
  regionSelect.addEventListener("change", async () => {
    if (regionLayer) regionLayer.remove();
    regionLayer = null;
    const id = regionSelect.value;
    if (!id) return;
    const region = regions.find((r) => r.id === id);
    try {
      const feature = await getJSON(`/regions/${encodeURIComponent(id)}`);
      if (polar) {
        const shape = polarRegion(feature);
        regionLayer = L.layerGroup([
          L.geoJSON(shape.fill, { style: { stroke: false, fillColor: "#d1495b", fillOpacity: 0.08 }, interactive: false, coordsToLatLng: polar.coordsToLatLng }),
          L.geoJSON(shape.outline, { style: { color: "#d1495b", weight: 2 }, interactive: false, coordsToLatLng: polar.coordsToLatLng }),
        ]).addTo(map);
      } else {
        regionLayer = L.geoJSON(feature, { style: { color: "#d1495b", weight: 2, fillOpacity: 0.06 }, interactive: false }).addTo(map);
      }
    } catch {
      regionLayer = null;
    }
    plotArea({ region: id }, region ? region.name : id);
  });

  syncControls();
  refreshLayer();
  await refreshLegend();
  return {
    destroy() {
      readValue.cancel();
      refreshSoon.cancel();
      if (hoverController) hoverController.abort();
      tool.destroy();
      chart.destroy();
      if (analysis) analysis.destroy();
      map.remove();
    },
  };
}
